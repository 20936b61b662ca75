"""The scheduling lists' filters: one FilterSet per list, shared by its page, its API and its export.

The calendar's clinician and service type filters mean the same on the month, week and day pages and in
the calendar API: an unknown or malformed value is an error (a message and 400 on the pages, a 400 in the
API), never silently ignored (which showed everyone's appointments as if they were the filtered answer).
"""

import datetime
from typing import Any

import django_filters
from django import forms
from django.http import QueryDict

from scheduling.models import Appointment, AppointmentSeries, ServiceType
from scheduling.selectors import clinicians
from spectrum.filters import FilterSet
from spectrum.validation import page_date

# DRF's OrderingFilter reads ``ordering`` beside every API list's filters.
API_LIST_PARAMETERS = frozenset({"ordering"})


def _clinicians(request: Any) -> Any:
    return clinicians()


class CalendarFilter(FilterSet):
    """The calendar's filters (month, week and day pages, calendar API); the period is ``CalendarPeriodForm``'s."""

    clinician = django_filters.ModelChoiceFilter(queryset=_clinicians)
    service_type = django_filters.ModelChoiceFilter(queryset=ServiceType.objects.order_by("code"))

    other_parameters = frozenset({"month", "date"})

    class Meta:
        model = Appointment
        fields: list[str] = []


class CalendarPeriodForm(forms.Form):
    """Which month (``YYYY-MM``) or day a calendar page shows, within the dates a page may be asked for."""

    month = forms.DateField(required=False, input_formats=["%Y-%m"], validators=[page_date])
    date = forms.DateField(required=False, validators=[page_date])

    def period(self, name: str) -> datetime.date | None:
        return self.cleaned_data.get(name) if self.is_valid() else None


def calendar_period(data: QueryDict) -> CalendarPeriodForm:
    return CalendarPeriodForm({name: data[name] for name in ("month", "date") if name in data})


class AppointmentFilter(FilterSet):
    """Appointments in the API and the export."""

    date_from = django_filters.DateFilter(field_name="date", lookup_expr="gte", validators=[page_date])
    date_to = django_filters.DateFilter(field_name="date", lookup_expr="lte", validators=[page_date])

    # DRF filters a detail route's queryset too: an edit of a series occurrence says its ``scope``.
    other_parameters = API_LIST_PARAMETERS | {"scope"}

    class Meta:
        model = Appointment
        fields = ["patient", "clinician", "service_type", "status", "series"]


class SeriesFilter(FilterSet):
    other_parameters = API_LIST_PARAMETERS

    class Meta:
        model = AppointmentSeries
        fields = ["patient", "clinician", "service_type"]


class ServiceTypeFilter(FilterSet):
    other_parameters = API_LIST_PARAMETERS

    class Meta:
        model = ServiceType
        fields = ["is_active"]


class PatientPickerForm(forms.Form):
    """The booking dialog's patient search term (a form field refuses NUL bytes and overlong text)."""

    q = forms.CharField(required=False, max_length=100, strip=True)
