"""The authorization list's filters: one FilterSet for the page, the API and the export."""

from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet

from authorizations import selectors
from authorizations.models import Authorization
from scheduling.models import ServiceType
from spectrum.filters import FilterSet, IdFilter


class AuthorizationFilter(FilterSet):
    patient = IdFilter(field_name="patient_id", widget=forms.HiddenInput)
    status = django_filters.ChoiceFilter(choices=Authorization.Status.choices, empty_label="Any status")
    service_type = django_filters.ModelChoiceFilter(
        queryset=ServiceType.objects.order_by("code"), empty_label="Any service", distinct=True,
        field_name="service_types",
    )  # fmt: skip
    payer = django_filters.CharFilter(lookup_expr="icontains", max_length=100)
    expiring_within_days = django_filters.NumberFilter(
        method="filter_expiring", label="Expiring within (days)", min_value=0, max_value=365
    )

    other_parameters = frozenset({"ordering"})

    class Meta:
        model = Authorization
        fields: list[str] = []

    def filter_expiring(self, queryset: QuerySet, name: str, value: Any) -> QuerySet:
        return selectors.expiring_within(queryset, int(value))
