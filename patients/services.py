"""Creating, changing, deactivating and opening patient records: one path for pages, the API and admin."""

from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts import permissions
from audit import services as audit
from patients import selectors
from patients.filters import PatientFilter
from patients.models import Patient, ssn_lookup_hash
from patients.validation import digits, normalize_ssn
from spectrum.exceptions import ConflictError


class DuplicatePatientError(ConflictError):
    """Likely duplicates exist; the user must confirm (``allow_duplicate``) to go on."""

    def __init__(self, likely: list[selectors.LikelyDuplicate]) -> None:
        found = "; ".join(f"{each.patient.patient_number}: {each.reason}" for each in likely)
        listed = [{"id": each.patient.pk, "patient_number": each.patient.patient_number} for each in likely]
        super().__init__(
            f"A patient who may be the same person already exists ({found}). "
            "Check that this is a different person before saving.",
            extra={"duplicates": listed},
        )
        self.likely = likely  # with the reasons, for the page
        self.duplicates = [each.patient for each in likely]


def _refuse_unwritable(actor: Any, data: dict[str, Any]) -> None:
    refused = sorted(set(data) & permissions.patient_unwritable_fields(actor))
    if refused:
        raise ValidationError({field: ["Your role may not set this field."] for field in refused})


def find_duplicates(patient: Patient) -> list[selectors.LikelyDuplicate]:
    """Other records that may be the same person (``selectors.likely_duplicates``)."""
    return selectors.likely_duplicates(
        first_name=patient.first_name,
        last_name=patient.last_name,
        preferred_name=patient.preferred_name,
        date_of_birth=patient.date_of_birth,
        phone_digits=digits(patient.phone)[-10:],
        ssn_hash=ssn_lookup_hash(normalize_ssn(patient.ssn)) if patient.ssn else "",
        exclude_pk=patient.pk,
    )


@transaction.atomic
def create_patient(*, actor: Any, data: dict[str, Any], allow_duplicate: bool = False) -> Patient:
    """Register a patient after the role's field rules, validation and the duplicate check.

    Raises ``ValidationError`` (per field), ``DuplicatePatientError`` (409) or ``PermissionDenied``.
    """
    if not permissions.can_add_patient(actor):
        raise PermissionDenied("Your role may not register patients.")
    _refuse_unwritable(actor, data)
    patient = Patient(**data)
    patient.full_clean()
    if not allow_duplicate and (duplicates := find_duplicates(patient)):
        raise DuplicatePatientError(duplicates)
    patient.created_by = patient.updated_by = actor
    with audit.acting_as(actor):
        patient.save()
    return patient


@transaction.atomic
def update_patient(*, actor: Any, patient: Patient, data: dict[str, Any], allow_duplicate: bool = False) -> Patient:
    """Change a patient's fields; same rules as ``create_patient``. Only changed fields are written."""
    if not permissions.can_change_patient(actor, patient):
        raise PermissionDenied("Your role may not change this patient.")
    changed = {field: value for field, value in data.items() if getattr(patient, field) != value}
    if not changed:
        return patient  # nothing to write: no "updated" entry for a change that changes nothing
    _refuse_unwritable(actor, changed)
    identity_fields = ("first_name", "last_name", "preferred_name", "date_of_birth", "phone", "ssn")
    identity_before = [getattr(patient, field) for field in identity_fields]
    for field, value in changed.items():
        setattr(patient, field, value)
    patient.full_clean()
    identity_after = [getattr(patient, field) for field in identity_fields]
    if identity_after != identity_before and not allow_duplicate and (duplicates := find_duplicates(patient)):
        raise DuplicatePatientError(duplicates)
    patient.updated_by = actor
    with audit.acting_as(actor):
        patient.save()
    return patient


@transaction.atomic
def deactivate_patient(*, actor: Any, patient: Patient) -> Patient:
    """Hide a patient from everyday lists; nothing is deleted. Admins can reactivate."""
    if not permissions.can_deactivate_patient(actor, patient):
        raise PermissionDenied("Your role may not deactivate patients.")
    return _set_active(actor, patient, active=False)


@transaction.atomic
def reactivate_patient(*, actor: Any, patient: Patient) -> Patient:
    if not permissions.can_reactivate_patient(actor, patient):
        raise PermissionDenied("Only administrators can reactivate patients.")
    return _set_active(actor, patient, active=True)


def _set_active(actor: Any, patient: Patient, *, active: bool) -> Patient:
    patient.is_active = active
    patient.updated_by = actor
    with audit.acting_as(actor):
        patient.save(update_fields=["is_active", "updated_by", "updated_at"])
    return patient


@transaction.atomic
def record_patient_access(*, actor: Any, patient: Patient, channel: str) -> None:
    """Count a view of the record and write its one access entry to the audit trail.

    The counters are bookkeeping, excluded from change tracking: one UPDATE, no change entry.
    ``channel`` says where it was opened ("page", "api", "admin").
    """
    now = timezone.now()
    Patient.objects.filter(pk=patient.pk).update(
        last_accessed_at=now, last_accessed_by=actor, access_count=F("access_count") + 1
    )
    patient.last_accessed_at, patient.last_accessed_by = now, actor
    patient.access_count = (patient.access_count or 0) + 1
    audit.record(
        event="patients.patient.viewed",
        target=patient,
        actor=actor,
        patient_id=patient.pk,
        data={"channel": channel},
    )


def record_patient_search(
    *,
    actor: Any,
    params: Mapping[str, Any],
    results: int,
    results_exact: bool,
    channel: str,
    page: int | None = 1,
    after: int | None = None,
    before: int | None = None,
    search_param: str = "search",
    filter_names: Iterable[str] | None = None,
) -> None:
    """Write the one audit entry of a patient search or filtered list: terms, filters, number of results.

    A plain listing (no search text, no filter) is recorded too, with no terms: it discloses a list of
    patients as much as a search does (issue #14: every such response writes its entry). ``params`` are the
    request's query parameters; the search text is ``search_param`` and the filters are ``filter_names``
    (by default ``PatientFilter``'s, which the page and the API share; the admin passes its own). A page read
    by cursor has no number (``page`` None) and records its ``after`` or ``before`` id instead.
    """
    if filter_names is None:
        filter_names = [name for name in PatientFilter.base_filters if name != "search"]
    terms = selectors.search_terms(params.get(search_param) or "")
    filters = {name: params.get(name) for name in filter_names if params.get(name)}
    audit.record_search(
        model=Patient,
        actor=actor,
        terms=terms,
        filters=filters,
        results=results,
        results_exact=results_exact,
        channel=channel,
        page=page,
        after=after,
        before=before,
    )
