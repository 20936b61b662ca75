import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone

from audit.registry import register_audited
from spectrum.fields import EncryptedTextField
from spectrum.models import TimeStampedModel
from spectrum.querysets import PatientRecordQuerySet

MAX_DURATION_MINUTES = 8 * 60


def clinic_now() -> datetime.datetime:
    """The clinic's wall clock (naive, in settings.TIME_ZONE): appointments are stored in it."""
    return timezone.localtime().replace(tzinfo=None)


def _wall_clock(now: datetime.datetime | None) -> datetime.datetime:
    """``now`` as the clinic's naive wall clock (appointments' own terms); the present when None."""
    if now is None:
        return clinic_now()
    return timezone.localtime(now).replace(tzinfo=None) if timezone.is_aware(now) else now


class ScheduleQuerySet(PatientRecordQuerySet):
    """Appointments and series: for the roles that see the schedule."""

    def readable_by(self, user) -> bool:
        from accounts import permissions

        return permissions.can_view_schedule(user)


class AppointmentQuerySet(ScheduleQuerySet):
    # The one rule for "has it started": an appointment has started once its wall-clock start is at or
    # before now. Series edits, cancellations, splits, the API and the pages all ask these two methods.
    def not_started(self, now: datetime.datetime | None = None) -> "AppointmentQuerySet":
        """Appointments whose start is still ahead of ``now`` (default: the present)."""
        moment = _wall_clock(now)
        return self.filter(
            models.Q(date__gt=moment.date()) | models.Q(date=moment.date(), start_time__gt=moment.time())
        )

    def started(self, now: datetime.datetime | None = None) -> "AppointmentQuerySet":
        """Appointments whose start is at or before ``now`` (default: the present)."""
        moment = _wall_clock(now)
        # date <= today is implied by the OR; said on its own it bounds an index scan (PostgreSQL does not
        # derive it), so "latest started first" starts at today instead of walking the future.
        return self.filter(
            models.Q(date__lt=moment.date()) | models.Q(date=moment.date(), start_time__lte=moment.time()),
            date__lte=moment.date(),
        )


class ServiceType(models.Model):
    """What is delivered: PSR, TMS, therapy, evaluation. Admins manage the list in Django admin."""

    code = models.CharField(max_length=10, unique=True)
    name = models.CharField(max_length=100)
    billing_code = models.CharField(max_length=20, blank=True, help_text="e.g. CPT/HCPCS H2017, 90837")
    default_duration_minutes = models.PositiveIntegerField(
        default=60, validators=[MinValueValidator(5), MaxValueValidator(MAX_DURATION_MINUTES)]
    )
    unit_minutes = models.PositiveIntegerField(
        null=True, blank=True, help_text="For unit-billed services (e.g. 15). Blank: one unit per visit."
    )
    is_group = models.BooleanField(
        default=False,
        help_text="Group sessions (e.g. PSR): one clinician sees many patients at the same time.",
    )
    color = models.CharField(
        max_length=7, default="#1f5f8b", validators=[RegexValidator(r"^#[0-9a-fA-F]{6}$", "Use a colour like #1f5f8b.")]
    )
    requires_authorization = models.BooleanField(
        default=False,
        help_text="Payers authorize this service: warn when an appointment is not covered by an authorization.",
    )
    authorization_blocks_booking = models.BooleanField(
        default=False,
        help_text="Refuse (not just warn) bookings and attendance that no active authorization covers.",
    )
    default_group_capacity = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Group services: how many patients a group takes unless it says otherwise."
    )
    capacity_blocks_booking = models.BooleanField(
        default=False, help_text="Refuse (not just warn) enrolling or booking a group past its capacity."
    )
    is_active = models.BooleanField(default=True, help_text="Inactive types cannot be booked.")

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} – {self.name}"


class ClosedDay(models.Model):
    """A holiday or closure: nothing is booked on it; recurring dates move to the next open weekday."""

    date = models.DateField(unique=True)
    reason = models.CharField(max_length=100)

    class Meta:
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {self.reason}"


class AppointmentSeries(TimeStampedModel):
    """A recurring booking: the rule, plus the occurrences generated from it (Appointment.series)."""

    class Frequency(models.TextChoices):
        WEEKLY = "weekly", "Weekly"
        MONTHLY = "monthly", "Monthly"

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="appointment_series")
    service_type = models.ForeignKey(ServiceType, on_delete=models.PROTECT, related_name="+")
    clinician = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    start_date = models.DateField()
    start_time = models.TimeField()
    duration_minutes = models.PositiveIntegerField()
    frequency = models.CharField(max_length=10, choices=Frequency.choices)
    interval = models.PositiveSmallIntegerField(default=1)
    weekdays = models.CharField(max_length=30, blank=True, help_text="Comma-separated: mon,tue,wed,thu,fri")
    count = models.PositiveSmallIntegerField(null=True, blank=True)
    until = models.DateField(null=True, blank=True)
    skip_dates = models.JSONField(default=list, blank=True)
    split_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    cancelled_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")

    objects = ScheduleQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "appointment series"
        permissions = [("override_conflict", "Can book over a conflict, giving a reason")]

    def __str__(self) -> str:
        return f"{self.get_frequency_display()} {self.service_type.code} from {self.start_date:%Y-%m-%d}"

    @property
    def weekday_list(self) -> list[str]:
        return [day for day in self.weekdays.split(",") if day]


class CalendarEntry(TimeStampedModel):
    """A record the calendar shows on its ``date`` (an appointment, a group session). It remembers the date it
    was read with (``loaded_date``, not a field): a move to another day changes that day's cached rows too
    (``scheduling.signals``)."""

    loaded_date: datetime.date | None = None

    class Meta:
        abstract = True

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance.loaded_date = instance.__dict__.get("date")  # None when the date was deferred
        return instance


class Appointment(CalendarEntry):
    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        CONFIRMED = "confirmed", "Confirmed"
        CHECKED_IN = "checked_in", "Checked in"
        ATTENDED = "attended", "Attended"
        NO_SHOW = "no_show", "No-show"
        LATE_CANCEL = "late_cancel", "Late cancel"
        CANCELLED_BY_PATIENT = "cancelled_by_patient", "Cancelled by patient"
        CANCELLED_BY_CLINIC = "cancelled_by_clinic", "Cancelled by clinic"
        RESCHEDULED = "rescheduled", "Rescheduled"

    # Statuses that hold the slot: they conflict with other bookings.
    ACTIVE_STATUSES = (Status.SCHEDULED, Status.CONFIRMED, Status.CHECKED_IN, Status.ATTENDED)
    # Only for appointments that have started.
    OUTCOME_STATUSES = (Status.ATTENDED, Status.NO_SHOW, Status.LATE_CANCEL)
    CANCELLED_STATUSES = (Status.CANCELLED_BY_PATIENT, Status.CANCELLED_BY_CLINIC, Status.RESCHEDULED)
    # Still to happen or to be marked.
    OPEN_STATUSES = (Status.SCHEDULED, Status.CONFIRMED, Status.CHECKED_IN)

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="appointments")
    clinician = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="appointments"
    )
    service_type = models.ForeignKey(ServiceType, on_delete=models.PROTECT, related_name="appointments")
    date = models.DateField()
    start_time = models.TimeField()
    duration_minutes = models.PositiveIntegerField(
        validators=[MinValueValidator(5), MaxValueValidator(MAX_DURATION_MINUTES)]
    )
    # Derived from start and duration, stored so that overlap checks are one indexed query.
    end_time = models.TimeField(editable=False)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.SCHEDULED)
    notes = EncryptedTextField(blank=True)
    billing_code = models.CharField(max_length=20, blank=True)
    series = models.ForeignKey(
        AppointmentSeries, null=True, blank=True, on_delete=models.PROTECT, related_name="occurrences"
    )
    original_date = models.DateField(null=True, blank=True, help_text="The series date this occurrence moved from.")
    # Edited on its own: later edits of the series leave it as it is.
    is_exception = models.BooleanField(default=False)
    override_reason = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    # An attendee of a group session (groups app): what they attended, for billing per attendee.
    group_session = models.ForeignKey(
        "groups.GroupSession", null=True, blank=True, on_delete=models.PROTECT, related_name="attendees"
    )
    enrollment = models.ForeignKey(
        "groups.Enrollment", null=True, blank=True, on_delete=models.PROTECT, related_name="appointments"
    )
    time_in = models.TimeField(null=True, blank=True)
    time_out = models.TimeField(null=True, blank=True)
    units_attended = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Units from the minutes attended (group sessions); billed once signed."
    )
    progress_note = EncryptedTextField(blank=True)

    objects = AppointmentQuerySet.as_manager()

    class Meta:
        ordering = ["date", "start_time", "id"]
        indexes = [
            # The calendar's per-day counts by status (and recurring) read this index alone on PostgreSQL
            # (index-only scan; other databases ignore INCLUDE).
            models.Index(fields=["date", "status"], include=["series"], name="sched_appt_date_status_idx"),
            models.Index(fields=["patient", "date"], name="sched_appt_patient_date_idx"),
            # A day's page in time order: PostgreSQL reads the first rows by (date, start_time) and sorts only
            # within a start time (incremental sort) instead of joining and sorting the whole day.
            models.Index(fields=["date", "start_time"], name="sched_appt_date_start_idx"),
            models.Index(fields=["clinician", "date"], name="sched_appt_clinician_date_idx"),
            models.Index(fields=["series", "date"], name="sched_appt_series_date_idx"),
            # Appointments still open (to come, or past and not marked): a small part of the table. The
            # dashboard's "attendance to record" walks it backwards from today instead of every past day.
            models.Index(
                fields=["date", "start_time"],
                condition=models.Q(status__in=["scheduled", "confirmed", "checked_in"]),
                name="sched_appt_open_date_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(duration_minutes__gte=5) & models.Q(duration_minutes__lte=MAX_DURATION_MINUTES),
                name="sched_appt_duration_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service_type.code} {self.date:%Y-%m-%d} {self.start_time:%H:%M}"

    def get_absolute_url(self) -> str:
        return reverse("scheduling:day", kwargs={"day": self.date.isoformat()}) + f"#appointment-{self.pk}"

    @property
    def starts_at(self) -> datetime.datetime:
        """Naive clinic wall-clock start."""
        return datetime.datetime.combine(self.date, self.start_time)

    def has_started(self, now: datetime.datetime | None = None) -> bool:
        """Whether the appointment has started at ``now`` (default: the present); see AppointmentQuerySet."""
        return self.starts_at <= _wall_clock(now)

    @property
    def allowed_statuses(self) -> list[str]:
        return self.statuses_allowed_at(clinic_now())

    def statuses_allowed_at(self, now: datetime.datetime) -> list[str]:
        """Statuses this appointment may take at ``now``: outcomes only once it has started."""
        if self.has_started(now):
            return list(self.Status.values)
        return [status for status in self.Status.values if status not in self.OUTCOME_STATUSES]

    def compute_end_time(self) -> datetime.time:
        end = self.starts_at + datetime.timedelta(minutes=self.duration_minutes or 0)
        if end.date() != self.date:
            raise ValidationError({"duration_minutes": "The appointment must end on the day it starts."})
        return end.time()

    def save(self, *args, **kwargs) -> None:
        self.end_time = self.compute_end_time()
        super().save(*args, **kwargs)


class AppointmentStatusChange(models.Model):
    """Every status change, kept when it is corrected: who, when, from, to."""

    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="status_history")
    from_status = models.CharField(max_length=20, choices=Appointment.Status.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=Appointment.Status.choices)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    changed_at = models.DateTimeField(default=timezone.now)
    reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["changed_at", "id"]

    def __str__(self) -> str:
        return f"{self.from_status or '—'} → {self.to_status}"


register_audited(ServiceType)
register_audited(ClosedDay)
register_audited(AppointmentSeries, patient_field="patient", exclude_fields=["updated_at"])
register_audited(Appointment, patient_field="patient", exclude_fields=["updated_at", "end_time"])
