"""Reading patients: who may see which, and the search that the list page and the API share."""

import re
from typing import Any

from dateutil.relativedelta import relativedelta
from django.db import connections
from django.db.models import F, Func, IntegerField, Value
from django.db.models.expressions import Col
from django.db.models.lookups import Contains, Exact
from django.db.models.sql.where import AND
from django.utils import timezone

from accounts import permissions
from patients.models import Patient, PatientQuerySet, PatientSearchEntry
from patients.validation import digits

# Only digits and phone punctuation: "3055550123", "555-0123", "(305) 555".
_PHONE_LIKE = re.compile(r"^[\d\s().+\-]+$")
MAX_SEARCH_LENGTH = 100
# Columns the list needs; loading the encrypted ones would decrypt every row for nothing.
LIST_COLUMNS = (
    "id", "patient_number", "first_name", "last_name", "preferred_name", "date_of_birth", "gender", "phone",
    "city", "state", "insurance_type", "session", "is_active",
)  # fmt: skip
SORTABLE = {
    "last_name": ("last_name", "first_name", "id"),
    "first_name": ("first_name", "last_name", "id"),
    "patient_number": ("patient_number",),
    "date_of_birth": ("date_of_birth", "id"),
    "city": ("city", "last_name", "first_name", "id"),
    "created_at": ("created_at", "id"),
}
# A search matching at most SORT_LIMIT patients is paged by sorting its matches, read once for the count
# too (at a million patients a full last name matches about 4,400). A page of a more common term in the
# default order is found by walking the name order in the covering index of migration 0004 (it holds the
# search text), reading at most WALK_LIMIT entries.
SORT_LIMIT = 5_000
WALK_LIMIT = 20_000


def patients_visible_to(user: Any) -> PatientQuerySet:
    """Every patient ``user`` may know exists: inactive ones only for administrators."""
    if not user.has_perm("patients.view_patient"):
        return Patient.objects.none()
    patients = Patient.objects.all()
    if not permissions.can_view_inactive_patients(user):
        patients = patients.active()
    return patients


def search_terms(text: str) -> list[str]:
    """Split a search box's text into lower-case terms; phone-like text becomes one string of digits."""
    text = " ".join((text or "").split())[:MAX_SEARCH_LENGTH]
    if not text:
        return []
    if _PHONE_LIKE.match(text) and any(ch.isdigit() for ch in text):
        return [digits(text)]
    return [word.lower() for word in text.split(" ")]


def search_patients(patients: PatientQuerySet, text: str) -> PatientQuerySet:
    """Patients whose searchable fields contain every term (any field each). An exact patient number ranks first.

    ``search_document`` is stored lower-case, so a plain LIKE (which PostgreSQL's trigram index serves)
    is case-insensitive; Django's ``icontains`` would wrap the column in UPPER() and miss the index.
    """
    terms = search_terms(text)
    for term in terms:
        patients = patients.filter(search_document__contains=term)
    if terms:
        number = text.strip().upper()
        patients = patients.annotate(exact_number=ExactNumberRank(number))
        # The same queryset, plus what PatientSearch.page_keys needs. Django has no public way to change
        # a queryset's class; every later filter(), only() or order_by() keeps it.
        patients = patients._chain()
        patients.__class__ = PatientSearch
        patients.search_terms, patients.exact_number_text = tuple(terms), number
    return patients


class PatientSearch(PatientQuerySet):
    """The result of ``search_patients``. It knows its terms, and offers ``LargeTablePaginator`` cheaper ways
    to count and list a page in the default name order (``count_and_page_keys``, ``page_keys``).

    The plain plan reads every matching row (trigram index, then the table) to sort them, and the count
    reads them again. Here a search that matches at most ``SORT_LIMIT`` patients reads them once, for
    both; and a term more common than that ("joh": 1.3% of a million patients) is paged by walking the
    name order instead of sorting every match.
    """

    search_terms: tuple[str, ...] = ()
    exact_number_text = ""

    def _clone(self) -> "PatientSearch":
        clone = super()._clone()  # copies Django's own attributes only
        clone.search_terms, clone.exact_number_text = self.search_terms, self.exact_number_text
        return clone

    def count_and_page_keys(self, offset: int, limit: int, count_limit: int) -> tuple[int, list[int] | None] | None:
        """How many patients match (counting no further than ``count_limit + 1``) and, when at most
        ``SORT_LIMIT`` do, the keys of ``limit`` of them from ``offset``. None when not in the name order.
        """
        if not self._in_name_order():
            return None
        # The matches' sort keys, read once; the count; and a page of them in the list's order (the same
        # columns, so the same collation).
        ranked = ["exact_number"] if "exact_number" in self.query.order_by else []
        columns = ["pk", "last_name", "first_name", *ranked]
        sort_limit = max(SORT_LIMIT, count_limit)
        entries = self._matches_in_search_entries(ranked=bool(ranked))
        if entries is not None:
            matches, params = entries
            matches, params = f"{matches} LIMIT %s", [*params, sort_limit + 1]
        else:
            matches, params = self.order_by().values_list(*columns)[: sort_limit + 1].query.sql_with_params()
        order = ", ".join([*ranked, "last_name", "first_name", "pk"])
        sql = (
            f"WITH matches ({', '.join(columns)}) AS MATERIALIZED ({matches}),"
            " total AS (SELECT count(*) AS n FROM matches)"
            " SELECT total.n, page.pk FROM total LEFT JOIN LATERAL"
            f" (SELECT {', '.join(columns)} FROM matches WHERE total.n <= %s ORDER BY {order} LIMIT %s OFFSET %s)"
            f" AS page ON true ORDER BY {', '.join(f'page.{column}' for column in order.split(', '))}"
        )
        with connections[self.db].cursor() as cursor:
            cursor.execute(sql, [*params, sort_limit, limit, offset])
            rows = cursor.fetchall()
        total = rows[0][0]
        keys = [key for _, key in rows if key is not None] if total <= sort_limit else None
        return min(total, count_limit + 1), keys

    def page_keys(self, offset: int, limit: int, *, many: bool) -> list[int]:
        """The keys of ``limit`` patients from ``offset``, in the list's order; ``many``: the count hit its limit."""
        if many and self._in_name_order() and (keys := _keys_from_name_order(self, offset, limit)) is not None:
            return keys
        return list(self.values_list("pk", flat=True)[offset : offset + limit])

    def _matches_in_search_entries(self, *, ranked: bool) -> tuple[str, list] | None:
        """SQL and parameters selecting the same matches' key, last and first name (and exact-number rank)
        from ``PatientSearchEntry``, the narrow table, when every condition is on a column it holds: the
        search terms and the active flag, as search-as-you-type asks. None otherwise (filters).

        Written out rather than built as a QuerySet: two kinds of condition, and compiling a second query
        on every keystroke cost more than its SQL. The LIKE pattern is the one Django's ``contains`` makes.
        """
        query, where = self.query, self.query.where
        if len(query.alias_map) != 1 or where.connector != AND or where.negated:
            return None
        connection = connections[self.db]
        conditions, params = [], []
        for condition in where.children:
            column = condition.lhs.target.name if isinstance(getattr(condition, "lhs", None), Col) else None
            if type(condition) is Exact and column == "is_active" and isinstance(condition.rhs, bool):
                conditions.append("is_active = %s")
                params.append(condition.rhs)
            elif type(condition) is Contains and column == "search_document" and isinstance(condition.rhs, str):
                conditions.append("search_document LIKE %s")
                params.append(f"%{connection.ops.prep_for_like_query(condition.rhs)}%")
            else:
                return None
        columns = "patient_id, last_name, first_name"
        if ranked:
            columns += ", " + ExactNumberRank.template % {"expressions": "patient_number = %s"}
            params.insert(0, self.exact_number_text)
        table = connection.ops.quote_name(PatientSearchEntry._meta.db_table)
        return f"SELECT {columns} FROM {table} WHERE {' AND '.join(conditions) or 'true'}", params

    def _in_name_order(self) -> bool:
        """Listed by last name, first name and id (the default), on PostgreSQL."""
        order = ("last_name", "first_name", "id")
        query = self.query
        return (
            connections[self.db].vendor == "postgresql"
            and not (query.distinct or query.combinator or query.is_empty())
            and query.order_by in (order, ("exact_number", *order))
        )


def _keys_from_name_order(patients: PatientSearch, offset: int, limit: int) -> list[int] | None:
    """Page keys of a search in the name order, from a bounded walk of that order; None if it cannot tell.

    Walks the covering index of migration 0004 (last_name, first_name, id + search text) in order and
    keeps the first entries that contain every term: a superset, in order, of the patients the search
    lists (the search has the same conditions, and maybe more: active only, filters). The search itself
    then says which of those candidates it lists. If that gives the whole page, it is the page: any
    patient the search lists further on comes after every candidate. Otherwise (the walk ended, or
    filters dropped too many candidates) the plain plan answers.
    """
    exact_number = Patient.objects.using(patients.db).filter(patient_number=patients.exact_number_text)
    if patients.query.order_by[0] == "exact_number" and exact_number.exists():
        return None  # the exact match comes first: not the name order (and the search is short anyway)
    wanted = offset + limit
    matches = " AND ".join(["strpos(search_document, %s) > 0"] * len(patients.search_terms))
    # strpos is LIKE '%term%' without wildcards. The head's LIMIT bounds the walk whatever the term, and
    # keeps the planner from taking the trigram index instead.
    sql = (
        f"SELECT id FROM (SELECT id, last_name, first_name, search_document FROM {Patient._meta.db_table}"
        f" ORDER BY last_name, first_name, id LIMIT %s) AS head WHERE {matches}"
        " ORDER BY last_name, first_name, id LIMIT %s"
    )
    candidates_wanted = wanted + wanted // 4 + 8  # a few more: some may be inactive or filtered out
    while True:
        with connections[patients.db].cursor() as cursor:
            cursor.execute(sql, [WALK_LIMIT, *patients.search_terms, candidates_wanted])
            candidates = [row[0] for row in cursor.fetchall()]
        listed = set(patients.filter(pk__in=candidates).order_by().values_list("pk", flat=True))
        keys = [key for key in candidates if key in listed]
        if len(keys) >= wanted:
            return keys[offset:wanted]
        if len(candidates) < candidates_wanted or candidates_wanted >= 8 * wanted:
            return None  # the walk ended first, or the filters leave too few: not worth walking further
        candidates_wanted *= 4


class ExactNumberRank(Func):
    """0 for the patient whose number is exactly the search text, 1 for the others: the exact match first.

    What ``Case(When(patient_number=number), ...)`` says, without building a filter for it on every search.
    """

    arg_joiner = " = "
    template = "CASE WHEN %(expressions)s THEN 0 ELSE 1 END"
    output_field = IntegerField()

    def __init__(self, number: str) -> None:
        super().__init__(F("patient_number"), Value(number))


def order_patients(patients: PatientQuerySet, sort: str) -> PatientQuerySet:
    descending = sort.startswith("-")
    columns = SORTABLE.get(sort.lstrip("-"), SORTABLE["last_name"])
    ordering = [f"-{column}" if descending else column for column in columns]
    if "exact_number" in patients.query.annotations:
        ordering.insert(0, "exact_number")
    return patients.order_by(*ordering)


def birth_date_bounds(*, min_age: int | None = None, max_age: int | None = None) -> dict[str, Any]:
    """Filter arguments on date_of_birth for an age range, counted from today's birthdays."""
    today = timezone.localdate()
    bounds: dict[str, Any] = {}
    if min_age is not None:
        bounds["date_of_birth__lte"] = today - relativedelta(years=min_age)
    if max_age is not None:
        bounds["date_of_birth__gt"] = today - relativedelta(years=max_age + 1)
    return bounds
