"""Reminders derived from appointments, and the administrators' message templates.

A reminder row is one message for one appointment at one start time: the sweep creates them from the
appointments (so a booking never depends on the queue), claims the due ones by their send time (a partial
index: the sweep reads only rows that still wait), and each send moves the row through its statuses once.
"""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q

from audit.registry import register_audited
from spectrum.models import TimeStampedModel


def new_nonce() -> str:
    return secrets.token_urlsafe(16)


class Reminder(TimeStampedModel):
    class Kind(models.TextChoices):
        REMINDER = "reminder", "Reminder"
        RESEND = "resend", "Resent reminder"
        CANCELLATION = "cancellation", "Cancellation notice"

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        SMS = "sms", "SMS"
        NONE = "none", "None"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting"
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        DELIVERED = "delivered", "Delivered"
        UNDELIVERED = "undelivered", "Undelivered"
        FAILED = "failed", "Failed"
        OPTED_OUT = "opted_out", "Opted out"
        CANCELLED = "cancelled", "Not needed"

    # Still to be sent: the sweep reads only these (the partial index below).
    WAITING_STATUSES = (Status.PENDING, Status.QUEUED)
    FINAL_STATUSES = (
        Status.SENT, Status.DELIVERED, Status.UNDELIVERED, Status.FAILED, Status.OPTED_OUT, Status.CANCELLED,
    )  # fmt: skip

    appointment = models.ForeignKey("scheduling.Appointment", on_delete=models.PROTECT, related_name="reminders")
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.REMINDER)
    offset_hours = models.PositiveIntegerField(default=0)
    # The appointment's start (aware) this reminder is for: a moved appointment gets new rows, and the old
    # ones are not sent.
    appointment_starts_at = models.DateTimeField()
    # When to act next: the send time, later the next try after a transient failure.
    due_at = models.DateTimeField()
    channel = models.CharField(max_length=5, choices=Channel.choices)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # Why it failed, was not sent or was not delivered: no PHI (never the address or the message).
    reason = models.CharField(max_length=200, blank=True)
    provider_message_id = models.CharField(max_length=64, blank=True)
    # The confirm/cancel link: signed with this nonce, single use (link_used_at).
    link_nonce = models.CharField(max_length=32, default=new_nonce, editable=False)
    link_used_at = models.DateTimeField(null=True, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [
            models.Index(fields=["due_at"], condition=Q(status__in=["pending", "queued"]), name="reminder_waiting_idx"),
            models.Index(fields=["appointment", "kind"], name="reminder_appointment_idx"),
            models.Index(fields=["status", "-updated_at"], name="reminder_status_idx"),
            models.Index(fields=["provider_message_id"], condition=~Q(provider_message_id=""), name="reminder_sid_idx"),
        ]
        constraints = [
            # Exactly once: one reminder per appointment, offset and start, whoever derives it.
            models.UniqueConstraint(
                fields=["appointment", "offset_hours", "appointment_starts_at"],
                condition=Q(kind="reminder"),
                name="reminder_once_per_offset_and_start",
            ),
            models.UniqueConstraint(
                fields=["appointment", "appointment_starts_at"],
                condition=Q(kind="cancellation"),
                name="reminder_one_cancellation_notice",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.offset_hours}h ({self.get_status_display()})"


class ReminderTemplate(TimeStampedModel):
    """The text of a message, editable by administrators; placeholders are limited to an allowed list."""

    class Purpose(models.TextChoices):
        REMINDER = "reminder", "Reminder"
        CANCELLATION = "cancellation", "Cancellation notice"

    purpose = models.CharField(max_length=12, choices=Purpose.choices)
    channel = models.CharField(max_length=5, choices=[("email", "Email"), ("sms", "SMS")])
    subject = models.CharField(max_length=200, blank=True, help_text="Email only.")
    body = models.TextField()
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["purpose", "channel"]
        constraints = [models.UniqueConstraint(fields=["purpose", "channel"], name="reminder_template_unique")]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} ({self.get_channel_display()})"


register_audited(ReminderTemplate, exclude_fields=["updated_at"])
