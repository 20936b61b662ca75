"""Celery tasks (the app itself, beat's schedule and the workers are set up in spectrum/celery.py).

Agreed names: ``reminders.tasks.send_due_reminders`` (the sweep, scheduled by beat every minute) and
``reminders.tasks.send_reminder`` (one reminder). Both are idempotent: the rows' statuses and locks decide
what is sent (reminders/services.py), so a duplicated beat tick, a redelivered message (acks_late) or two
workers on one reminder send it once. Transient SMTP/provider failures are retried by the row itself (its
next try time, doubling, REMINDER_MAX_ATTEMPTS), which survives a lost broker; Celery's own retry covers
the database being briefly unreachable.
"""

from celery import shared_task
from django.db import DatabaseError

from operations.queue import SpectrumTask
from reminders import services

# Spectrum's task base (late acknowledgement, bounded backoff, failures recorded and counted), retrying only
# a database outage: SMTP and SMS failures are retried by the reminder row itself.
RETRY = {"base": SpectrumTask, "autoretry_for": (DatabaseError,)}


@shared_task(name="reminders.tasks.send_due_reminders", **RETRY)
def send_due_reminders() -> dict[str, int]:
    """One sweep: derive reminder rows, claim the due ones, hand each to ``send_reminder``."""
    result = services.sweep(dispatch=lambda reminder_id: send_reminder.delay(reminder_id))
    return {"created": result.created, "cancelled": result.cancelled, "queued": len(result.claimed)}


@shared_task(name="reminders.tasks.send_reminder", **RETRY)
def send_reminder(reminder_id: int) -> str | None:
    """Send one claimed reminder (a no-op if another worker has it or it is done)."""
    return services.deliver(reminder_id)
