"""spectrum.filters: every list's filter set keeps its instances apart and refuses parameters it does not know."""

import django_filters
import pytest
from django.http import QueryDict

from patients.models import Patient
from spectrum.filters import FilterSet
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


class NameFilter(FilterSet):
    name = django_filters.CharFilter(method="filter_name")
    gender = django_filters.ChoiceFilter(choices=Patient.Gender.choices)

    class Meta:
        model = Patient
        fields: list[str] = []

    def filter_name(self, queryset, name, value):
        self.used_by = value  # the filter set this method ran on
        return queryset.filter(last_name__iexact=value)


def test_each_instance_has_its_own_filters_and_methods_find_their_own_filter_set():
    PatientFactory(last_name="Ruiz")
    PatientFactory(last_name="Diaz")
    first, second = NameFilter(QueryDict("name=ruiz")), NameFilter(QueryDict("name=diaz"))

    assert first.filters["name"] is not second.filters["name"] is not NameFilter.base_filters["name"]
    assert [p.last_name for p in first.qs] == ["Ruiz"] and [p.last_name for p in second.qs] == ["Diaz"]
    assert (first.used_by, second.used_by) == ("ruiz", "diaz")
    assert not hasattr(NameFilter.base_filters["name"], "parent")


def test_an_unknown_parameter_is_refused_with_the_names_the_list_knows():
    PatientFactory(last_name="Ruiz")
    typo = NameFilter(QueryDict("nmae=ruiz"))

    assert not typo.is_valid()
    message = typo.errors["__all__"][0]
    assert "Unknown filter nmae" in message and "gender" in message and "name" in message


def test_paging_and_declared_other_parameters_are_not_unknown():
    class SortedNameFilter(NameFilter):
        other_parameters = frozenset({"sort"})

    assert SortedNameFilter(QueryDict("name=ruiz&sort=last_name&page=2&page_size=50")).is_valid()
    assert not NameFilter(QueryDict("name=ruiz&sort=last_name")).is_valid()
