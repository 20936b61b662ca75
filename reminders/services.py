"""Reminders: deriving them from appointments, claiming due ones, sending each exactly once, links.

The sweep (``sweep``) is what Celery beat and ``manage.py send_reminders`` run:
1. derive: appointments starting within the largest offset get their reminder rows (unique per
   appointment, offset and start, so two sweeps at once create each row once); rows of appointments that
   were moved or cancelled are marked not needed;
2. claim: due rows are taken with ``SELECT … FOR UPDATE SKIP LOCKED`` and marked queued, so two sweeps
   never claim the same row;
3. dispatch: each claimed row is handed to ``deliver`` (a Celery task per reminder, or in-process).
``deliver`` locks the row again, checks at send time that the appointment still stands as it was, that the
patient consents to the channel and that quiet hours allow it, marks it sending (committed) and only then
sends. A worker that dies mid-send leaves the row "sending": it is marked failed, never sent again
(at most once). A transient failure (SMTP or provider down) puts it back with a doubling wait, up to
REMINDER_MAX_ATTEMPTS tries, then failed.
"""

import datetime
import logging
import smtplib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMessage
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from accounts import permissions
from accounts.models import User
from audit import services as audit
from consents import selectors as consents
from consents.models import Consent
from reminders import conf, content, sms, tokens
from reminders.models import Reminder, ReminderTemplate
from scheduling.models import Appointment, AppointmentStatusChange

logger = logging.getLogger(__name__)

Status = Reminder.Status
CONSENT_FOR_CHANNEL = {"email": Consent.Kind.REMINDERS_EMAIL, "sms": Consent.Kind.REMINDERS_SMS}


@dataclass
class SweepResult:
    created: int = 0
    cancelled: int = 0
    abandoned: int = 0
    claimed: list[int] = field(default_factory=list)


def starts_at(appointment: Appointment) -> datetime.datetime:
    """The appointment's start as an aware moment (appointments are stored on the clinic's wall clock)."""
    return conf.aware(datetime.datetime.combine(appointment.date, appointment.start_time))


def _reminder_due(channel: str, due: datetime.datetime) -> datetime.datetime:
    return conf.end_of_quiet_hours(due) if channel == Reminder.Channel.SMS else due


# --- 1. Deriving rows from appointments ---------------------------------------------------------------


def offsets_to_create(starts_wall: datetime.datetime, now: datetime.datetime) -> list[tuple[int, datetime.datetime]]:
    """(offset, send time) of the reminders an appointment starting at ``starts_wall`` should have at ``now``.

    Offsets still ahead, plus the most recent one already passed (booked late: it goes out at the next sweep);
    older passed offsets are dropped, so a patient booked an hour ahead gets one message, not two.
    """
    planned = [(offset, conf.send_time(starts_wall, offset)) for offset in conf.offsets_hours()]
    ahead = [(offset, due) for offset, due in planned if due > now]
    passed = [(offset, due) for offset, due in planned if due <= now]
    return ahead + ([min(passed)] if passed else [])


def derive_reminders(now: datetime.datetime) -> tuple[int, int]:
    """Create the missing reminder rows of appointments within the largest offset; mark moved or cancelled
    ones not needed. Reads only appointments of the coming days and waiting rows (both indexed), so its cost
    follows the schedule of the next days, not the size of the tables. Returns (created, cancelled)."""
    offsets = conf.offsets_hours()
    if not offsets:
        return 0, 0
    local_now = conf.wall_clock(now)
    horizon = local_now + datetime.timedelta(hours=max(offsets) + 1)
    wanted_statuses = conf.statuses()
    appointments = Appointment.objects.filter(
        date__gte=local_now.date(), date__lte=horizon.date(), status__in=wanted_statuses
    ).not_started(local_now)
    if conf.service_type_codes():
        appointments = appointments.filter(service_type__code__in=conf.service_type_codes())
    rows = list(
        appointments.exclude(patient__reminder_channel=Reminder.Channel.NONE)
        .filter(patient__is_active=True)
        .values_list("id", "date", "start_time", "patient__reminder_channel")
    )
    existing = set(
        Reminder.objects.filter(kind=Reminder.Kind.REMINDER, appointment_id__in=[row[0] for row in rows]).values_list(
            "appointment_id", "offset_hours", "appointment_starts_at"
        )
    )
    new = []
    for appointment_id, day, start_time, channel in rows:
        starts_wall = datetime.datetime.combine(day, start_time)
        starts = conf.aware(starts_wall)
        for offset, due in offsets_to_create(starts_wall, now):
            if (appointment_id, offset, starts) in existing:
                continue
            new.append(
                Reminder(
                    appointment_id=appointment_id,
                    kind=Reminder.Kind.REMINDER,
                    offset_hours=offset,
                    appointment_starts_at=starts,
                    due_at=_reminder_due(channel, due),
                    channel=channel,
                )  # fmt: skip
            )
    # ignore_conflicts: a concurrent sweep may have created the same rows (the unique constraint decides).
    created = len(Reminder.objects.bulk_create(new, ignore_conflicts=True)) if new else 0
    return created, _cancel_unneeded(now, horizon=conf.aware(horizon), statuses=wanted_statuses)


def _cancel_unneeded(now: datetime.datetime, *, horizon: datetime.datetime, statuses: list[str]) -> int:
    """Waiting reminders whose appointment was cancelled, attended or moved: marked not needed."""
    waiting = Reminder.objects.filter(
        status=Status.PENDING, kind=Reminder.Kind.REMINDER, due_at__lte=horizon
    ).values_list("id", "appointment_starts_at", "appointment__date", "appointment__start_time", "appointment__status")
    reasons: dict[str, list[int]] = {}
    for reminder_id, reminder_starts, day, start_time, status in waiting:
        if status not in statuses:
            reasons.setdefault(f"appointment {status.replace('_', ' ')}", []).append(reminder_id)
        elif conf.aware(datetime.datetime.combine(day, start_time)) != reminder_starts:
            reasons.setdefault("appointment moved", []).append(reminder_id)
    cancelled = 0
    for reason, ids in reasons.items():
        cancelled += Reminder.objects.filter(pk__in=ids, status=Status.PENDING).update(
            status=Status.CANCELLED, reason=reason, updated_at=now
        )
    return cancelled


# --- 2. Claiming due rows -------------------------------------------------------------------------------


def claim_due(now: datetime.datetime, *, limit: int | None = None) -> list[int]:
    """Mark due waiting reminders queued and return their ids; concurrent sweeps skip each other's rows."""
    stale = now - datetime.timedelta(minutes=settings.REMINDER_REQUEUE_AFTER_MINUTES)
    with transaction.atomic():
        ids = list(
            Reminder.objects.select_for_update(skip_locked=True)
            .filter(status__in=Reminder.WAITING_STATUSES, due_at__lte=now)
            .filter(Q(status=Status.PENDING) | Q(claimed_at__lt=stale))
            .order_by("due_at", "id")
            .values_list("id", flat=True)[: limit or settings.REMINDER_BATCH_SIZE]
        )
        if ids:
            Reminder.objects.filter(pk__in=ids).update(status=Status.QUEUED, claimed_at=now, updated_at=now)
    return ids


def abandon_interrupted(now: datetime.datetime) -> int:
    """Reminders left "sending" by a worker that died: failed, not sent again (it may have gone out)."""
    stale = now - datetime.timedelta(minutes=settings.REMINDER_REQUEUE_AFTER_MINUTES)
    return Reminder.objects.filter(status=Status.SENDING, claimed_at__lt=stale).update(
        status=Status.FAILED,
        reason="interrupted while sending; not retried, as it may have gone out",
        updated_at=now,
    )


def sweep(*, dispatch: Callable[[int], Any] | None = None, now: datetime.datetime | None = None) -> SweepResult:
    """One sweep: derive, claim and dispatch every due reminder (``dispatch`` defaults to sending in-process)."""
    now = now or timezone.now()
    result = SweepResult()
    result.created, result.cancelled = derive_reminders(now)
    result.abandoned = abandon_interrupted(now)
    send = dispatch or deliver
    while True:
        claimed = claim_due(now)
        result.claimed += claimed
        for reminder_id in claimed:
            send(reminder_id)
        if len(claimed) < settings.REMINDER_BATCH_SIZE or dispatch is not None:
            # Dispatched to workers: one batch per tick; the next tick takes the rest.
            break
    return result


# --- 3. Sending one ----------------------------------------------------------------------------------


class _NotSent(Exception):
    def __init__(self, status: str, reason: str, due_at: datetime.datetime | None = None) -> None:
        super().__init__(reason)
        self.status, self.reason, self.due_at = status, reason, due_at


@dataclass
class Outgoing:
    channel: str
    address: str
    message: content.Message


def link_for(reminder: Reminder) -> str:
    token = tokens.make_token(reminder.pk, reminder.link_nonce)
    return settings.SITE_URL + reverse("reminders:link", kwargs={"token": token})


def template_texts(purpose: str, channel: str) -> tuple[str, str]:
    """(subject, body) of the message: the administrators' version if saved, else the default."""
    saved = ReminderTemplate.objects.filter(purpose=purpose, channel=channel).first()
    if saved is not None:
        return saved.subject, saved.body
    return content.DEFAULTS[(purpose, channel)]


def _prepare(reminder: Reminder, now: datetime.datetime) -> Outgoing:
    """What to send, or _NotSent saying why not: the send-time checks."""
    appointment = reminder.appointment
    patient = appointment.patient
    is_notice = reminder.kind == Reminder.Kind.CANCELLATION
    if not is_notice:
        if appointment.status not in conf.statuses():
            raise _NotSent(Status.CANCELLED, f"appointment {appointment.status.replace('_', ' ')}")
        if starts_at(appointment) != reminder.appointment_starts_at:
            raise _NotSent(Status.CANCELLED, "appointment moved")
        if reminder.appointment_starts_at <= now:
            raise _NotSent(Status.CANCELLED, "appointment already started")
    if not patient.is_active:
        raise _NotSent(Status.CANCELLED, "patient deactivated")
    channel = patient.reminder_channel
    if channel not in CONSENT_FOR_CHANNEL:
        raise _NotSent(Status.OPTED_OUT, "no reminder channel chosen")
    if not consents.has_consent(patient.pk, CONSENT_FOR_CHANNEL[channel], conf.wall_clock(now).date()):
        raise _NotSent(Status.OPTED_OUT, f"no consent to reminders by {'email' if channel == 'email' else 'SMS'}")
    reminder.channel = channel
    if channel == Reminder.Channel.SMS and conf.in_quiet_hours(now):
        later = conf.end_of_quiet_hours(now)
        if is_notice or later < reminder.appointment_starts_at:
            raise _NotSent(Status.PENDING, "quiet hours", due_at=later)
        raise _NotSent(Status.CANCELLED, "quiet hours last until the appointment")
    if channel == Reminder.Channel.EMAIL:
        address = (patient.email or "").strip()
        try:
            validate_email(address)
        except ValidationError:
            raise _NotSent(Status.FAILED, "missing email address" if not address else "invalid email address") from None
    else:
        try:
            address = sms.normalise_phone(patient.phone)
        except ValueError:
            raise _NotSent(
                Status.FAILED, "missing phone number" if not patient.phone.strip() else "invalid phone number"
            ) from None
    purpose = "cancellation" if is_notice else "reminder"
    subject, body = template_texts(purpose, channel)
    context = content.context_for(
        starts=conf.wall_clock(reminder.appointment_starts_at), link="" if is_notice else link_for(reminder)
    )
    return Outgoing(channel=channel, address=address, message=content.render_message(subject, body, context))


class TransientDeliveryError(Exception):
    """The SMTP server or the SMS provider is down; the reminder waits and is tried again."""


def _transmit(outgoing: Outgoing) -> str:
    """Send; return the provider's message id. Raises TransientDeliveryError or _NotSent(failed/opted out)."""
    if outgoing.channel == Reminder.Channel.EMAIL:
        message = EmailMessage(
            subject=outgoing.message.subject, body=outgoing.message.body, to=[outgoing.address],
            from_email=settings.DEFAULT_FROM_EMAIL,
        )  # fmt: skip
        try:
            message.send()
        except smtplib.SMTPRecipientsRefused:
            raise _NotSent(Status.FAILED, "the mail server refused the address") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise TransientDeliveryError(f"mail server unavailable ({type(exc).__name__})") from None
        return ""
    try:
        return sms.get_backend().send(to=outgoing.address, body=outgoing.message.body)
    except sms.SmsError as exc:
        if exc.transient:
            raise TransientDeliveryError(exc.reason) from None
        raise _NotSent(Status.OPTED_OUT if exc.opted_out else Status.FAILED, exc.reason) from None


def deliver(reminder_id: int, *, now: datetime.datetime | None = None) -> str | None:
    """Send one claimed reminder at most once; return its new status (None if another worker has it or it
    is not queued)."""
    now = now or timezone.now()
    with transaction.atomic():
        reminder = (
            Reminder.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("appointment__patient")
            .filter(pk=reminder_id, status=Status.QUEUED)
            .first()
        )
        if reminder is None:
            return None
        try:
            outgoing = _prepare(reminder, now)
        except _NotSent as refusal:
            reminder.status, reminder.reason = refusal.status, refusal.reason
            if refusal.due_at is not None:
                reminder.due_at, reminder.claimed_at = refusal.due_at, None
            reminder.save(update_fields=["status", "reason", "due_at", "claimed_at", "channel", "updated_at"])
            return reminder.status
        reminder.status, reminder.attempts, reminder.claimed_at = Status.SENDING, reminder.attempts + 1, now
        reminder.save(update_fields=["status", "attempts", "claimed_at", "channel", "updated_at"])
    # Committed as "sending" before anything leaves: a crash from here on never sends it twice.
    update: dict[str, Any] = {}
    try:
        message_id = _transmit(outgoing)
    except TransientDeliveryError as exc:
        if reminder.attempts >= settings.REMINDER_MAX_ATTEMPTS:
            update = {"status": Status.FAILED, "reason": f"{exc}; gave up after {reminder.attempts} tries"}
        else:
            wait = settings.REMINDER_RETRY_BASE_SECONDS * 2 ** (reminder.attempts - 1)
            update = {
                "status": Status.PENDING,
                "reason": f"{exc}; try {reminder.attempts} of {settings.REMINDER_MAX_ATTEMPTS}",
                "due_at": timezone.now() + datetime.timedelta(seconds=wait), "claimed_at": None,
            }  # fmt: skip
    except _NotSent as refusal:
        update = {"status": refusal.status, "reason": refusal.reason}
    else:
        update = {"status": Status.SENT, "reason": "", "sent_at": timezone.now(), "provider_message_id": message_id}
    Reminder.objects.filter(pk=reminder.pk, status=Status.SENDING).update(updated_at=timezone.now(), **update)
    if update["status"] == Status.FAILED:
        logger.warning("Reminder %s failed: %s", reminder.pk, update["reason"])
    return update["status"]


# --- Delivery reports from the SMS provider -------------------------------------------------------------

PROVIDER_STATUSES = {"delivered": Status.DELIVERED, "undelivered": Status.UNDELIVERED, "failed": Status.UNDELIVERED}


def record_delivery_report(*, message_id: str, provider_status: str, error_code: str = "") -> bool:
    """Store what the provider reports about a sent SMS; False when the message is not ours."""
    status = PROVIDER_STATUSES.get(provider_status)
    if not message_id or status is None:
        return False
    reason = f"provider reports {provider_status}" + (f" (error {error_code})" if error_code else "")
    updated = Reminder.objects.filter(
        provider_message_id=message_id, status__in=[Status.SENT, Status.DELIVERED, Status.UNDELIVERED]
    ).update(status=status, reason="" if status == Status.DELIVERED else reason[:200], updated_at=timezone.now())
    return bool(updated)


# --- Resending, cancellation notices ---------------------------------------------------------------------


@transaction.atomic
def resend_reminder(*, actor: User, reminder: Reminder) -> Reminder:
    """Queue a fresh copy of ``reminder`` for the next sweep (the original keeps its result)."""
    if not permissions.can_manage_reminders(actor):
        raise PermissionDenied("Only administrators may resend reminders.")
    appointment = reminder.appointment
    if starts_at(appointment) <= timezone.now() or appointment.status not in conf.statuses():
        raise ValidationError("Only reminders of appointments still ahead (and not cancelled) can be resent.")
    copy = Reminder.objects.create(
        appointment=appointment, kind=Reminder.Kind.RESEND, offset_hours=0,
        appointment_starts_at=starts_at(appointment),
        due_at=timezone.now(), channel=appointment.patient.reminder_channel, requested_by=actor,
    )  # fmt: skip
    audit.record(
        event="reminders.reminder.resent", target=appointment, actor=actor, action=audit.Action.UPDATE,
        data={"reminder": reminder.pk, "copy": copy.pk},
    )  # fmt: skip
    return copy


def notify_cancellation(appointments: Iterable[Appointment]) -> int:
    """Queue a cancellation notice to each appointment's patient (sent by the next sweep to those who consent
    to reminders on their channel). Call it inside the transaction that cancels them: no notice if it rolls
    back. One notice per appointment and start, however often it is called. Returns the notices queued."""
    now = timezone.now()
    appointments = list(appointments)
    already = set(
        Reminder.objects.filter(
            kind=Reminder.Kind.CANCELLATION, appointment__in=[appointment.pk for appointment in appointments]
        ).values_list("appointment_id", "appointment_starts_at")
    )
    notices = [
        Reminder(
            appointment=appointment,
            kind=Reminder.Kind.CANCELLATION,
            offset_hours=0,
            appointment_starts_at=starts_at(appointment),
            due_at=now,
            channel=appointment.patient.reminder_channel,
        )  # fmt: skip
        for appointment in appointments
        if appointment.patient.reminder_channel != Reminder.Channel.NONE
        and starts_at(appointment) > now
        and (appointment.pk, starts_at(appointment)) not in already
    ]
    # ignore_conflicts: the unique constraint keeps one notice even if two callers race.
    return len(Reminder.objects.bulk_create(notices, ignore_conflicts=True)) if notices else 0


# --- Templates -----------------------------------------------------------------------------------------


@transaction.atomic
def save_template(*, actor: User, purpose: str, channel: str, subject: str, body: str) -> ReminderTemplate:
    """Save the text of a message after checking its placeholders (ValidationError names the unknown ones).

    Re-authentication (the mfa branch's ``requires_recent_authentication``) is checked by the view.
    """
    if not permissions.can_manage_reminders(actor):
        raise PermissionDenied("Only administrators may change reminder templates.")
    errors = {}
    for name, text in (("subject", subject), ("body", body)):
        try:
            content.compile_template(text)
        except ValidationError as exc:
            errors[name] = exc.messages
    if not body.strip():
        errors["body"] = ["The message cannot be empty."]
    if errors:
        raise ValidationError(errors)
    template, _ = ReminderTemplate.objects.get_or_create(
        purpose=purpose, channel=channel, defaults={"subject": subject, "body": body, "updated_by": actor}
    )
    template.subject, template.body, template.updated_by = subject, body, actor
    with audit.acting_as(actor):
        template.save()
    return template


# --- Confirm or cancel by link ----------------------------------------------------------------------------


class LinkProblem(Exception):
    """The link cannot be used: ``kind`` is "invalid", "expired" or "used"."""

    def __init__(self, kind: str, reminder: Reminder | None = None) -> None:
        super().__init__(kind)
        self.kind, self.reminder = kind, reminder


def read_link(token: str, *, now: datetime.datetime | None = None) -> Reminder:
    """The reminder a link is for, if it can still be used; LinkProblem otherwise."""
    now = now or timezone.now()
    try:
        reminder_id, nonce = tokens.read_token(token, max_age_seconds=settings.REMINDER_LINK_MAX_AGE_DAYS * 86400)
    except signing.SignatureExpired:
        raise LinkProblem("expired") from None
    except signing.BadSignature:
        raise LinkProblem("invalid") from None
    reminder = Reminder.objects.select_related("appointment__patient").filter(pk=reminder_id, link_nonce=nonce).first()
    if reminder is None:
        raise LinkProblem("invalid")
    appointment = reminder.appointment
    if reminder.link_used_at is not None:
        raise LinkProblem("used", reminder)
    if (
        starts_at(appointment) != reminder.appointment_starts_at
        or reminder.appointment_starts_at <= now
        or appointment.status not in (Appointment.Status.SCHEDULED, Appointment.Status.CONFIRMED)
    ):
        raise LinkProblem("expired", reminder)
    return reminder


def record_link_use(*, request: HttpRequest, reminder: Reminder | None, result: str) -> None:
    """Audit one use of a link (shown, confirmed, cancelled, refused) with its appointment and the client address."""
    from spectrum.net import client_ip

    audit.record(
        event=f"reminders.link.{result}",
        target=reminder.appointment if reminder is not None else None,
        target_model=Appointment,
        actor=None,
        data={"client_address": client_ip(request), **({"reminder": reminder.pk} if reminder else {})},
        request=request,
    )


def respond_by_link(*, request: HttpRequest, token: str, answer: str) -> Appointment:
    """The patient confirms or cancels through a reminder's link: once, before it expires, audited.

    A refused use is audited too (outside the refused change's transaction, so its entry stays).
    """
    if answer not in ("confirm", "cancel"):
        raise ValidationError("Choose confirm or cancel.")
    now = timezone.now()
    try:
        reminder = read_link(token, now=now)
    except LinkProblem as problem:
        record_link_use(request=request, reminder=problem.reminder, result=f"refused_{problem.kind}")
        raise
    with transaction.atomic():
        appointment = Appointment.objects.select_for_update().get(pk=reminder.appointment_id)
        # Single use, even with two clicks at once: only one UPDATE finds the link unused.
        used = not Reminder.objects.filter(pk=reminder.pk, link_used_at__isnull=True).update(link_used_at=now)
        if not used:
            previous = appointment.status
            if answer == "confirm":
                appointment.status = Appointment.Status.CONFIRMED
            elif starts_at(appointment) - now <= datetime.timedelta(hours=settings.REMINDER_LATE_CANCEL_HOURS):
                appointment.status = Appointment.Status.LATE_CANCEL
            else:
                appointment.status = Appointment.Status.CANCELLED_BY_PATIENT
            with audit.acting_as(None):
                appointment.save(update_fields=["status", "updated_at", "end_time"])
            AppointmentStatusChange.objects.create(
                appointment=appointment, from_status=previous, to_status=appointment.status, changed_by=None,
                reason="by the patient, through the reminder link",
            )  # fmt: skip
            record_link_use(
                request=request, reminder=reminder, result="confirmed" if answer == "confirm" else "cancelled"
            )
    if used:
        record_link_use(request=request, reminder=reminder, result="refused_used")
        raise LinkProblem("used", reminder)
    return appointment
