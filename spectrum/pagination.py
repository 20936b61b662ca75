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

Keyset paging (``keyset_page``): past the counted total a page number is a deep OFFSET, which reads and throws
away every row before the page. A list that knows its order (``Key``: the columns it sorts by, ending with the
primary key, so the order is total) can page from a row instead: "the rows after row 123" (or before it), read
with a plain ``WHERE (a > x) OR (a = x AND b > y) …`` that an index on the order serves, at the same cost on the
first page and the ten-thousandth. The cursor in the URL is the **id of a row** (``after=<id of the last row
shown>``, ``before=<id of the first>``), never its sort values: DRF's ``CursorPagination`` puts the last row's
sort value in the link, and on the patient list that is a last name, PHI in every access log. The list looks
the row's sort values up itself, in the same filtered queryset the user sees, so an id they may not see (or one
the filters exclude) finds nothing and is refused like any bad parameter.

Where the pager uses which: **page numbers while the count is exact** (every page is then within the count, and
"Page 3 of 7" means something), **cursors once the count stopped at its limit** ("1,000+": the "Next" and
"Previous" links of such a list, on pages and in the API's ``next``/``previous``, carry ``after``/``before``),
and cursors on from any page reached by a cursor (it has no number). A page number typed or bookmarked still
works as before, up to ``MAX_PAGE_NUMBER``. "Previous" reads backwards from the first row shown (the order
reversed, one row more than a page to know whether there is more) and shows the rows in the list's order.

The sort columns must not be NULL: ``NULL`` sorts first on SQLite and last on PostgreSQL, and ``a > NULL`` is
never true, so a NULL would need its own clause per database. ``rows_after`` refuses a NULL sort value instead
of answering a wrong page.
"""

import math
from collections.abc import Mapping, Sequence
from functools import cached_property, reduce
from operator import or_
from typing import Any

from django import forms
from django.conf import settings
from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.db.models import Q

# A column (or annotation) a list is ordered by, and whether it descends.
Key = tuple[str, bool]


def page_number(value: Any) -> int:
    """``value`` as a page number; ``PageNotAnInteger`` or ``EmptyPage`` (both ``InvalidPage``) if it is none."""
    field = forms.IntegerField(min_value=1, max_value=settings.MAX_PAGE_NUMBER)
    try:
        return field.clean(value)
    except forms.ValidationError as exc:
        if any(error.code in ("min_value", "max_value") for error in exc.error_list):
            raise EmptyPage("That page contains no results.") from None
        raise PageNotAnInteger("That page number is not a whole number.") from None


def rows_after(keys: Sequence[Key], anchor: Mapping[str, Any], *, backwards: bool = False) -> Q:
    """The condition "strictly after ``anchor`` in the order ``keys``" (before it when ``backwards``).

    ``anchor`` maps each key's column to the anchor row's value. For keys ``a, b, pk`` ascending:
    ``a >= x AND (a > x OR (a = x AND b > y) OR (a = x AND b = y AND pk > z))``; the leading ``a >= x`` is
    implied by the rest and lets the database start its index range at the anchor.
    """
    clauses = []
    for index, (column, descending) in enumerate(keys):
        if anchor[column] is None:
            raise ValueError(f"Keyset paging needs sort values that are not NULL ({column}).")
        lookup = "lt" if descending != backwards else "gt"
        clause = Q(**{f"{column}__{lookup}": anchor[column]})
        for earlier, _ in keys[:index]:
            clause &= Q(**{earlier: anchor[earlier]})
        clauses.append(clause)
    first, descending = keys[0]
    return Q(**{f"{first}__{'lte' if descending != backwards else 'gte'}": anchor[first]}) & reduce(or_, clauses)


class LargeTablePage(Page):
    """A page that knows whether more rows follow (``has_more``) without a count. A keyset page has no number
    (``number`` is None) and knows whether rows come before it (``has_less``)."""

    has_more = False
    has_less = False

    def has_next(self) -> bool:
        return self.has_more

    def has_previous(self) -> bool:
        return self.has_less if self.number is None else super().has_previous()

    @property
    def links_by_cursor(self) -> bool:
        """Whether "Next" and "Previous" carry row ids rather than page numbers (see the module's docstring)."""
        return self.number is None or not self.paginator.count_is_exact

    @property
    def next_after(self) -> int | None:
        """The ``after`` of the "Next" link, when it links by cursor: the id of the last row shown."""
        if not (self.links_by_cursor and self.has_next() and self.object_list):
            return None
        return self.object_list[-1].pk

    @property
    def previous_before(self) -> int | None:
        """The ``before`` of the "Previous" link, when it links by cursor: the id of the first row shown."""
        if not (self.links_by_cursor and self.has_previous() and self.object_list):
            return None
        return self.object_list[0].pk


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

    def keyset_page(self, keys: Sequence[Key], anchor: Mapping[str, Any], *, backwards: bool = False) -> LargeTablePage:
        """The page of rows right after ``anchor`` (right before it when ``backwards``) in the order ``keys``,
        which must be ``object_list``'s order. ``anchor`` holds the anchor row's values of ``keys``, looked up
        by the caller in the same queryset (so that a row the user may not see is refused there). No OFFSET:
        the same two reads (the anchor's values, the page) however deep the page is."""
        rows = self._keyset_rows(rows_after(keys, anchor, backwards=backwards), backwards=backwards)
        beyond = len(rows) > self.per_page  # the extra row, farthest from the anchor, was found
        if backwards:
            page = LargeTablePage(rows[1:] if beyond else rows, None, self)
            page.has_less, page.has_more = beyond, True  # the anchor itself comes after the page
        else:
            page = LargeTablePage(rows[: self.per_page], None, self)
            page.has_less, page.has_more = True, beyond  # the anchor itself comes before the page
        return page

    def _keyset_rows(self, condition: Q, *, backwards: bool) -> list:
        """Up to a page and one row meeting ``condition``, nearest the anchor first read, in the list's order."""
        if backwards:
            return list(self.object_list.filter(condition).reverse()[: self.per_page + 1])[::-1]
        return list(self.object_list.filter(condition)[: self.per_page + 1])

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

    def _keyset_rows(self, condition: Q, *, backwards: bool) -> list:
        # The keys are read nearest the anchor first; the rows come back in the list's own order.
        keys = self.object_list.filter(condition)
        keys = (keys.reverse() if backwards else keys).values("pk")[: self.per_page + 1]
        return list(self.object_list.filter(pk__in=keys))
