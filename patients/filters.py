"""The patient list's search and filters: one FilterSet for the page, the API, the picker and exports.

It filters ``PatientListEntry`` rows; ``patients.selectors.patient_list`` is how every reader applies it.
"""

from collections.abc import Callable
from typing import Any

import django_filters
from django import forms
from django.core.exceptions import ValidationError

from accounts import permissions
from patients import selectors
from patients.models import Patient, PatientListEntry
from patients.validation import STATE_CHOICES
from spectrum.filters import FilterForm, FilterSet

ACTIVE_CHOICES = [("true", "Active"), ("false", "Inactive"), ("all", "All")]


def _active_only(value: str) -> None:
    if value not in (None, "", "true"):
        raise ValidationError("Only administrators can list inactive patients.")


def _refuse(message: str):
    def validator(value: Any) -> None:
        if value not in (None, ""):
            raise ValidationError(message)

    return validator


class PatientFilter(FilterSet):
    search = django_filters.CharFilter(method="filter_search", label="Search")
    gender = django_filters.ChoiceFilter(choices=Patient.Gender.choices)
    min_age = django_filters.NumberFilter(method="filter_age", label="Age from", min_value=0, max_value=150)
    max_age = django_filters.NumberFilter(method="filter_age", label="Age to", min_value=0, max_value=150)
    insurance_type = django_filters.ChoiceFilter(choices=Patient.InsuranceType.choices, label="Insurance")
    blood_type = django_filters.ChoiceFilter(choices=Patient.BloodType.choices)
    city = django_filters.CharFilter(field_name="city", lookup_expr="iexact")
    state = django_filters.ChoiceFilter(choices=STATE_CHOICES, method="filter_state")
    marital_status = django_filters.ChoiceFilter(choices=Patient.MaritalStatus.choices)
    session = django_filters.ChoiceFilter(choices=Patient.Session.choices, label="Program session")
    is_active = django_filters.ChoiceFilter(choices=ACTIVE_CHOICES, method="filter_active", label="Status")

    # The page sorts with ``sort``, the API with ``ordering``.
    other_parameters = frozenset({"sort", "ordering"})

    class Meta:
        model = PatientListEntry
        fields: list[str] = []
        form = FilterForm

    def __init__(self, data=None, queryset=None, *, request=None, user=None, prefix=None) -> None:
        if data is not None:
            data = data.copy()
            if hasattr(data, "get") and "state" in data and data.get("state"):
                data["state"] = data["state"].upper()
        if queryset is None:
            queryset = PatientListEntry.objects.none()
        super().__init__(data, queryset, request=request, prefix=prefix)
        user = user if user is not None else request.user
        self.can_see_clinical = permissions.can_view_clinical_text(user)
        self.can_see_inactive = permissions.can_view_inactive_patients(user)

    def filter_queryset(self, queryset):
        # Everyday lists show active patients; administrators ask for inactive or all explicitly.
        if not self.form.cleaned_data.get("is_active"):
            queryset = queryset.filter(is_active=True)
        return super().filter_queryset(queryset)

    def filter_search(self, queryset, name, value):
        return selectors.search(queryset, value)

    def filter_age(self, queryset, name, value):
        bounds = selectors.birth_date_bounds(**{name: int(value)})
        return queryset.filter(**bounds)

    def filter_state(self, queryset, name, value):
        return queryset.filter(state=value.upper())

    def filter_active(self, queryset, name, value):
        if value == "all":
            return queryset
        return queryset.filter(is_active=(value == "true"))

    def refused_filters(self) -> dict[str, Callable[[Any], None]]:
        """The filters this user's role may not use, each with the validator that refuses it."""
        refused: dict[str, Callable[[Any], None]] = {}
        if not self.can_see_clinical:
            refused["blood_type"] = _refuse("Your role may not filter by clinical fields.")
        if not self.can_see_inactive:
            refused["is_active"] = _active_only
        return refused

    def panel_fields(self) -> list[forms.BoundField]:
        """The filter panel's fields: those the role may use (the search box has its own place)."""
        hidden = {"search", *self.refused_filters()}
        return [field for field in self.form if field.name not in hidden]

    def get_form_class(self) -> type[forms.Form]:
        form_class = super().get_form_class()
        fields = form_class.base_fields
        # A filter a role may not use is refused with a message, not silently ignored (which would show
        # an unfiltered list as if it were the answer). The page does not offer it (panel_fields).
        for name, refuse in self.refused_filters().items():
            fields[name].validators.append(refuse)
        for field in fields.values():
            if isinstance(field.widget, forms.Select):
                field.widget.attrs["class"] = "select"
        return form_class
