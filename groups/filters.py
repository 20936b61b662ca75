"""The group lists' filters, shared by the API and the pages (unknown parameters are refused)."""

import django_filters
from django import forms

from groups.models import Enrollment, Group, GroupSession, ProgramSession
from scheduling.filters import API_LIST_PARAMETERS, _clinicians
from scheduling.models import ServiceType
from spectrum.filters import FilterSet
from spectrum.validation import page_date


class GroupFilter(FilterSet):
    other_parameters = API_LIST_PARAMETERS

    class Meta:
        model = Group
        fields = ["service_type", "program_session", "clinician", "is_active"]


class EnrollmentFilter(FilterSet):
    other_parameters = API_LIST_PARAMETERS

    class Meta:
        model = Enrollment
        fields = ["group", "patient"]


class GroupSessionFilter(FilterSet):
    date_from = django_filters.DateFilter(field_name="date", lookup_expr="gte", validators=[page_date])
    date_to = django_filters.DateFilter(field_name="date", lookup_expr="lte", validators=[page_date])
    group = django_filters.ModelChoiceFilter(queryset=Group.objects.all())
    service_type = django_filters.ModelChoiceFilter(queryset=ServiceType.objects.filter(is_group=True))
    program_session = django_filters.ChoiceFilter(choices=ProgramSession.choices)
    clinician = django_filters.ModelChoiceFilter(queryset=_clinicians)
    status = django_filters.ChoiceFilter(choices=GroupSession.Status.choices)

    other_parameters = API_LIST_PARAMETERS

    class Meta:
        model = GroupSession
        fields: list[str] = []


class AttendanceSheetForm(forms.Form):
    """Which sheet: a program session (AM/PM), an ISO week (``2026-W49``, default this week), a group."""

    program_session = forms.ChoiceField(choices=ProgramSession.choices)
    week = forms.RegexField(
        regex=r"^\d{4}-W\d{2}$", required=False, error_messages={"invalid": "Use a week like 2026-W49."}
    )
    group = forms.ModelChoiceField(queryset=Group.objects.all(), required=False)
    format = forms.ChoiceField(choices=[("csv", "CSV"), ("xlsx", "XLSX")], required=False)

    def clean_week(self):
        from groups.selectors import parse_iso_week

        value = self.cleaned_data.get("week")
        if not value:
            return None
        monday = parse_iso_week(value)
        if monday is None:
            raise forms.ValidationError("Use a week like 2026-W49.")
        page_date(monday)
        return monday
