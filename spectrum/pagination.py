"""Paging that stays cheap on large tables, for the HTML lists and the API alike.

- The total is counted only up to ``count_limit`` (``SELECT COUNT(*)`` over a LIMITed subquery, without
  the ordering: any ``count_limit + 1`` rows will do), so a search that matches half a million patients
  does not scan them all on every keystroke; the page then says "1,000+" (refine the search to see a
  number: nobody pages through a thousand patients to find one).
- A page first selects only the primary keys (an index-only scan where an index covers the order),
  then loads the full rows for those keys: deep pages skip index entries, not whole rows.
- A queryset may know cheaper ways (a patient search does): ``count_and_page_keys(offset, limit,
  count_limit)`` answers the count and, when it is within the limit, the page's keys in one query (or
  None: no cheaper way); ``page_keys(offset, limit, many=...)`` lists a page's keys, ``many`` saying the
  count reached the limit.
- One extra key is read to know whether a next page exists, so paging goes on past the counted total.
"""

import math
from functools import cached_property

from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator


class LargeTablePage(Page):
    has_more = False

    def has_next(self) -> bool:
        return self.has_more


class LargeTablePaginator(Paginator):
    count_limit = 1_000

    @cached_property
    def count(self) -> int:
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
        number = self._whole_number(number)
        if self.count_is_exact and number > self.num_pages and not (number == 1 and self.allow_empty_first_page):
            raise EmptyPage("That page contains no results.")
        return number

    @staticmethod
    def _whole_number(number) -> int:
        try:
            number = int(number)
        except (TypeError, ValueError):
            raise PageNotAnInteger("That page number is not a whole number.") from None
        if number < 1:
            raise EmptyPage("That page number is less than 1.")
        return number

    def page(self, number) -> LargeTablePage:
        keys = None
        count_and_page_keys = getattr(self.object_list, "count_and_page_keys", None)
        if count_and_page_keys is not None and "count" not in self.__dict__:
            offset = (self._whole_number(number) - 1) * self.per_page
            if answer := count_and_page_keys(offset, self.per_page + 1, self.count_limit):
                self.__dict__["count"], keys = answer  # where cached_property keeps the count
        number = self.validate_number(number)
        offset = (number - 1) * self.per_page
        if keys is None:
            keys = self.page_keys(offset, self.per_page + 1)
        if not keys and number > 1:
            raise EmptyPage("That page contains no results.")
        page_keys = keys[: self.per_page]
        rows = {row.pk: row for row in self.object_list.filter(pk__in=page_keys).order_by()}  # ordered below
        page = LargeTablePage([rows[key] for key in page_keys if key in rows], number, self)
        page.has_more = len(keys) > self.per_page
        return page

    def page_keys(self, offset: int, limit: int) -> list:
        """The primary keys of ``limit`` rows from ``offset``, in the list's order."""
        page_keys = getattr(self.object_list, "page_keys", None)
        if page_keys is not None:
            return page_keys(offset, limit, many=not self.count_is_exact)
        return list(self.object_list.values_list("pk", flat=True)[offset : offset + limit])
