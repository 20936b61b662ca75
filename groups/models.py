"""Program groups (e.g. PSR AM), their sessions (one per date) and patients' enrollments.

Each attendee of a session is an ordinary ``scheduling.Appointment`` linked to it (``group_session``), so
everything that counts appointments (authorization units, attendance rates, calendar counts, exports, audit)
keeps working; the attendee's time in/out, units and progress note live on that appointment.
"""

import datetime

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse

from audit.registry import register_audited
from scheduling.models import MAX_DURATION_MINUTES, CalendarEntry
from spectrum.fields import EncryptedTextField
from spectrum.models import TimeStampedModel

WEEKDAY_CHOICES = ("mon", "tue", "wed", "thu", "fri")


class ProgramSession(models.TextChoices):
    # The same values as ``Patient.Session``: a patient's program session is compared with a group's.
    AM = "AM", "AM"
    PM = "PM", "PM"


class Group(TimeStampedModel):
    """A recurring program group: "PSR AM, Mon–Fri 9:00–12:00, capacity 16"."""

    name = models.CharField(max_length=100)
    service_type = models.ForeignKey(
        "scheduling.ServiceType", on_delete=models.PROTECT, related_name="groups", limit_choices_to={"is_group": True}
    )
    weekdays = models.CharField(max_length=30, help_text="Comma-separated: mon,tue,wed,thu,fri")
    start_time = models.TimeField()
    duration_minutes = models.PositiveIntegerField(
        validators=[MinValueValidator(5), MaxValueValidator(MAX_DURATION_MINUTES)]
    )
    clinician = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="groups_led")
    co_clinician = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="groups_co_led"
    )
    program_session = models.CharField(max_length=2, choices=ProgramSession.choices)
    location = models.CharField(max_length=100, blank=True)
    capacity = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Blank: the service type's group capacity (no limit if it has none)."
    )
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True, help_text="Blank: sessions are generated a year ahead.")
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["program_session", "name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end_date__isnull=True) | models.Q(end_date__gte=models.F("start_date")),
                name="groups_group_dates_in_order",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def weekday_list(self) -> list[str]:
        return [day for day in self.weekdays.split(",") if day]

    @property
    def effective_capacity(self) -> int | None:
        return self.capacity if self.capacity is not None else self.service_type.default_group_capacity


class GroupSession(CalendarEntry):
    """One meeting of a group on one date (or a one-off group session without a group)."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        HELD = "held", "Held"
        CANCELLED = "cancelled", "Cancelled"

    group = models.ForeignKey(Group, null=True, blank=True, on_delete=models.PROTECT, related_name="sessions")
    service_type = models.ForeignKey("scheduling.ServiceType", on_delete=models.PROTECT, related_name="+")
    date = models.DateField()
    start_time = models.TimeField()
    duration_minutes = models.PositiveIntegerField(
        validators=[MinValueValidator(5), MaxValueValidator(MAX_DURATION_MINUTES)]
    )
    clinician = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="group_sessions")
    program_session = models.CharField(max_length=2, choices=ProgramSession.choices, blank=True)
    location = models.CharField(max_length=100, blank=True)
    capacity = models.PositiveSmallIntegerField(null=True, blank=True)
    topic = models.CharField(max_length=200, blank=True)
    group_note = EncryptedTextField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SCHEDULED)
    # The signature: who signed the attendance, when, and a SHA-256 of what they signed.
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    signed_at = models.DateTimeField(null=True, blank=True)
    signature_hash = models.CharField(max_length=64, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["date", "start_time", "id"]
        indexes = [
            models.Index(fields=["date", "program_session"], name="groups_session_date_prog_idx"),
            models.Index(fields=["group", "date"], name="groups_session_group_date_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["group", "date"], name="groups_one_session_per_group_and_date"),
        ]

    def __str__(self) -> str:
        label = self.group.name if self.group is not None else self.service_type.code
        return f"{label} {self.date:%Y-%m-%d} {self.start_time:%H:%M}"

    def get_absolute_url(self) -> str:
        return reverse("groups:session-roster", kwargs={"pk": self.pk})

    @property
    def starts_at(self) -> datetime.datetime:
        return datetime.datetime.combine(self.date, self.start_time)

    @property
    def end_time(self) -> datetime.time:
        return (self.starts_at + datetime.timedelta(minutes=self.duration_minutes)).time()

    @property
    def is_signed(self) -> bool:
        return self.signed_at is not None


class Enrollment(TimeStampedModel):
    """A patient in a group from a date, optionally until a date: gives them an appointment per session."""

    group = models.ForeignKey(Group, on_delete=models.PROTECT, related_name="enrollments")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="group_enrollments")
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["group", "start_date", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end_date__isnull=True) | models.Q(end_date__gte=models.F("start_date")),
                name="groups_enrollment_dates_in_order",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.group} from {self.start_date:%Y-%m-%d}"


class GroupSessionAmendment(models.Model):
    """A change to a signed session's attendance: who, when, why, what (no clinical text), the new hash."""

    session = models.ForeignKey(GroupSession, on_delete=models.PROTECT, related_name="amendments")
    amended_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    amended_at = models.DateTimeField()
    reason = models.CharField(max_length=300)
    changes = models.JSONField(default=list)
    content_hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["amended_at", "id"]

    def __str__(self) -> str:
        return f"Amendment of {self.session_id} at {self.amended_at:%Y-%m-%d %H:%M}"


register_audited(Group, exclude_fields=["updated_at"])
register_audited(GroupSession, exclude_fields=["updated_at"])
register_audited(Enrollment, patient_field="patient", exclude_fields=["updated_at"])
register_audited(GroupSessionAmendment)
