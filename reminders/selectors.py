"""Reads of reminders: the administrators' page, the appointment and patient pages, the dashboard."""

import datetime

from django.db.models import QuerySet
from django.utils import timezone

from accounts import permissions
from accounts.permissions import Actor
from consents.models import Consent
from patients.models import Patient
from reminders.models import Reminder

PAGE_ROWS = 50


def _visible(user: Actor) -> QuerySet[Reminder]:
    if not permissions.can_view_reminder_results(user):
        return Reminder.objects.none()
    queryset = Reminder.objects.select_related("appointment__patient")
    if not permissions.can_view_inactive_patients(user):
        queryset = queryset.filter(appointment__patient__is_active=True)
    return queryset


def upcoming_sends(user: Actor) -> QuerySet[Reminder]:
    """Reminders still to go out, soonest first (the partial index on the send time serves it)."""
    return _visible(user).filter(status__in=Reminder.WAITING_STATUSES).order_by("due_at", "id")[:PAGE_ROWS]


def recent_results(user: Actor) -> QuerySet[Reminder]:
    return (
        _visible(user)
        .filter(status__in=[Reminder.Status.SENT, Reminder.Status.DELIVERED, Reminder.Status.CANCELLED])
        .order_by("-updated_at", "-id")[:PAGE_ROWS]
    )


def failures(user: Actor, *, days: int = 14) -> QuerySet[Reminder]:
    """Failed and undelivered reminders of the last ``days`` days: the front desk fixes the address."""
    since = timezone.now() - datetime.timedelta(days=days)
    return (
        _visible(user)
        .filter(status__in=[Reminder.Status.FAILED, Reminder.Status.UNDELIVERED], updated_at__gte=since)
        .order_by("-updated_at", "-id")[:PAGE_ROWS]
    )


def opt_outs(user: Actor) -> QuerySet[Reminder]:
    return _visible(user).filter(status=Reminder.Status.OPTED_OUT).order_by("-updated_at", "-id")[:PAGE_ROWS]


def recent_reminder_consent_changes(user: Actor) -> QuerySet[Consent]:
    """Recent refusals and revocations of reminder consent (opting out)."""
    if not permissions.can_view_consents(user):
        return Consent.objects.none()
    return (
        Consent.objects.filter(
            kind__in=[Consent.Kind.REMINDERS_EMAIL, Consent.Kind.REMINDERS_SMS],
            status__in=[Consent.Status.REFUSED, Consent.Status.REVOKED],
        )
        .select_related("patient", "recorded_by")
        .order_by("-created_at", "-id")[:PAGE_ROWS]
    )


def for_patient(user: Actor, patient: Patient) -> QuerySet[Reminder]:
    """Delivery results of a patient's reminders, newest first."""
    return _visible(user).filter(appointment__patient=patient).order_by("-due_at", "-id")[:20]


def for_appointments(user: Actor, appointment_ids: list[int]) -> dict[int, list[Reminder]]:
    """Each appointment's reminders (for the day view's delivery results)."""
    found: dict[int, list[Reminder]] = {}
    for reminder in _visible(user).filter(appointment_id__in=appointment_ids).order_by("due_at", "id"):
        found.setdefault(reminder.appointment_id, []).append(reminder)
    return found
