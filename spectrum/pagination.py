"""Paging that stays cheap on large tables, for the HTML lists and the API alike.

The total is counted only up to ``count_limit`` (``SELECT COUNT(*)`` over a LIMITed subquery, without the
ordering: any ``count_limit + 1`` rows will do), so a search that matches half a million patients does not
scan them all on every keystroke; the page then says "1,000+" (refine the search to see a number: nobody
pages through a thousand patients to find one). A page reads one row more than it shows, to know whether a
next page exists, so paging goes on past the counted total. A first page with no next page already holds every
match, so its length is the count: most searches for one patient (a name, a number) run no count query.

``KeysFirstPaginator`` selects a page's primary keys in a subquery and the rows with those keys around it
(one query): where an index covers the list's order and its conditions (the patient list's name order on
PostgreSQL), the subquery is an index-only scan, and only the page's rows are read from the table.

Page numbers are parsed like any other query parameter, by a form field (``page_number``): ``²`` passes
``str.isdigit()`` but not ``int()``, and ``99999999999999999999`` became an OFFSET beyond the database's
integers (a 500). The count is only counted up to a limit, so paging goes on past it: the bound on page
numbers is a setting (``MAX_PAGE_NUMBER``), not the count.
"""

import math
from functools import cached_property
from typing import Any

from django import forms
from django.conf import settings
from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator


def page_number(value: Any) -> int:
    """``value`` as a page number; ``PageNotAnInteger`` or ``EmptyPage`` (both ``InvalidPage``) if it is none."""
    field = forms.IntegerField(min_value=1, max_value=settings.MAX_PAGE_NUMBER)
    try:
        return field.clean(value)
    except forms.ValidationError as exc:
        if any(error.code in ("min_value", "max_value") for error in exc.error_list):
            raise EmptyPage("That page contains no results.") from None
        raise PageNotAnInteger("That page number is not a whole number.") from None


class LargeTablePage(Page):
    has_more = False

    def has_next(self) -> bool:
        return self.has_more


class LargeTablePaginator(Paginator):
    """``known_count``: the number of rows if the caller knows it already (counted up to at least
    ``count_limit + 1``), e.g. kept in Django's cache; the paginator then runs no count query."""

    count_limit = 1_000
    # Set by ``page(1)`` when the first page holds every match.
    _first_page_holds_all: int | None = None

    def __init__(self, object_list: Any, per_page: int, *, known_count: int | None = None, **kwargs: Any) -> None:
        super().__init__(object_list, per_page, **kwargs)
        self.known_count = known_count

    @cached_property
    def count(self) -> int:
        if self.known_count is not None:
            return min(self.known_count, self.count_limit + 1)
        if self._first_page_holds_all is not None:
            return self._first_page_holds_all
        # Without order_by() the LIMITed subquery keeps the ORDER BY, and PostgreSQL sorts every match
        # before it can stop counting.
        return self.object_list.order_by()[: self.count_limit + 1].count()

    @property
    def count_is_exact(self) -> bool:
        return self.count <= self.count_limit

    @cached_property
    def num_pages(self) -> int:
        return max(1, math.ceil(min(self.count, self.count_limit) / self.per_page))

    def validate_number(self, number) -> int:
        number = page_number(number)
        # The first page is always served (possibly empty), so it needs no count: ``page`` may learn it for free.
        if number > 1 and self.count_is_exact and number > self.num_pages:
            raise EmptyPage("That page contains no results.")
        return number

    def page(self, number) -> LargeTablePage:
        number = self.validate_number(number)
        offset = (number - 1) * self.per_page
        rows = list(self.object_list[offset : offset + self.per_page + 1])
        if not rows and number > 1:
            raise EmptyPage("That page contains no results.")
        return self._page(rows, number)

    def _page(self, rows: list, number: int) -> LargeTablePage:
        page = LargeTablePage(rows[: self.per_page], number, self)
        page.has_more = len(rows) > self.per_page
        if number == 1 and not page.has_more:
            self._first_page_holds_all = len(rows)
        return page


class KeysFirstPaginator(LargeTablePaginator):
    def page(self, number) -> LargeTablePage:
        number = self.validate_number(number)
        offset = (number - 1) * self.per_page
        keys = self.object_list.values("pk")[offset : offset + self.per_page + 1]
        rows = list(self.object_list.filter(pk__in=keys))
        if not rows and number > 1:
            raise EmptyPage("That page contains no results.")
        return self._page(rows, number)
