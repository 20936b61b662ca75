"""Reading patients: who may see which, the patient list and its search, "Did you mean" and likely duplicates.

The list page, its htmx partial, the API list and exports build the list's FilterSet with ``patient_filter``
(once per request), the booking picker reads ``patient_list``: plain Django over ``PatientListEntry``, the
same code on SQLite and PostgreSQL.
"""

import hashlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, TypeVar

from dateutil.relativedelta import relativedelta
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db.models import Case, Q, QuerySet, Value, When
from django.db.models.functions import Lower
from django.utils import timezone
from rapidfuzz import fuzz, process

from accounts import permissions
from patients.models import (
    ENCRYPTED_FIELDS,
    LIST_VERSION_CACHE_KEY,
    NAME_VOCABULARY_CACHE_KEY,
    Patient,
    PatientListEntry,
    PatientQuerySet,
    name_key,
)
from patients.validation import digits
from spectrum.outages import CACHE_ERRORS

T = TypeVar("T")

if TYPE_CHECKING:
    from patients.filters import PatientFilter

# Only digits and phone punctuation: "3055550123", "555-0123", "(305) 555".
_PHONE_LIKE = re.compile(r"^[\d\s().+\-]+$")
# Letters then digits, as patient numbers are written (P000123): such a search lists an exact match first.
_PATIENT_NUMBER_LIKE = re.compile(r"^[A-Za-z]+\d+$")
MAX_SEARCH_LENGTH = 100
# Each sort's columns end with the key, so every order is total (stable pages).
SORTS = {
    "last_name": ("last_name_key", "first_name_key", "patient_id"),
    "first_name": ("first_name_key", "last_name_key", "patient_id"),
    "patient_number": ("patient_number", "patient_id"),
    "date_of_birth": ("date_of_birth", "patient_id"),
    "city": ("city", "last_name_key", "first_name_key", "patient_id"),
    "created_at": ("created_at", "patient_id"),
}
DEFAULT_SORT = "last_name"
# A search matching at most this many patients sorts its matches; a more common one walks the name order
# (at 100,000 patients "joh" matches 1,314: sorted 1.5 ms, walked 8 ms, reading 11,700 index entries).
SORT_MATCHES_UP_TO = 5_000
# What ``match_count`` counts up to: enough to choose the plan above and to show the pager's capped count.
COUNT_UP_TO = SORT_MATCHES_UP_TO
MATCH_COUNT_SECONDS = 300

# "Did you mean" runs when a search lists fewer patients than this, so common terms never pay for it.
DID_YOU_MEAN_BELOW = 3
DID_YOU_MEAN_LIMIT = 5
# rapidfuzz's ratio (0-100): one transposed, missing or wrong letter in a name of four letters or more.
SIMILAR_NAME_SCORE = 70
# How long the list of distinct names "Did you mean" compares with is kept (saving a patient clears it).
NAME_VOCABULARY_SECONDS = 600


def patients_visible_to(user: Any) -> PatientQuerySet:
    """Every patient ``user`` may know exists: inactive ones only for administrators."""
    if not permissions.can_view_patients(user):
        return Patient.objects.none()
    patients = Patient.objects.all()
    if not permissions.can_view_inactive_patients(user):
        patients = patients.active()
    return patients


def entries_visible_to(user: Any) -> QuerySet[PatientListEntry]:
    """The list entries of the patients ``user`` may know exist (the same rule as ``patients_visible_to``)."""
    if not permissions.can_view_patients(user):
        return PatientListEntry.objects.none()
    entries = PatientListEntry.objects.all()
    if not permissions.can_view_inactive_patients(user):
        entries = entries.filter(is_active=True)
    return entries


def patient_filter(*, user: Any, data: Any) -> "PatientFilter":
    """The list's FilterSet over the entries ``user`` may see, for query parameters ``data``: the one object a
    request builds (its form parses the filters, the order and the page size; ``.qs`` is the ordered list)."""
    from patients.filters import PatientFilter  # the filters module builds on this one's search

    return PatientFilter(data, queryset=entries_visible_to(user), user=user)


def patient_list(*, user: Any, filters: Any) -> QuerySet[PatientListEntry]:
    """The patients ``user`` may see, filtered, searched and ordered as ``filters`` (query parameters) ask.
    Raises ``ValidationError`` (per parameter) for parameters that do not parse or that the role may not use.
    """
    filterset = patient_filter(user=user, data=filters)
    if not filterset.is_valid():
        raise ValidationError(filterset.errors)
    return filterset.qs


def order_keys(ordering: str, *, search: str) -> list[tuple[str, bool]]:
    """The columns ``ordered`` sorts by in ``ordering``, each with whether it descends, ending with the key: what a
    keyset page compares its anchor with (``spectrum.pagination.rows_after``). A search for a patient number
    ranks the exact match first (``number_rank``, an annotation ``ordered`` adds)."""
    descending = ordering.startswith("-")
    if ordering.lstrip("-") not in SORTS:
        raise ValidationError({"ordering": [f"Sort by one of: {', '.join(SORTS)}."]})
    keys = [(column, descending) for column in SORTS[ordering.lstrip("-")]]
    if _PATIENT_NUMBER_LIKE.match(search.strip()):
        keys.insert(0, ("number_rank", False))
    return keys


def ordered(
    entries: QuerySet[PatientListEntry], ordering: str, *, search: str, matches: int
) -> QuerySet[PatientListEntry]:
    """``entries`` (``matches`` of them, as ``match_count`` counts) in ``ordering`` (``order_keys``); a search for a
    patient number lists the exact match first."""
    keys = order_keys(ordering, search=search)
    columns: list[Any] = [f"-{column}" if descending else column for column, descending in keys]
    if keys[0][0] == "number_rank":
        # Only for number-like text: such a search matches few patients, so sorting them all is cheap, where
        # a name's would have to sort every match instead of walking the name order.
        number = search.strip().upper()
        entries = entries.annotate(number_rank=Case(When(patient_number=number, then=Value(0)), default=Value(1)))
    elif search and ordering.lstrip("-") in ("last_name", "first_name") and matches <= SORT_MATCHES_UP_TO:
        # Few matches: read them through the trigram index and sort them. Ordered by the name index's own
        # columns, PostgreSQL may walk that index instead, testing entry after entry until it has a page:
        # right for a common term, but a name's matches lie together far along the order ("rodriguez":
        # 75,000 entries walked at 100,000 patients). Lower() of the lower-case keys is the same order
        # (and the one a keyset page compares with, on the columns themselves), and one the index cannot serve.
        columns = [Lower(column[1:]).desc() if column.startswith("-") else Lower(column) for column in columns[:-1]]
        columns.append(f"{'-' if keys[-1][1] else ''}patient_id")
    return entries.order_by(*columns)


def list_version() -> str:
    """The list's version in Django's cache, which every write of a list entry changes (``save_for``): what a
    cached count or page of the list is keyed by. Raises the cache's errors while it is down."""
    return str(cache.get_or_set(LIST_VERSION_CACHE_KEY, time.time_ns, None))


def cached_list_page(scope: str, build: Callable[[], T]) -> T:
    """A page of the list as ``build()`` makes it (rendered rows, or the API's data), kept in Django's cache under
    ``scope`` (what the page depends on besides the entries: the query, what the role may see, today; hashed,
    as it holds the search text) and the list's version, so any list-entry write shows at once. Search-as-you-
    type asks the same terms again and again; a page's query and rows are most of a search's time. Built every
    time while the cache is down."""
    try:
        key = f"patients:list-page:{list_version()}:{hashlib.sha256(scope.encode()).hexdigest()}"
        return cache.get_or_set(key, build, MATCH_COUNT_SECONDS)
    except CACHE_ERRORS:
        return build()


def match_count(entries: QuerySet[PatientListEntry], scope: str | None) -> int:
    """How many ``entries`` there are, counted up to ``COUNT_UP_TO`` (one more means "more than that").

    One count serves the list twice: whether to sort a search's matches or walk the name order
    (``ordered``), and the count the page shows ("1,000+" past the pager's limit). Search-as-you-type asks
    the same terms again and again, so the number is kept in Django's cache under ``scope`` (the search,
    the filters and whether inactive patients count: what the number depends on; hashed, as the key holds
    the search text) and the list's version, which every write of a list entry changes
    (``PatientListEntry.save_for``): a new or changed patient is counted at once.
    """

    def count() -> int:
        return entries.order_by()[: COUNT_UP_TO + 1].count()

    if scope is None:
        return count()
    try:
        key = f"patients:match-count:{list_version()}:{hashlib.sha256(scope.encode()).hexdigest()}"
        return cache.get_or_set(key, count, MATCH_COUNT_SECONDS)
    except CACHE_ERRORS:  # the cache is down: count every time
        return count()


def patient_records(entries: QuerySet[PatientListEntry], ordering: str = DEFAULT_SORT) -> PatientQuerySet:
    """The full records of the patients ``entries`` lists, in ``ordering`` (exports, which write every field)."""
    descending = "-" if ordering.startswith("-") else ""
    columns = SORTS.get(ordering.lstrip("-"), SORTS[DEFAULT_SORT])
    return Patient.objects.filter(pk__in=entries.values("pk")).order_by(
        *(f"{descending}list_entry__{column}" for column in columns)
    )


def search_terms(text: str) -> list[str]:
    """Split a search box's text into lower-case terms; phone-like text becomes one string of digits."""
    text = " ".join((text or "").split())[:MAX_SEARCH_LENGTH]
    if not text:
        return []
    if _PHONE_LIKE.match(text) and any(ch.isdigit() for ch in text):
        return [digits(text)]
    return [word.lower() for word in text.split(" ")]


def search(entries: QuerySet[PatientListEntry], text: str) -> QuerySet[PatientListEntry]:
    """Entries whose searchable fields contain every term (any field each).

    ``search_text`` is stored lower-case, so a plain ``contains`` (LIKE, which PostgreSQL's trigram index
    serves) is case-insensitive; ``icontains`` would wrap the column in UPPER() and miss the index.
    """
    for term in search_terms(text):
        entries = entries.filter(search_text__contains=term)
    return entries


def matched_on(entry: PatientListEntry, text: str) -> str:
    """Why ``entry`` matched a search, when it is not by name or number: "city: Pembroke Pines", "phone"."""
    terms = search_terms(text)
    named = " ".join([entry.first_name, entry.last_name, entry.preferred_name, entry.patient_number]).lower()
    for term in terms:
        if term in named:
            continue
        if term in entry.city.lower():
            return f"city: {entry.city}"
        if term in digits(entry.phone):
            return "phone"
        if term in entry.email.lower():
            return "email"
        if term in entry.address.lower():
            return "address"
        if term in entry.occupation.lower():
            return f"occupation: {entry.occupation}"
        if term in entry.state.lower():
            return f"state: {entry.state}"
    return ""


def name_vocabulary() -> list[str]:
    """Every distinct first and last name (as ``name_key`` writes them), kept in Django's cache.

    One pass over the entries' name indexes when the cache is cold: about 30 ms at 100,000 patients on
    PostgreSQL. ``PatientListEntry.save_for`` clears it, so a new name is suggested at once.
    """

    def distinct_names() -> list[str]:
        names = set(PatientListEntry.objects.values_list("last_name_key", flat=True).distinct())
        names |= set(PatientListEntry.objects.values_list("first_name_key", flat=True).distinct())
        return sorted(names)

    try:
        return cache.get_or_set(NAME_VOCABULARY_CACHE_KEY, distinct_names, NAME_VOCABULARY_SECONDS)
    except CACHE_ERRORS:  # the cache is down: search still works, at the cost of reading the names
        return distinct_names()


def similar_names(word: str, *, limit: int = 20) -> list[str]:
    """Known names one typo or so away from ``word`` (a transposition, a missing or wrong letter)."""
    found = process.extract(
        name_key(word), name_vocabulary(), scorer=fuzz.ratio, score_cutoff=SIMILAR_NAME_SCORE, limit=limit
    )
    return [name for name, _, _ in found]


def did_you_mean(
    *, user: Any, text: str, exclude: list[int] | None = None, limit: int = DID_YOU_MEAN_LIMIT
) -> list[PatientListEntry]:
    """Active patients ``user`` may see whose names are close to the words of ``text`` (each word matching a
    first or last name one typo away), best first. For searches that found few or no patients.

    Names are compared with rapidfuzz against the distinct names (``name_vocabulary``), then the patients
    holding those names are read through the name indexes, on SQLite and PostgreSQL alike. pg_trgm was
    measured and left out: a transposition in a short name shares too few trigrams (similarity("smtih",
    "smith") is 0.2, under any threshold that does not also match most of the table).
    """
    words = [word for word in name_key(text).split() if len(word) >= 3 and word.isalpha()]
    if not words:
        return []
    entries = entries_visible_to(user).filter(is_active=True).exclude(pk__in=exclude or [])
    for word in words:
        names = similar_names(word)
        if not names:
            return []
        entries = entries.filter(Q(last_name_key__in=names) | Q(first_name_key__in=names))
    # No ORDER BY: PostgreSQL reads the two name indexes for exactly these names (ranked below).
    candidates = list(entries.order_by()[:200])

    def closeness(entry: PatientListEntry) -> float:
        own = [entry.first_name_key, entry.last_name_key, name_key(entry.preferred_name)]
        return sum(max(fuzz.ratio(word, name) for name in own) for word in words)

    candidates.sort(key=lambda entry: (-closeness(entry), entry.last_name_key, entry.first_name_key, entry.pk))
    return candidates[:limit]


@dataclass(frozen=True)
class LikelyDuplicate:
    patient: Patient
    reason: str


def likely_duplicates(
    *,
    first_name: str,
    last_name: str,
    preferred_name: str = "",
    date_of_birth: date | None,
    phone_digits: str = "",
    ssn_hash: str = "",
    exclude_pk: int | None = None,
) -> list[LikelyDuplicate]:
    """Records that may be the same person: the same SSN, the same phone, or the same birth date with a similar
    name (first or preferred name against the other's first or preferred, and the last name, each at most a
    typo or so apart). Every patient counts, active or not: a duplicate of a deactivated record is still one.
    Each comes with its reason ("same phone", ...), for the warning to say.
    """
    reasons: dict[int, str] = {}
    if ssn_hash:
        for pk in Patient.objects.filter(ssn_hash=ssn_hash).values_list("pk", flat=True):
            reasons.setdefault(pk, "same SSN")
    if len(phone_digits) == 10:
        for pk in Patient.objects.filter(phone_digits=phone_digits).values_list("pk", flat=True):
            reasons.setdefault(pk, "same phone")
    if date_of_birth and last_name:
        given = {name_key(first_name), name_key(preferred_name)} - {""}
        for entry in PatientListEntry.objects.filter(date_of_birth=date_of_birth):
            their_given = {entry.first_name_key, name_key(entry.preferred_name)} - {""}
            same_last = fuzz.ratio(name_key(last_name), entry.last_name_key) >= SIMILAR_NAME_SCORE
            same_given = any(fuzz.ratio(a, b) >= SIMILAR_NAME_SCORE for a in given for b in their_given)
            if same_last and same_given:
                reasons.setdefault(entry.pk, "same date of birth and a similar name")
    reasons.pop(exclude_pk, None)
    found = Patient.objects.filter(pk__in=list(reasons)).defer(*ENCRYPTED_FIELDS)
    return [LikelyDuplicate(patient, reasons[patient.pk]) for patient in found.order_by("patient_number")[:5]]


def birth_date_bounds(*, min_age: int | None = None, max_age: int | None = None) -> dict[str, Any]:
    """Filter arguments on date_of_birth for an age range, counted from today's birthdays."""
    today = timezone.localdate()
    bounds: dict[str, Any] = {}
    if min_age is not None:
        bounds["date_of_birth__lte"] = today - relativedelta(years=min_age)
    if max_age is not None:
        bounds["date_of_birth__gt"] = today - relativedelta(years=max_age + 1)
    return bounds
