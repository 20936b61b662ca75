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
- Given ``fields``, a page's rows are dicts of those fields (as ``values(*fields)`` gives them), read by key
  alone in one plain query when they are all columns of the model (``rows_by_key``): the keys came from
  the list's own query, and compiling that query again with every search condition and filter, and
  building model instances, costs more than reading the rows.
"""

import math
from collections.abc import Sequence
from functools import cache, cached_property
from typing import Any

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.core.paginator import EmptyPage, Page, Paginator
from django.db import connections
from django.db.models import Model

from spectrum.paging import page_number


class LargeTablePage(Page):
    has_more = False

    def has_next(self) -> bool:
        return self.has_more


class LargeTablePaginator(Paginator):
    count_limit = 1_000

    def __init__(self, object_list, per_page, *args, fields: Sequence[str] | None = None, **kwargs) -> None:
        super().__init__(object_list, per_page, *args, **kwargs)
        self.fields = tuple(fields) if fields else None
        key_name = object_list.model._meta.pk.attname
        if self.fields and key_name not in self.fields:
            raise TypeError(f"Rows as dicts are ordered by key: include {key_name!r} in fields.")

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
        return page_number(number)

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
        rows = self.rows_by_key(page_keys)  # ordered below
        page = LargeTablePage([rows[key] for key in page_keys if key in rows], number, self)
        page.has_more = len(keys) > self.per_page
        return page

    def rows_by_key(self, keys: list) -> dict:
        """The list's rows with these primary keys: model instances, or dicts of ``fields``."""
        object_list = self.object_list
        if not self.fields:
            return {row.pk: row for row in object_list.filter(pk__in=keys).order_by()}
        model, key_name = object_list.model, object_list.model._meta.pk.attname
        if (rows := rows_by_key(model, keys, self.fields, using=object_list.db)) is not None:
            return rows
        return {row[key_name]: row for row in object_list.filter(pk__in=keys).order_by().values(*self.fields)}

    def page_keys(self, offset: int, limit: int) -> list:
        """The primary keys of ``limit`` rows from ``offset``, in the list's order."""
        page_keys = getattr(self.object_list, "page_keys", None)
        if page_keys is not None:
            return page_keys(offset, limit, many=not self.count_is_exact)
        return list(self.object_list.values_list("pk", flat=True)[offset : offset + limit])


def rows_by_key(model: type[Model], keys: Sequence, fields: Sequence[str], *, using: str) -> dict | None:
    """``{key: {field: value}}`` for the rows of ``model`` with these primary keys, as ``values(*fields)`` gives
    them (the database's and the fields' converters applied), without building and compiling a QuerySet.

    None when a name is not a column of the model's own table (a relation's field, an annotation, a parent's
    field under multi-table inheritance): ``values()`` reads those.
    """
    meta = model._meta
    try:
        columns = [meta.get_field(name) for name in fields]  # a foreign key by name or attname: its column
    except FieldDoesNotExist:
        return None
    if not all(field.concrete and field.model is meta.concrete_model for field in columns):
        return None
    if not keys:
        return {}
    connection = connections[using]
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    sql = (
        f"SELECT {', '.join(f'{table}.{quote(field.column)}' for field in columns)} FROM {table}"
        f" WHERE {table}.{quote(meta.pk.column)} IN ({', '.join(['%s'] * len(keys))})"
    )
    converters = []
    for index, field in enumerate(columns):
        column = field.get_col(meta.db_table)
        if found := connection.ops.get_db_converters(column) + field.get_db_converters(connection):
            converters.append((index, found, column))
    key_index = list(fields).index(meta.pk.attname)
    with connection.cursor() as cursor:
        _load_timestamps_in_c(cursor, connection)
        cursor.execute(sql, [meta.pk.get_db_prep_value(key, connection) for key in keys])
        rows = cursor.fetchall()
    result: dict[Any, dict] = {}
    for row in rows:
        if converters:
            row = list(row)
            for index, functions, column in converters:
                for convert in functions:
                    row[index] = convert(row[index], column, connection)
        result[row[key_index]] = dict(zip(fields, row, strict=True))
    return result


def _load_timestamps_in_c(cursor: Any, connection: Any) -> None:
    """On PostgreSQL, read this cursor's time stamps with psycopg's own loader, written in C.

    Django gives each connection a Python subclass of psycopg's Python loader, so that time stamps carry
    its time zone; a list's three time stamps a row then cost as much as all its other columns. With
    USE_TZ the connection's zone is UTC, and psycopg's loader gives the same values (tests compare them).
    """
    if connection.vendor == "postgresql" and settings.USE_TZ and connection.timezone_name == "UTC":
        cursor.cursor.adapters.register_loader("timestamptz", _psycopg_timestamptz_loader())


@cache
def _psycopg_timestamptz_loader() -> type:
    import psycopg

    return psycopg.adapters.get_loader(psycopg.adapters.types["timestamptz"].oid, psycopg.pq.Format.TEXT)
