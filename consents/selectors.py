"""Reads of consent records: a patient's history, what is in force, what expires soon."""

import datetime

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from accounts import permissions
from accounts.permissions import Actor
from consents.models import Consent
from patients.models import Patient


def clinic_today() -> datetime.date:
    return timezone.localdate()


def consents_for_patient(patient: Patient) -> QuerySet[Consent]:
    """Every consent record of ``patient``, newest first (the history; nothing is ever edited)."""
    return Consent.objects.filter(patient=patient).select_related("recorded_by").order_by("-recorded_on", "-id")


def _superseded() -> Exists:
    """A later record of the same patient, kind and party exists: this one is history."""
    later = Q(recorded_on__gt=OuterRef("recorded_on")) | Q(recorded_on=OuterRef("recorded_on"), id__gt=OuterRef("id"))
    return Exists(
        Consent.objects.filter(
            patient_id=OuterRef("patient_id"), kind=OuterRef("kind"), party=OuterRef("party")
        ).filter(later)
    )


def current_consents(patient: Patient) -> QuerySet[Consent]:
    """The latest record of each kind (and release party) of ``patient``: what stands today."""
    return consents_for_patient(patient).exclude(_superseded())


def has_consent(patient_id: int, kind: str, today: datetime.date | None = None) -> bool:
    """Whether ``kind`` consent of the patient is in force on ``today``: the latest record is "given" and unexpired.

    Reminder consent has no party, so the latest record of the kind decides.
    """
    today = today or clinic_today()
    latest = Consent.objects.filter(patient_id=patient_id, kind=kind, party="").order_by("-recorded_on", "-id").first()
    return latest is not None and latest.is_in_force(today)


def expiring_consents(user: Actor, *, within_days: int = 30, today: datetime.date | None = None) -> QuerySet[Consent]:
    """Consents in force whose expiry falls within ``within_days`` of today, for the dashboard."""
    if not permissions.can_view_consents(user):
        return Consent.objects.none()
    today = today or clinic_today()
    queryset = Consent.objects.filter(
        status=Consent.Status.GIVEN,
        expires_on__gte=today,
        expires_on__lte=today + datetime.timedelta(days=within_days),
    ).exclude(_superseded())
    if not permissions.can_view_inactive_patients(user):
        queryset = queryset.filter(patient__is_active=True)
    return queryset.select_related("patient").order_by("expires_on", "id")
