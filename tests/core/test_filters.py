"""spectrum.filters: filter sets whose instances share what never changes and keep apart what does."""

import django_filters
import pytest
from django.http import QueryDict

from patients.models import Patient
from spectrum.filters import FilterSet
from spectrum.widgets import FastSelect
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


def test_forms_share_their_fields_but_not_their_data_or_errors():
    valid, invalid = NameFilter(QueryDict("gender=female")), NameFilter(QueryDict("gender=dragon"))

    assert valid.get_form_class() is invalid.get_form_class()
    assert valid.form.fields["gender"] is invalid.form.fields["gender"]
    assert valid.is_valid() and not invalid.is_valid()
    assert "gender" in invalid.form.errors and not valid.form.errors
    assert valid.form.cleaned_data["gender"] == "female"


def test_a_fast_select_renders_its_choices_again_when_they_change():
    select = FastSelect(choices=[("a", "Alpha")])
    assert '<option value="a" selected>Alpha</option>' in select.render("x", "a")

    select.choices = [("b", "Beta")]

    assert "Alpha" not in select.render("x", "b") and '<option value="b" selected>Beta</option>' in select.render("x", "b")


class StrictNameFilter(NameFilter):
    """Refuses the gender filter when built strict: its form classes change a field differently."""

    def __init__(self, data=None, *, strict: bool) -> None:
        self.strict = strict
        super().__init__(data)

    def form_key(self) -> bool:
        return self.strict

    def build_form_class(self):
        form_class = super().build_form_class()
        if self.strict:
            form_class.base_fields["gender"].validators.append(_refuse)
        return form_class


def _refuse(value):
    from django.core.exceptions import ValidationError

    if value:
        raise ValidationError("Not for you.")


def test_form_classes_built_for_different_keys_do_not_share_fields():
    assert StrictNameFilter.base_filters["gender"].field  # as schema generation does: cached on the original

    strict = StrictNameFilter(QueryDict("gender=female"), strict=True)
    lenient = StrictNameFilter(QueryDict("gender=female"), strict=False)

    assert strict.get_form_class() is not lenient.get_form_class()
    assert not strict.is_valid() and strict.form.errors["gender"] == ["Not for you."]
    assert lenient.is_valid()
