"""Reading patients: who may see which, and the search that the list page and the API share."""

import re
from typing import Any

from dateutil.relativedelta import relativedelta
from django.db.models import Case, IntegerField, Value, When
from django.utils import timezone

from accounts import permissions
from patients.models import Patient, PatientQuerySet
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
        patients = patients.annotate(
            exact_number=Case(
                When(patient_number=text.strip().upper(), then=Value(0)), default=Value(1), output_field=IntegerField()
            )
        )
    return patients


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
