"""Recording consent. A change of mind is a new record (history is kept); opting out takes effect at once:
the reminder sweep and each send read the latest record."""

import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from accounts import permissions
from accounts.models import User
from audit import services as audit
from consents.models import Consent
from documents.models import Document
from patients.models import Patient


@transaction.atomic
def record_consent(
    *,
    actor: User,
    patient: Patient,
    kind: str,
    status: str,
    recorded_on: datetime.date,
    expires_on: datetime.date | None = None,
    party: str = "",
    document: Document | None = None,
) -> Consent:
    """Record that ``patient`` gave, refused or revoked ``kind`` consent on ``recorded_on``.

    A revocation or refusal of reminder consent stops the next reminder of that channel (the send reads it).
    """
    if not permissions.can_record_consent(actor, patient):
        raise PermissionDenied("Your role may not record consents for this patient.")
    party = (party or "").strip()
    errors: dict[str, list[str]] = {}
    if kind not in Consent.Kind.values:
        errors["kind"] = [f"Choose one of: {', '.join(Consent.Kind.values)}."]
    if status not in Consent.Status.values:
        errors["status"] = [f"Choose one of: {', '.join(Consent.Status.values)}."]
    if kind == Consent.Kind.RELEASE_OF_INFORMATION and not party:
        errors["party"] = ["Name the person or organisation the information is released to."]
    if kind != Consent.Kind.RELEASE_OF_INFORMATION and party:
        errors["party"] = ["Only a release of information names a party."]
    if document is not None and (
        document.patient_id != patient.pk or not permissions.can_view_document(actor, document)
    ):
        errors["document"] = ["Choose a document of this patient's."]
    if expires_on is not None and expires_on < recorded_on:
        errors["expires_on"] = ["The expiry cannot be before the date of the consent."]
    if errors:
        raise ValidationError(errors)
    consent = Consent(
        patient=patient, kind=kind, status=status, party=party, recorded_on=recorded_on, expires_on=expires_on,
        recorded_by=actor, document=document,
    )  # fmt: skip
    with audit.acting_as(actor):
        consent.save()
    return consent


def record_consents_viewed(*, actor: User, patient: Patient, channel: str) -> None:
    """Audit a read of a patient's consent records (the API's list; the patient page records its own read)."""
    audit.record(
        event="consents.consent.listed", target_model=Consent, actor=actor, patient_id=patient.pk,
        data={"channel": channel},
    )  # fmt: skip
