"""Consent records: who agreed (or refused, or revoked) to what, when, recorded by whom.

History is kept: a change of mind is a new record, never an edit. The current consent of a kind (and,
for a release of information, a party) is the latest record of it.
"""

import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q

from audit.registry import register_audited
from spectrum.models import TimeStampedModel


class Consent(TimeStampedModel):
    class Kind(models.TextChoices):
        TREATMENT = "treatment", "Treatment"
        RELEASE_OF_INFORMATION = "release_of_information", "Release of information"
        REMINDERS_EMAIL = "reminders_email", "Reminders by email"
        REMINDERS_SMS = "reminders_sms", "Reminders by SMS"

    class Status(models.TextChoices):
        GIVEN = "given", "Given"
        REFUSED = "refused", "Refused"
        REVOKED = "revoked", "Revoked"

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="consents")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices)
    # Only for a release of information: to whom the record may be released.
    party = models.CharField("released to", max_length=200, blank=True)
    recorded_on = models.DateField("date", help_text="The date the patient gave, refused or revoked consent.")
    expires_on = models.DateField(null=True, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    # The signed form, when there is one: an uploaded document of the same patient.
    document = models.ForeignKey(
        "documents.Document", null=True, blank=True, on_delete=models.PROTECT, related_name="consents"
    )

    class Meta:
        ordering = ["-recorded_on", "-id"]
        indexes = [
            models.Index(fields=["patient", "kind", "-recorded_on", "-id"], name="consent_patient_kind_idx"),
            models.Index(fields=["expires_on"], condition=Q(status="given"), name="consent_given_expiry_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="release_of_information") | ~Q(party=""), name="consent_release_names_party"
            ),
            models.CheckConstraint(
                condition=Q(expires_on__isnull=True) | Q(expires_on__gte=models.F("recorded_on")),
                name="consent_expires_after_date",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.get_status_display()} {self.recorded_on:%Y-%m-%d}"

    def is_in_force(self, today: datetime.date) -> bool:
        """Given, and not expired on ``today``."""
        return self.status == self.Status.GIVEN and (self.expires_on is None or self.expires_on >= today)


register_audited(Consent, patient_field="patient", exclude_fields=["updated_at"])
