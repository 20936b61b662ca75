import datetime
import math

from django.conf import settings
from django.db import models
from django.db.models.functions import Upper
from django.urls import reverse

from audit.registry import register_audited
from spectrum.fields import EncryptedTextField
from spectrum.models import TimeStampedModel
from spectrum.querysets import PatientRecordQuerySet


class AuthorizationQuerySet(PatientRecordQuerySet):
    def readable_by(self, user) -> bool:
        from accounts import permissions

        return permissions.can_view_authorizations(user)


def units_for(*, unit_minutes: int | None, duration_minutes: int) -> int:
    """Units one appointment uses: one per visit, or one per started ``unit_minutes`` for unit-billed services."""
    if not unit_minutes:
        return 1
    return math.ceil(duration_minutes / unit_minutes)


class Authorization(TimeStampedModel):
    """A payer's approval of a number of units of one or more services for a patient within a date window.

    Units used and scheduled are never typed: they are counted from the appointments (see selectors).
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACTIVE = "active", "Active"
        # More units booked (scheduled) or used than authorized: not a green "Active".
        OVER_BOOKED = "over_booked", "Over-booked"
        EXHAUSTED = "exhausted", "Exhausted"
        EXPIRED = "expired", "Expired"

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="authorizations")
    payer = models.CharField(max_length=100, help_text="The insurer, e.g. Sunshine Health.")
    auth_number = models.CharField("authorization number", max_length=50)
    service_types = models.ManyToManyField("scheduling.ServiceType", related_name="authorizations")
    units_authorized = models.PositiveIntegerField()
    start_date = models.DateField()
    end_date = models.DateField()
    approval_date = models.DateField(null=True, blank=True, help_text="Blank while the request is pending.")
    diagnosis_code = models.CharField("diagnosis code (ICD-10-CM)", max_length=10, blank=True)
    late_cancel_counts = models.BooleanField(
        "late cancellations use units",
        default=False,
        help_text="Tick when this payer counts late cancellations against the authorization.",
    )
    notes = EncryptedTextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", editable=False
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", editable=False
    )

    objects = AuthorizationQuerySet.as_manager()

    class Meta:
        ordering = ["end_date", "id"]
        constraints = [
            models.UniqueConstraint(Upper("payer"), Upper("auth_number"), name="auth_number_unique_per_payer"),
            models.CheckConstraint(
                condition=models.Q(end_date__gte=models.F("start_date")), name="auth_end_after_start"
            ),
            models.CheckConstraint(condition=models.Q(units_authorized__gt=0), name="auth_units_positive"),
        ]
        indexes = [models.Index(fields=["patient", "end_date"], name="auth_patient_end_idx")]

    def __str__(self) -> str:
        return f"{self.payer} #{self.auth_number}"

    def get_absolute_url(self) -> str:
        return reverse("authorizations:authorization-edit", args=[self.pk])

    # Statuses under which an approved authorization still covers its window (units may be short).
    IN_FORCE_STATUSES = (Status.ACTIVE, Status.OVER_BOOKED, Status.EXHAUSTED)

    def covers(self, day: datetime.date) -> bool:
        return self.start_date <= day <= self.end_date


register_audited(Authorization, patient_field="patient", exclude_fields=["updated_at"], m2m_fields=["service_types"])
