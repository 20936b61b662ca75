"""The patient list's search and filters: one FilterSet for the page, the API, the picker and exports.

It filters and orders ``PatientListEntry`` rows; readers build it with ``patients.selectors.patient_filter``.
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
from spectrum.pagination import Key, LargeTablePage, LargeTablePaginator
from spectrum.validation import MAX_ID

ACTIVE_CHOICES = [("true", "Active"), ("false", "Inactive"), ("all", "All")]
# Every order the list offers, ascending and descending (``-``).
SORT_CHOICES = [(key, key) for name in selectors.SORTS for key in (name, f"-{name}")]
PAGE_SIZES = (25, 50, 100)  # what the page offers; the API takes any size up to MAX_PAGE_SIZE
MAX_PAGE_SIZE = 200


class PatientListForm(FilterForm):
    """The list's filters (added by django-filter) and its own parameters, parsed once per request: the order
    (``sort`` on the page, ``ordering`` in the API), the page size, and the keyset cursor (``after`` or
    ``before``: a patient's id, see ``spectrum.pagination``). A bad value is an error like a bad filter's: shown
    on the page, a 400 in the API. Whether the cursor's patient is in the list is ``PatientFilter.is_valid``'s
    check, as it needs the filtered list."""

    sort = forms.ChoiceField(choices=SORT_CHOICES, required=False)
    ordering = forms.ChoiceField(choices=SORT_CHOICES, required=False)
    page_size = forms.IntegerField(min_value=1, max_value=MAX_PAGE_SIZE, required=False)
    after = forms.IntegerField(min_value=1, max_value=MAX_ID, required=False)
    before = forms.IntegerField(min_value=1, max_value=MAX_ID, required=False)

    def cursor(self) -> str | None:
        """Which cursor the request pages by, ``"after"`` or ``"before"``, or None (by page number)."""
        data = self.cleaned_data
        return "after" if data.get("after") else "before" if data.get("before") else None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("after") and cleaned.get("before"):
            self.add_error("before", ValidationError("Page after one patient or before one, not both.", code="cursor"))
        cursor = self.cursor()
        if cursor and self.data.get("page"):
            self.add_error(cursor, ValidationError("Page by number or from a patient, not both.", code="cursor"))
        return cleaned


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

    # How many patients ``qs`` lists, counted up to ``selectors.COUNT_UP_TO`` and remembered in Django's cache
    # (``selectors.match_count``): set when ``qs`` is built; the pager shows it.
    matches: int | None = None
    # The sort values (``order_keys``) of the patient ``after`` or ``before`` names, looked up by ``is_valid``.
    anchor: dict[str, Any] | None = None

    class Meta:
        model = PatientListEntry
        fields: list[str] = []
        form = PatientListForm

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

    @property
    def ordering(self) -> str:
        """The order asked for (``sort`` or ``ordering``), else the default; valid once the form is."""
        data = self.form.cleaned_data
        return data.get("sort") or data.get("ordering") or selectors.DEFAULT_SORT

    @property
    def order_keys(self) -> list[Key]:
        """The columns ``qs`` is ordered by, for a keyset page; valid once the form is."""
        return selectors.order_keys(self.ordering, search=self.search_text)

    @property
    def cursor(self) -> str | None:
        """Which cursor the request pages by (``PatientListForm.cursor``); valid once the form is."""
        return self.form.cursor()

    def keyset_page(self, paginator: LargeTablePaginator) -> LargeTablePage:
        """The page after (or before) the cursor's patient in this list's order; once ``is_valid`` found it."""
        if self.anchor is None:
            raise ValueError("No cursor's patient found: page by number, or ask is_valid() first.")
        return paginator.keyset_page(self.order_keys, self.anchor, backwards=self.cursor == "before")

    def is_valid(self) -> bool:
        """The form's checks, then the cursor's: the patient ``after`` or ``before`` names must be in this very
        list, the one the user sees with these filters. Any other id (hidden from this role, filtered out, or
        no patient at all) gets one message, which does not tell whether such a patient exists."""
        if not super().is_valid():
            return False
        if self.cursor and self.anchor is None:
            pk = self.form.cleaned_data[self.cursor]
            columns = [column for column, _ in self.order_keys]
            self.anchor = self.qs.filter(pk=pk).values(*columns).first()
            if self.anchor is None:
                self.form.add_error(self.cursor, "That patient is not in this list. Start again from the first page.")
                return False
        return True

    @property
    def page_size(self) -> int | None:
        return self.form.cleaned_data.get("page_size")

    @property
    def search_text(self) -> str:
        return self.form.cleaned_data.get("search") or ""

    def filter_queryset(self, queryset):
        # Everyday lists show active patients; administrators ask for inactive or all explicitly.
        if not self.form.cleaned_data.get("is_active"):
            queryset = queryset.filter(is_active=True)
        # As django-filter's own loop, over the filters only: the form also holds the order and the page size.
        for name, value in self.form.cleaned_data.items():
            if name in self.filters:
                queryset = self.filters[name].filter(queryset, value)
        self.matches = selectors.match_count(queryset, self.scope())
        return selectors.ordered(queryset, self.ordering, search=self.search_text, matches=self.matches)

    def scope(self) -> str:
        """What the number of matches depends on: the filters' values and whether inactive patients count."""
        data = self.form.cleaned_data
        asked = sorted((name, str(data[name])) for name in self.filters if data.get(name))
        return f"{self.can_see_inactive}:{asked}"

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
        hidden = {"search", "sort", "ordering", "page_size", "after", "before", *self.refused_filters()}
        return [field for field in self.form if field.name not in hidden]

    def has_filters(self) -> bool:
        """Whether a filter besides the search box is set (the panel then opens and is rendered afresh)."""
        return any(self.data.get(name) for name in self.filters if name != "search")

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
