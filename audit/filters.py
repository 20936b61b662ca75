"""The audit log's filters: one FilterSet for the page (its form), the CSV export and the API."""

import datetime
import re
from typing import Any

import django_filters
from auditlog.registry import auditlog
from django import forms
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db.models import QuerySet
from django.utils import timezone

from audit import selectors
from audit.models import AuditEvent
from spectrum.filters import FilterForm, FilterSet
from spectrum.validation import MAX_ID, page_date

ACTION_CHOICES = [("create", "Create"), ("update", "Update"), ("delete", "Delete"), ("access", "Access")]
_ACTIONS = {"create": AuditEvent.Action.CREATE, "update": AuditEvent.Action.UPDATE,
            "delete": AuditEvent.Action.DELETE, "access": AuditEvent.Action.ACCESS}  # fmt: skip
_PATIENT_NUMBER = re.compile(r"^[A-Za-z]+\d+$")


def object_type_choices() -> list[tuple[str, str]]:
    """The kinds of records entries can be about: every audited model, users and the trail itself."""
    models = {*auditlog.get_models(), get_user_model(), AuditEvent}
    return sorted(
        (f"{model._meta.app_label}.{model._meta.model_name}", str(model._meta.verbose_name).capitalize())
        for model in models
    )


def day_start(day: datetime.date) -> datetime.datetime:
    """Midnight at the start of ``day`` in the clinic's time zone, as an aware datetime."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


class AuditFilterForm(FilterForm):
    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "The end date is before the start date.")
        return data


class AuditEventFilter(FilterSet):
    user = django_filters.ModelChoiceFilter(
        field_name="actor", queryset=get_user_model().objects.order_by("email"), label="User"
    )
    patient = django_filters.CharFilter(method="filter_patient", label="Patient (id or number)", max_length=30)
    event = django_filters.CharFilter(method="filter_event", label="Event", max_length=200)
    action = django_filters.ChoiceFilter(choices=ACTION_CHOICES, method="filter_action")
    object_type = django_filters.ChoiceFilter(
        choices=object_type_choices, method="filter_object_type", label="Record type"
    )
    date_from = django_filters.DateFilter(method="filter_date_from", label="From", validators=[page_date])
    date_to = django_filters.DateFilter(method="filter_date_to", label="To", validators=[page_date])

    class Meta:
        model = AuditEvent
        fields: list[str] = []
        form = AuditFilterForm

    def filter_patient(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        try:
            patient_id = forms.IntegerField(min_value=1, max_value=MAX_ID).clean(value)
        except forms.ValidationError:
            pass  # not an id: a patient number?
        else:
            return queryset.filter(selectors.about_patient(patient_id))
        if _PATIENT_NUMBER.match(value):
            from patients.models import Patient

            patient_id = Patient.objects.filter(patient_number__iexact=value).values_list("pk", flat=True).first()
            if patient_id is not None:
                return queryset.filter(selectors.about_patient(patient_id))
        return queryset.none()

    def filter_event(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        """An exact event name, or the start of one: ``patients.`` selects every patient event."""
        return queryset.filter(event__startswith=value.strip())

    def filter_action(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(action=_ACTIONS[value])

    def filter_object_type(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        app_label, model = value.split(".", 1)
        return queryset.filter(content_type=ContentType.objects.get_by_natural_key(app_label, model))

    def filter_date_from(self, queryset: QuerySet, name: str, value: datetime.date) -> QuerySet:
        return queryset.filter(timestamp__gte=day_start(value))

    def filter_date_to(self, queryset: QuerySet, name: str, value: datetime.date) -> QuerySet:
        return queryset.filter(timestamp__lt=day_start(value + datetime.timedelta(days=1)))

    @property
    def form(self) -> forms.Form:
        form = super().form
        for field in form.fields.values():
            if isinstance(field.widget, forms.Select):
                field.widget.attrs.setdefault("class", "select")
            if isinstance(field, forms.DateField):
                field.widget.input_type = "date"
        form.fields["event"].widget.attrs.update(
            {"list": "known-events", "placeholder": "e.g. patients.patient.viewed"}
        )
        return form

    def criteria(self) -> dict[str, str]:
        """The filters in use, as given (for the export's own audit entry and the page's links)."""
        return {name: str(self.data.get(name)) for name in self.filters if self.data.get(name)}
