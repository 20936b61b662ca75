"""Booking, recurring series, attendance and cancellation: one path for pages, the API and admin.

Every write locks the patient's row (and the clinician's) before checking for conflicts, so two
simultaneous requests for the same slot are serialised and the second sees the first: on PostgreSQL
through SELECT … FOR UPDATE, on SQLite because write transactions are serialised (IMMEDIATE mode).
"""

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts import permissions
from accounts.models import User
from audit import events as audit_events
from audit import services as audit
from authorizations import services as authorization_rules
from patients.models import Patient
from scheduling import recurrence
from scheduling.models import (
    Appointment,
    AppointmentSeries,
    AppointmentStatusChange,
    ClosedDay,
    ServiceType,
    clinic_now,
)
from spectrum import validation
from spectrum.clinic import clinic_hours
from spectrum.exceptions import ConflictError, DomainError

Status = Appointment.Status
SCOPES = ("this", "following", "all")
# What a scoped edit of a series may change (a date change applies to one occurrence only).
SERIES_FIELDS = ("start_time", "duration_minutes", "clinician", "service_type", "notes")
# Changes that alter what an appointment uses of an authorization: checked again as a booking is.
AUTHORIZATION_FIELDS = ("date", "duration_minutes", "service_type", "patient")


class SchedulingConflict(ConflictError):
    """Booking would overlap another active appointment of the patient or the clinician."""

    def __init__(self, conflicts: list["Conflict"]) -> None:
        first = conflicts[0]
        super().__init__(
            f"{first.describe()} Give a reason to book anyway, or choose another time.",
            extra={
                "conflicts": [conflict.as_dict() for conflict in conflicts],
                "conflicting_appointment": first.appointment.pk,
            },
        )
        self.conflicts = conflicts


@dataclass
class Conflict:
    appointment: Appointment
    reason: str  # "patient" | "clinician"
    date: datetime.date

    def describe(self) -> str:
        other = self.appointment
        who = "The patient" if self.reason == "patient" else "The clinician"
        return (
            f"{who} already has appointment #{other.pk} ({other.service_type.code}) on {other.date:%m/%d/%Y} "
            f"from {other.start_time:%I:%M %p} to {other.end_time:%I:%M %p}."
        )

    def as_dict(self) -> dict[str, Any]:
        return {"date": self.date.isoformat(), "appointment": self.appointment.pk, "reason": self.reason}


@dataclass
class Slot:
    """One proposed booking, for conflict checks."""

    date: datetime.date
    start_time: datetime.time
    duration_minutes: int

    @property
    def end_time(self) -> datetime.time:
        return (
            datetime.datetime.combine(self.date, self.start_time) + datetime.timedelta(minutes=self.duration_minutes)
        ).time()


# --- Rules -------------------------------------------------------------------------------------------


def start_times() -> list[datetime.time]:
    """Every bookable start time: the slot grid within clinic hours."""
    hours = clinic_hours()
    opens, closes = hours.start, hours.end
    step = datetime.timedelta(minutes=settings.APPOINTMENT_SLOT_MINUTES)
    moment = datetime.datetime.combine(datetime.date.min, opens)
    end = datetime.datetime.combine(datetime.date.min, closes)
    times = []
    while moment < end:
        times.append(moment.time())
        moment += step
    return times


def closed_days_between(first: datetime.date, last: datetime.date) -> dict[datetime.date, str]:
    return dict(ClosedDay.objects.filter(date__range=(first, last)).values_list("date", "reason"))


def check_slot_rules(slot: Slot, *, closed: dict[datetime.date, str] | None = None) -> None:
    """Clinic days, hours and the slot grid. Raises ValidationError with field messages."""
    errors: dict[str, list[str]] = {}
    hours = clinic_hours()
    opens, closes = hours.start, hours.end
    minutes = slot.start_time.hour * 60 + slot.start_time.minute
    if slot.start_time.second or minutes % settings.APPOINTMENT_SLOT_MINUTES:
        errors["start_time"] = [
            f"Start times are on a {settings.APPOINTMENT_SLOT_MINUTES}-minute grid (e.g. 10:00, 10:15)."
        ]
    elif not opens <= slot.start_time < closes:
        errors["start_time"] = [f"The clinic is open {opens:%I:%M %p} to {closes:%I:%M %p}."]
    elif datetime.datetime.combine(slot.date, slot.start_time) + datetime.timedelta(
        minutes=slot.duration_minutes
    ) > datetime.datetime.combine(slot.date, closes):
        errors["duration_minutes"] = [f"The appointment would end after closing time ({closes:%I:%M %p})."]
    closed = closed if closed is not None else closed_days_between(slot.date, slot.date)
    if message := _outside_booking_range(slot.date):
        errors["date"] = [message]
    elif slot.date in closed:
        errors["date"] = [f"The clinic is closed on {slot.date:%m/%d/%Y} ({closed[slot.date]})."]
    elif not hours.is_workday(slot.date):
        errors["date"] = [f"The clinic is closed on {slot.date:%A}s."]
    if not 5 <= slot.duration_minutes <= 8 * 60:
        errors["duration_minutes"] = ["A duration is 5 minutes to 8 hours."]
    if errors:
        raise ValidationError(errors)


def find_conflicts(
    *,
    patient: Patient,
    clinician: User | None,
    service_type: ServiceType,
    slots: Iterable[Slot],
    exclude: Iterable[int] = (),
) -> list[Conflict]:
    """Active appointments that overlap the slots: the patient's, and the clinician's.

    A clinician may run one group session (e.g. PSR) for many patients at once: appointments of the
    same group service do not conflict with each other for the clinician. One query for all slots.
    """
    slots = list(slots)
    if not slots:
        return []
    dates = {slot.date for slot in slots}
    who = Q(patient=patient)
    if clinician is not None:
        who |= Q(clinician=clinician)
    candidates = (
        Appointment.objects.filter(who, date__in=dates, status__in=Appointment.ACTIVE_STATUSES)
        .exclude(pk__in=list(exclude))
        .select_related("service_type")
    )
    by_date: dict[datetime.date, list[Appointment]] = {}
    for other in candidates:
        by_date.setdefault(other.date, []).append(other)
    conflicts = []
    for slot in slots:
        for other in by_date.get(slot.date, []):
            if not (other.start_time < slot.end_time and slot.start_time < other.end_time):
                continue
            if other.patient_id == patient.pk:
                conflicts.append(Conflict(other, "patient", slot.date))
            elif not (service_type.is_group and other.service_type_id == service_type.pk):
                conflicts.append(Conflict(other, "clinician", slot.date))
    return conflicts


def _lock(patient: Patient, clinician: User | None) -> None:
    """Serialise bookings for this patient and clinician until the transaction ends."""
    Patient.objects.select_for_update().filter(pk=patient.pk).exists()
    if clinician is not None:
        User.objects.select_for_update().filter(pk=clinician.pk).exists()


def _resolve_conflicts(actor: User, conflicts: list[Conflict], override_reason: str) -> str:
    """Raise unless an allowed user gave a reason; returns the reason to record."""
    if not conflicts:
        return ""
    if not override_reason.strip():
        raise SchedulingConflict(conflicts)
    if not permissions.can_override_conflicts(actor):
        raise PermissionDenied("Your role may not book over a conflict.")
    return override_reason.strip()[:300]


def _refuse_unwritable(actor: User, changed: Iterable[str]) -> None:
    """Clinical text (notes) is set only by the roles that may write it (accounts.permissions)."""
    refused = sorted(set(changed) & permissions.unwritable_fields(actor, Appointment))
    if refused:
        raise ValidationError({name: ["Your role may not set this field."] for name in refused})


def _check_bookable(actor: User, patient: Patient, service_type: ServiceType, clinician: User | None) -> None:
    if not permissions.can_book_appointments(actor):
        raise PermissionDenied("Your role may not book appointments.")
    errors = {}
    if not patient.is_active:
        errors["patient"] = ["This patient is deactivated."]
    if not service_type.is_active:
        errors["service_type"] = [f"{service_type.name} is no longer offered and cannot be booked."]
    if clinician is not None and not permissions.is_bookable_clinician(clinician):
        errors["clinician"] = ["Choose an active clinician."]
    if errors:
        raise ValidationError(errors)


def status_change(
    appointment: Appointment, *, from_status: str, actor: User, reason: str = "", at: datetime.datetime | None = None
) -> AppointmentStatusChange:
    """The (unsaved) history row of ``appointment``'s move from ``from_status`` to its current status."""
    return AppointmentStatusChange(
        appointment=appointment, from_status=from_status, to_status=appointment.status, changed_by=actor,
        changed_at=at or timezone.now(), reason=reason,
    )  # fmt: skip


def _record_status(appointment: Appointment, *, from_status: str, actor: User, reason: str = "") -> None:
    status_change(appointment, from_status=from_status, actor=actor, reason=reason).save()


# --- Single appointments -------------------------------------------------------------------------------


@transaction.atomic
def book_appointment(
    *,
    actor: User,
    patient: Patient,
    service_type: ServiceType,
    date: datetime.date,
    start_time: datetime.time,
    duration_minutes: int | None = None,
    clinician: User | None = None,
    notes: str = "",
    override_reason: str = "",
) -> Appointment:
    """Book one appointment after the clinic rules and the conflict check (409 unless overridden with a reason)."""
    _check_bookable(actor, patient, service_type, clinician)
    _refuse_unwritable(actor, ["notes"] if notes else [])
    slot = Slot(date, start_time, duration_minutes or service_type.default_duration_minutes)
    check_slot_rules(slot)
    _lock(patient, clinician)
    reason = _resolve_conflicts(
        actor,
        find_conflicts(patient=patient, clinician=clinician, service_type=service_type, slots=[slot]),
        override_reason,
    )
    warnings = authorization_rules.warnings_for_booking(
        patient=patient, service_type=service_type, dates=[date], duration_minutes=slot.duration_minutes
    )[date]
    authorization_rules.enforce(service_type, warnings)
    appointment = Appointment(
        patient=patient, clinician=clinician, service_type=service_type, date=date, start_time=start_time,
        duration_minutes=slot.duration_minutes, notes=notes, billing_code=service_type.billing_code,
        override_reason=reason, created_by=actor, updated_by=actor,
    )  # fmt: skip
    with audit.acting_as(actor):
        appointment.save()
    _record_status(appointment, from_status="", actor=actor, reason=reason)
    appointment.authorization_warnings = warnings
    return appointment


@transaction.atomic
def set_status(*, actor: User, appointment: Appointment, status: str, reason: str = "") -> Appointment:
    """Change (or correct) an appointment's status; every change is kept in its history.

    Attended, no-show and late cancel are only for appointments that have started. Reopening a
    cancelled appointment (back to scheduled) is a booking again: conflicts and authorizations are checked.
    """
    if not permissions.can_change_appointments(actor):
        raise PermissionDenied("Your role may not change appointments.")
    if status not in Status.values:
        raise ValidationError({"status": [f"Choose one of: {', '.join(Status.values)}."]})
    if status == appointment.status:
        return appointment
    if status not in appointment.allowed_statuses:
        raise ValidationError(
            {"status": [f"“{Status(status).label}” can only be recorded once the appointment has started."]}
        )
    if status in Appointment.ACTIVE_STATUSES and appointment.status not in Appointment.ACTIVE_STATUSES:
        _lock(appointment.patient, appointment.clinician)
        conflicts = find_conflicts(
            patient=appointment.patient, clinician=appointment.clinician, service_type=appointment.service_type,
            slots=[Slot(appointment.date, appointment.start_time, appointment.duration_minutes)],
            exclude=[appointment.pk],
        )  # fmt: skip
        if conflicts:
            raise SchedulingConflict(conflicts)
    reopening_warnings = []
    if status in Appointment.OPEN_STATUSES and appointment.status not in Appointment.ACTIVE_STATUSES:
        reopening_warnings = authorization_rules.warnings_for_booking(
            patient=appointment.patient, service_type=appointment.service_type, dates=[appointment.date],
            duration_minutes=appointment.duration_minutes,
        )[appointment.date]  # fmt: skip
        authorization_rules.enforce(appointment.service_type, reopening_warnings)
    previous = appointment.status
    appointment.status = status
    appointment.updated_by = actor
    with audit.acting_as(actor):
        appointment.save(update_fields=["status", "updated_by", "updated_at", "end_time"])
    _record_status(appointment, from_status=previous, actor=actor, reason=reason)
    # Attendance is a fact and is always recorded; authorization problems are reported, never refused.
    appointment.authorization_warnings = (
        authorization_rules.warnings_for_attendance(appointment)
        if status in Appointment.OUTCOME_STATUSES
        else reopening_warnings
    )
    return appointment


def _apply(appointment: Appointment, changes: dict[str, Any], actor: User) -> None:
    for field, value in changes.items():
        setattr(appointment, field, value)
    appointment.updated_by = actor
    with audit.acting_as(actor):
        appointment.save()


@transaction.atomic
def update_appointment(
    *,
    actor: User,
    appointment: Appointment,
    changes: dict[str, Any],
    scope: str = "this",
    override_reason: str = "",
) -> list[Appointment]:
    """Change an appointment; for a series occurrence, ``scope`` is this | following | all.

    - this: only this occurrence (it keeps its changes when the series is edited later);
    - following: this and later occurrences move to a new series (the old one ends before it);
    - all: every future occurrence of the series that was not edited on its own.
    Past occurrences and their attendance are never changed by a series edit. Returns the changed appointments.
    """
    if not permissions.can_change_appointments(actor):
        raise PermissionDenied("Your role may not change appointments.")
    if scope not in SCOPES:
        raise ValidationError({"scope": ["Choose this, following or all."]})
    changes = {field: value for field, value in changes.items() if getattr(appointment, field) != value}
    if "status" in changes:
        raise ValidationError({"status": ["Change the status on its own (attendance)."]})
    if not changes:
        appointment.authorization_warnings = []
        return [appointment]
    _refuse_unwritable(actor, changes)
    if appointment.series_id is None or scope == "this":
        targets = [appointment]
    else:
        if "date" in changes or "patient" in changes:
            raise ValidationError({"date": ["Move a single occurrence (scope this) to change its date."]})
        unknown = set(changes) - set(SERIES_FIELDS)
        if unknown:
            raise ValidationError({field: ["This cannot be changed for several occurrences."] for field in unknown})
        # Only occurrences that have not started: the past and today's earlier sessions (attended or
        # not) keep what happened. The chosen occurrence is included if it has not started itself.
        now = clinic_now()
        occurrences = appointment.series.occurrences.not_started(now)
        if scope == "following":
            occurrences = occurrences.filter(date__gte=appointment.date)
        targets = list(
            occurrences.filter(Q(is_exception=False) | Q(pk=appointment.pk))
            .exclude(status__in=Appointment.CANCELLED_STATUSES)
            .select_related("patient", "service_type", "clinician")
            .order_by("date", "start_time", "id")
        )
        if not targets:
            raise ValidationError({"scope": ["Every occurrence in this scope has started: edit one on its own."]})
    service_type = changes.get("service_type", appointment.service_type)
    clinician = changes.get("clinician", appointment.clinician)
    if "service_type" in changes and not service_type.is_active:
        raise ValidationError({"service_type": [f"{service_type.name} is no longer offered and cannot be booked."]})
    slots = []
    closed = closed_days_between(
        min(t.date for t in targets), max(t.date for t in targets) + datetime.timedelta(days=60)
    )
    for target in targets:
        slot = Slot(
            changes.get("date", target.date),
            changes.get("start_time", target.start_time),
            changes.get("duration_minutes", target.duration_minutes),
        )
        check_slot_rules(slot, closed=closed)
        slots.append(slot)
    _lock(appointment.patient, clinician)
    conflicts = find_conflicts(
        patient=appointment.patient, clinician=clinician, service_type=service_type, slots=slots,
        exclude=[target.pk for target in targets],
    )  # fmt: skip
    reason = _resolve_conflicts(actor, conflicts, override_reason)
    warnings = _authorization_warnings_for_edit(targets, changes, service_type)
    authorization_rules.enforce(service_type, [warning for found in warnings.values() for warning in found])
    if scope == "following" and appointment.series_id is not None:
        _split_series(actor=actor, series=appointment.series, first=targets[0], targets=targets, changes=changes)
    for target in targets:
        target_changes = dict(changes)
        if "date" in changes and target.series_id and target.original_date is None:
            target_changes["original_date"] = target.date
        if target.series_id and scope == "this":
            target_changes["is_exception"] = True
        if reason:
            target_changes["override_reason"] = reason
        _apply(target, target_changes, actor)
        target.authorization_warnings = warnings.get(target.pk, [])
    return targets


def _authorization_warnings_for_edit(
    targets: list[Appointment], changes: dict[str, Any], service_type: ServiceType
) -> dict[int, list]:
    """The authorization warnings booking would give for the edited appointments, per appointment id.

    Only a change of what is billed (date, length, service, patient) of appointments still to happen
    is checked; their current units stop counting, as the edit replaces them.
    """
    if not set(changes) & set(AUTHORIZATION_FIELDS):
        return {}
    to_happen = [target for target in targets if target.status in Appointment.OPEN_STATUSES]
    if not to_happen:
        return {}
    new_date = {target.pk: changes.get("date", target.date) for target in to_happen}
    by_date = authorization_rules.warnings_for_booking(
        patient=changes.get("patient", to_happen[0].patient), service_type=service_type,
        dates=sorted(set(new_date.values())),
        duration_minutes={
            new_date[target.pk]: changes.get("duration_minutes", target.duration_minutes) for target in to_happen
        },
        exclude=[target.pk for target in to_happen],
    )  # fmt: skip
    return {target.pk: by_date[new_date[target.pk]] for target in to_happen}


def _split_series(
    *, actor: User, series: AppointmentSeries, first: Appointment, targets: list[Appointment], changes: dict
) -> None:
    """End ``series`` before ``first`` (an occurrence that has not started) and move it and the later
    occurrences to a new series; whatever has started stays with the old one."""
    new_series = AppointmentSeries.objects.get(pk=series.pk)
    new_series.pk = None
    new_series.split_from = series
    new_series.start_date = first.original_date or first.date
    new_series.count = None
    new_series.until = series.until or max(target.date for target in targets)
    new_series.created_by = new_series.updated_by = actor
    for field in ("start_time", "duration_minutes", "clinician", "service_type"):
        if field in changes:
            setattr(new_series, field, changes[field])
    with audit.acting_as(actor):
        new_series.save()
        later = series.occurrences.not_started().filter(date__gte=first.date)
        for occurrence in later:
            occurrence.series = new_series
            occurrence.save(update_fields=["series", "updated_at", "end_time"])
        series.until = first.date - datetime.timedelta(days=1)
        series.count = None
        series.updated_by = actor
        series.save(update_fields=["until", "count", "updated_by", "updated_at"])
    for target in targets:
        target.series = new_series


# --- Series ----------------------------------------------------------------------------------------------


def warnings_before_booking(
    *, patient: Patient, service_type: ServiceType, date: datetime.date, duration_minutes: int | None = None
) -> list:
    """The authorization warnings booking this one appointment would give, before anything is saved."""
    duration = duration_minutes or service_type.default_duration_minutes
    return authorization_rules.warnings_for_booking(
        patient=patient, service_type=service_type, dates=[date], duration_minutes=duration
    )[date]


@dataclass
class SeriesRequest:
    patient: Patient
    service_type: ServiceType
    start_date: datetime.date
    start_time: datetime.time
    frequency: str
    clinician: User | None = None
    duration_minutes: int | None = None
    interval: int = 1
    weekdays: tuple[str, ...] = ()
    count: int | None = None
    until: datetime.date | None = None
    skip_dates: tuple[datetime.date, ...] = ()
    notes: str = ""

    @property
    def rule(self) -> recurrence.Rule:
        return recurrence.Rule(
            frequency=self.frequency, start_date=self.start_date, interval=self.interval,
            weekdays=tuple(self.weekdays), count=self.count, until=self.until,
        )  # fmt: skip

    @property
    def duration(self) -> int:
        return self.duration_minutes or self.service_type.default_duration_minutes


def _outside_booking_range(day: datetime.date) -> str:
    """Why ``day`` cannot be booked at all (too far in the past or future), or ''."""
    first, last = validation.appointment_date_range()
    if first <= day <= last:
        return ""
    return f"Appointments are booked between {first:%m/%d/%Y} and {last:%m/%d/%Y}."


def preview_series(request: SeriesRequest) -> list[recurrence.Occurrence]:
    """Every date the series would book, with moves, skips and conflicts; nothing is saved."""
    errors = {
        name: [message]
        for name, day in (("start_date", request.start_date), ("until", request.until))
        if day is not None and (message := _outside_booking_range(day))
    }
    if errors:
        raise ValidationError(errors)
    rule = request.rule
    rule.validate()
    last = request.until or request.start_date + recurrence.MAX_SPAN
    closed = closed_days_between(request.start_date, last + datetime.timedelta(days=60))
    dates = recurrence.occurrences(rule, closed_days=set(closed), skip_dates=set(request.skip_dates))
    check_slot_rules(Slot(dates[0].date, request.start_time, request.duration), closed=closed)
    slots = {occ.date: Slot(occ.date, request.start_time, request.duration) for occ in dates if not occ.skipped}
    for conflict in find_conflicts(
        patient=request.patient, clinician=request.clinician, service_type=request.service_type, slots=slots.values()
    ):
        next(occ for occ in dates if occ.date == conflict.date).conflicts.append(conflict)
    warnings = authorization_rules.warnings_for_booking(
        patient=request.patient, service_type=request.service_type, dates=list(slots), duration_minutes=request.duration
    )
    for occ in dates:
        occ.warnings = [] if occ.collided else warnings.get(occ.date, [])
    return dates


@transaction.atomic
def create_series(*, actor: User, request: SeriesRequest, override_reason: str = "") -> AppointmentSeries:
    """Create the series and all its occurrences, or nothing (one transaction).

    Conflicting dates must be skipped, or booked over with a reason by a role that may.
    """
    _check_bookable(actor, request.patient, request.service_type, request.clinician)
    _refuse_unwritable(actor, ["notes"] if request.notes else [])
    _lock(request.patient, request.clinician)
    dates = preview_series(request)
    conflicts = [conflict for occ in dates if not occ.skipped for conflict in occ.conflicts]
    reason = _resolve_conflicts(actor, conflicts, override_reason)
    booked = [occ for occ in dates if not occ.skipped]
    if not booked:
        raise ValidationError({"skip_dates": ["Every date is skipped: nothing to book."]})
    warnings = [warning for occ in booked for warning in occ.warnings]
    authorization_rules.enforce(request.service_type, warnings)
    series = AppointmentSeries(
        patient=request.patient, service_type=request.service_type, clinician=request.clinician,
        start_date=request.start_date, start_time=request.start_time, duration_minutes=request.duration,
        frequency=request.frequency, interval=request.interval, weekdays=",".join(request.weekdays),
        count=request.count, until=request.until, skip_dates=[day.isoformat() for day in request.skip_dates],
        created_by=actor, updated_by=actor,
    )  # fmt: skip
    # What was asked against what is booked: skipped dates and holiday collisions are reported, never lost.
    series.asked_count = len(dates)
    series.booked_count = len(booked)
    series.collisions = [occ for occ in dates if occ.collided]
    with audit.acting_as(actor):
        series.save()
        series.authorization_warnings = warnings
        for occ in booked:
            appointment = Appointment(
                patient=request.patient, clinician=request.clinician, service_type=request.service_type,
                date=occ.date, start_time=request.start_time, duration_minutes=request.duration,
                notes=request.notes, billing_code=request.service_type.billing_code, series=series,
                original_date=occ.moved_from, override_reason=reason if occ.conflicts else "",
                created_by=actor, updated_by=actor,
            )  # fmt: skip
            appointment.save()
            _record_status(appointment, from_status="", actor=actor, reason=appointment.override_reason)
    return series


def future_occurrences(series: AppointmentSeries):
    """The occurrences "Cancel future appointments" would cancel: not started and still open."""
    return series.occurrences.not_started().filter(status__in=Appointment.OPEN_STATUSES).order_by("date", "start_time")


@transaction.atomic
def cancel_series(*, actor: User, series: AppointmentSeries, by_patient: bool = False, reason: str) -> int:
    """Cancel the series' future occurrences (not started, still open); the past and attendance stay.
    A reason is required (it is kept in each occurrence's status history).

    Nothing is deleted. Returns how many occurrences were cancelled.
    """
    if not permissions.can_change_series(actor):
        raise PermissionDenied("Your role may not cancel series.")
    if series.cancelled_at:
        raise DomainError("This series is already cancelled.")
    if not reason.strip():
        raise ValidationError({"reason": ["Give a reason for cancelling the future appointments."]})
    status = Status.CANCELLED_BY_PATIENT if by_patient else Status.CANCELLED_BY_CLINIC
    future = list(future_occurrences(series).select_for_update())
    with audit.acting_as(actor):
        for occurrence in future:
            previous = occurrence.status
            occurrence.status = status
            occurrence.updated_by = actor
            occurrence.save(update_fields=["status", "updated_by", "updated_at", "end_time"])
            _record_status(occurrence, from_status=previous, actor=actor, reason=reason)
        series.cancelled_at = timezone.now()
        series.updated_by = actor
        series.save(update_fields=["cancelled_at", "updated_by", "updated_at"])
    return len(future)


# --- Closed days -------------------------------------------------------------------------------------------


@transaction.atomic
def cancel_for_closed_day(closed_day: ClosedDay, *, by: User, reason: str = "") -> list[Appointment]:
    """Cancel, as cancelled by the clinic, every appointment still open on ``closed_day``; one audit entry per
    appointment (its status change) and one for the closure. Returns the cancelled appointments.

    The one place a closure cancels things: its group sessions and the patients' cancellation notices too.
    """
    if not permissions.can_manage_closed_days(by):
        raise PermissionDenied("Your role may not close the clinic.")
    reason = reason or f"Clinic closed: {closed_day.reason}"
    appointments = list(
        Appointment.objects.select_for_update(of=("self",))  # the clinician is an outer join: lock the rows only
        .filter(date=closed_day.date, status__in=Appointment.OPEN_STATUSES)
        .select_related("patient", "service_type", "clinician")
        .order_by("start_time", "id")
    )
    with audit.acting_as(by):
        for appointment in appointments:
            previous = appointment.status
            appointment.status = Status.CANCELLED_BY_CLINIC
            appointment.updated_by = by
            appointment.save(update_fields=["status", "updated_by", "updated_at", "end_time"])
            _record_status(appointment, from_status=previous, actor=by, reason=reason)
    # Patients who take reminders hear of it (queued in this transaction, sent by the next sweep), and the
    # day's group sessions are called off with their attendees (both apps build on this one).
    from groups.models import GroupSession
    from reminders.services import notify_cancellation

    notify_cancellation(appointments)

    # Saved one by one (a day has a few) so that the audit trail sees each session's status change.
    sessions = list(
        GroupSession.objects.select_for_update().filter(date=closed_day.date, status=GroupSession.Status.SCHEDULED)
    )
    with audit.acting_as(by):
        for session in sessions:
            session.status = GroupSession.Status.CANCELLED
            session.updated_by = by
            session.save(update_fields=["status", "updated_by", "updated_at"])
    sessions_cancelled = len(sessions)
    audit.record(
        event=audit_events.CLOSED_DAY_APPOINTMENTS_CANCELLED,
        target=closed_day,
        actor=by,
        action=audit.Action.UPDATE,
        data={
            "date": closed_day.date.isoformat(),
            "cancelled": len(appointments),
            "group_sessions_cancelled": sessions_cancelled,
        },
    )
    return appointments


@transaction.atomic
def add_closed_day(
    *,
    date: datetime.date,
    reason: str,
    by: User,
    cancel_appointments: bool = False,
    expected: Iterable[int] | None = None,
) -> tuple[ClosedDay, list[Appointment]]:
    """Close the clinic on ``date``. Appointments still open that day are never left scheduled silently:
    unless ``cancel_appointments``, a day with any refuses (ValidationError naming how many); with it, they
    are cancelled as cancelled by the clinic in the same transaction. ``expected``: the appointment ids the
    user was shown; if the day changed since, nothing is saved and the user is asked again.
    """
    if not permissions.can_manage_closed_days(by):
        raise PermissionDenied("Your role may not close the clinic.")
    if ClosedDay.objects.filter(date=date).exists():
        raise ValidationError({"date": [f"The clinic is already closed on {date:%m/%d/%Y}."]})
    booked = set(
        Appointment.objects.select_for_update()
        .filter(date=date, status__in=Appointment.OPEN_STATUSES)
        .values_list("pk", flat=True)
    )
    if booked and not cancel_appointments:
        count = len(booked)
        raise ValidationError(
            {
                "cancel_appointments": [
                    f"{count} appointment{'s are' if count != 1 else ' is'} booked on {date:%m/%d/%Y}: "
                    "cancel them to close the day."
                ]
            }
        )
    if cancel_appointments and expected is not None and set(expected) != booked:
        raise ValidationError(
            {"cancel_appointments": ["The appointments on this day changed while you were looking: check them again."]}
        )
    closed_day = ClosedDay(date=date, reason=reason)
    with audit.acting_as(by):
        closed_day.save()
    cancelled = cancel_for_closed_day(closed_day, by=by)  # also calls off the day's group sessions
    return closed_day, cancelled
