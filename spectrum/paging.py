"""Page numbers every list accepts: whole numbers from 1 to ``MAX_PAGE_NUMBER``.

A page number is parsed like any other query parameter, by a form field: ``²`` passes ``str.isdigit()`` but
not ``int()``, and ``99999999999999999999`` became an OFFSET beyond the database's integers (a 500). A list
whose count is only estimated pages on past it, so the bound is a setting, not the count.
"""

from typing import Any

from django import forms
from django.conf import settings
from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator


def page_number(value: Any) -> int:
    """``value`` as a page number; ``PageNotAnInteger`` or ``EmptyPage`` (both ``InvalidPage``) if it is none."""
    field = forms.IntegerField(min_value=1, max_value=settings.MAX_PAGE_NUMBER)
    try:
        return field.clean(value)
    except forms.ValidationError as exc:
        if any(error.code in ("min_value", "max_value") for error in exc.error_list):
            raise EmptyPage("That page contains no results.") from None
        raise PageNotAnInteger("That page number is not a whole number.") from None


class BoundedPaginator(Paginator):
    """Django's paginator, with page numbers parsed by ``page_number``."""

    def validate_number(self, number: Any) -> int:
        return super().validate_number(page_number(number))
