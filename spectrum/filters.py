"""The base of every list's FilterSet: a query parameter the list does not know is an error.

A typo in a filter's name (``cty=Miami``) used to be ignored, and the list (or an export) answered with every
record as if it were the filtered answer. Here it is refused with a message naming the filters the list knows:
a form error on pages, a 400 in the API, a command error in exports.
"""

from typing import Any

import django_filters
from django import forms
from django.core.exceptions import ValidationError

from spectrum.validation import MAX_ID

# Parameters every list reads besides its filters: paging, sorting, DRF's format switch.
LIST_PARAMETERS = frozenset({"page", "page_size", "format"})


class FilterForm(forms.Form):
    """A filter set's form: refuses parameters that are neither a filter nor one the list reads itself."""

    other_parameters: frozenset[str] = LIST_PARAMETERS

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        unknown = sorted(name for name in self.data if name not in self.fields and name not in self.other_parameters)
        if unknown:
            known = ", ".join(sorted({*self.fields, *self.other_parameters}))
            raise ValidationError(
                "Unknown filter %(unknown)s. This list knows: %(known)s.",
                code="unknown_filter",
                params={"unknown": ", ".join(unknown), "known": known},
            )
        return cleaned


class FilterSet(django_filters.FilterSet):
    """django-filter's FilterSet whose form refuses unknown parameters.

    ``other_parameters`` names what the list's view reads itself (sorting, say) on top of paging.
    """

    other_parameters: frozenset[str] = frozenset()

    class Meta:
        form = FilterForm

    def get_form_class(self) -> type[forms.Form]:
        form_class = super().get_form_class()  # a new class for each filter set (django-filter builds it)
        if not issubclass(form_class, FilterForm):  # a subclass's Meta.form of its own
            form_class = type(form_class.__name__, (FilterForm, form_class), {})
        form_class.other_parameters = LIST_PARAMETERS | self.other_parameters
        return form_class


class IdFilter(django_filters.Filter):
    """A record's id, parsed by ``forms.IntegerField`` (``²`` passes ``str.isdigit()`` but is no number)."""

    field_class = forms.IntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)
