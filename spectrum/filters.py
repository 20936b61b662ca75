"""Filter sets for lists searched as the user types: built on every request, so building one must be cheap.

django-filter deep-copies a filter set's filters for each instance, and Django deep-copies a form's fields
for each form, so that one instance may change its own. Spectrum's filter sets never change a filter or a
field after the class is built, and the copies (choices lists, widgets, validators) cost about a
millisecond a request. Here each filter set gets shallow copies of its filters (each copy still gets its
own ``parent``) and its form shares the class's fields.
"""

import copy
from collections.abc import Hashable

import django_filters
from django import forms


class SharedFilters(dict):
    """A filter set's ``base_filters``: a deep copy of it copies each filter shallowly."""

    def __deepcopy__(self, memo: dict) -> dict[str, django_filters.Filter]:
        copies = {}
        for name, original in self.items():
            filter_ = copy.copy(original)
            # Its own form field, built when asked for: a field cached on the original (schema generation
            # asks for one) would be shared by form classes that change their fields differently.
            filter_.__dict__.pop("_field", None)
            if original.method is not None:
                filter_.method = original.method  # binds a FilterMethod to the copy, which finds its own parent
            copies[name] = filter_
        return copies


class SharedFields(dict):
    """A form class's ``base_fields`` that its forms share: a deep copy of it is a new dict of the same fields."""

    def __deepcopy__(self, memo: dict) -> dict[str, forms.Field]:
        return dict(self)


class FilterSet(django_filters.FilterSet):
    """A FilterSet whose instances copy its filters shallowly and whose forms share their fields.

    The form class is built once per ``form_key()`` (by ``build_form_class()``), not once per instance.
    A subclass must not change a filter or a form field per instance or request: it changes them in
    ``build_form_class()``, and says in ``form_key()`` what they depend on (the user's role, say).
    """

    @classmethod
    def get_filters(cls) -> SharedFilters:
        return SharedFilters(super().get_filters())

    def form_key(self) -> Hashable:
        """What the form class depends on besides the filter set's class."""
        return None

    def build_form_class(self) -> type[forms.Form]:
        return super().get_form_class()

    def get_form_class(self) -> type[forms.Form]:
        key = (type(self), self.form_key())
        if key not in _FORM_CLASSES:
            form_class = self.build_form_class()
            form_class.base_fields = SharedFields(form_class.base_fields)
            _FORM_CLASSES[key] = form_class
        return _FORM_CLASSES[key]


_FORM_CLASSES: dict[tuple[type, Hashable], type[forms.Form]] = {}
