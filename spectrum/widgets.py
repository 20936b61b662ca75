"""Form widgets tuned for pages rendered on every keystroke."""

from functools import cached_property

from django import forms
from django.forms.utils import flatatt
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe


class FastSelect(forms.Select):
    """A <select> built in Python: Django's template-per-option rendering costs milliseconds per filter.

    Same markup for flat choices (no option groups), escaped the same way. Each widget renders its choices
    once (labels in the one language Spectrum speaks; filter forms keep their widgets for the process),
    and a render picks the options.
    """

    @property
    def choices(self):
        return self._choices

    @choices.setter
    def choices(self, value) -> None:
        self._choices = value
        self.__dict__.pop("_options", None)  # rendered again from the new choices

    @cached_property
    def _options(self) -> tuple[tuple[str, SafeString, SafeString], ...]:
        """(value, <option>, <option selected>) for each flat choice; the markup is escaped by format_html."""
        return tuple(
            (
                str(value),
                format_html('<option value="{}">{}</option>', value, label),
                format_html('<option value="{}" selected>{}</option>', value, label),
            )
            for value, label in self.choices
            if not isinstance(label, (list, tuple))
        )

    def render(self, name, value, attrs=None, renderer=None):
        attrs = self.build_attrs(self.attrs, attrs)
        selected = {str(item) for item in self.format_value(value)}
        options = "".join(chosen if key in selected else plain for key, plain, chosen in self._options)
        # A join of options escaped by format_html.
        return format_html('<select name="{}"{}>{}</select>', name, flatatt(attrs), mark_safe(options))


class FastInputMixin:
    """An <input> built in Python rather than through the template engine: the markup of Django's
    ``input.html`` (attributes in flatatt's order), for widgets of a page rendered on every keystroke.
    """

    def render(self, name, value, attrs=None, renderer=None):
        attrs = self.build_attrs(self.attrs, attrs)
        value = self.format_value(value)
        value_attr = format_html(' value="{}"', value) if value is not None else ""
        return format_html('<input type="{}" name="{}"{}{}>', self.input_type, name, value_attr, flatatt(attrs))


class FastTextInput(FastInputMixin, forms.TextInput):
    pass


class FastNumberInput(FastInputMixin, forms.NumberInput):
    pass
