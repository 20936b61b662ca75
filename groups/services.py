"""Groups, their sessions, enrollments, rosters and signatures: one path for pages, the API and admin.

Attendees are appointments booked through the scheduling rules (slot rules, conflicts, authorization
warnings); every appointment change is a ``save()`` inside ``audit.acting_as`` (one trail entry per
appointment changed) and a status change is kept in the appointment's status history. Saving a roster
writes the same rows and entries in bulk (``_write_attendance``), so its cost does not grow per attendee.
"""

import copy
import datetime
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from accounts import permissions
from accounts.models import User
from audit import services as audit
from authorizations import services as authorization_rules
from groups.models import Enrollment, Group, GroupSession, GroupSessionAmendment, ProgramSession
from patients.models import Patient
from scheduling import day_cache, recurrence
from scheduling import services as scheduling
from scheduling.models import Appointment, AppointmentStatusChange, ServiceType, clinic_now
from spectrum.exceptions import DomainError

Status = Appointment.Status
GENERATION_HORIZON = datetime.timedelta(days=365)
# The roster's buttons, in the clinic's words, and the appointment status each records.
ROSTER_CHOICES = (
    (Status.ATTENDED, "Present"),
    (Status.NO_SHOW, "Absent"),
    (Status.LATE_CANCEL, "Late cancel"),
    (Status.CANCELLED_BY_PATIENT, "Excused"),
)
ROSTER_STATUSES = tuple(status for status, _ in ROSTER_CHOICES) + (Status.SCHEDULED,)
GROUP_FIELDS = (
    "name", "service_type", "weekdays", "start_time", "duration_minutes", "clinician", "co_clinician",
    "program_session", "location", "capacity", "start_date", "end_date",
)  # fmt: skip
# Changes of a group that move its sessions still to come (and every attendee's appointment).
SESSION_FIELDS = ("start_time", "duration_minutes", "clinician", "location")


class AttendanceError(DomainError):
    """A roster save refused as a whole: ``extra["attendees"]`` maps appointment ids to field errors."""


def units_for_minutes(minutes: int, unit_minutes: int | None) -> int:
    """Billing units for ``minutes`` attended: whole units, plus one for a remainder of at least
    ``GROUP_UNIT_MIN_MINUTES`` (the payer's 8-of-15 rule); one per visit for services billed per visit."""
    if minutes <= 0:
        return 0
    if not unit_minutes:
        return 1
    whole, rest = divmod(minutes, unit_minutes)
    return whole + (1 if rest >= settings.GROUP_UNIT_MIN_MINUTES else 0)


def minutes_between(start: datetime.time, end: datetime.time) -> int:
    day = datetime.date(2000, 1, 3)
    return int((datetime.datetime.combine(day, end) - datetime.datetime.combine(day, start)).total_seconds() // 60)


def _add_minutes(start: datetime.time, minutes: int) -> datetime.time:
    return (datetime.datetime.combine(datetime.date(2000, 1, 3), start) + datetime.timedelta(minutes=minutes)).time()


def _not_started(sessions: Any, now: datetime.datetime) -> Any:
    """Sessions whose start is still ahead of ``now`` (the rule ``Appointment.objects.not_started`` uses)."""
    return sessions.filter(Q(date__gt=now.date()) | Q(date=now.date(), start_time__gt=now.time()))


# --- Groups and their sessions -----------------------------------------------------------------------------


def validate_group(group: Group) -> None:
    """A group's own rules (group service, weekdays, dates, AM/PM, clinician, hours); raises ValidationError."""
    errors: dict[str, list[str]] = {}
    if not group.service_type.is_group:
        errors["service_type"] = ["Choose a group service (e.g. PSR)."]
    unknown = [day for day in group.weekday_list if day not in recurrence.WEEKDAYS]
    if not group.weekday_list or unknown:
        errors["weekdays"] = ["Choose one or more weekdays from mon, tue, wed, thu, fri."]
    if group.end_date and group.end_date < group.start_date:
        errors["end_date"] = ["The end date cannot be before the start date."]
    if group.program_session not in ProgramSession.values:
        errors["program_session"] = ["Choose AM or PM."]
    if not permissions.is_bookable_clinician(group.clinician):
        errors["clinician"] = ["Choose an active clinician."]
    if errors:
        raise ValidationError(errors)
    # Hours, grid and length (the dates are the group's own: weekends and closed days are skipped).
    scheduling.check_slot_rules(
        scheduling.Slot(_first_weekday(max(group.start_date, clinic_now().date())), group.start_time,
                        group.duration_minutes),
        closed={},
    )  # fmt: skip


def _first_weekday(day: datetime.date) -> datetime.date:
    while day.weekday() >= 5:
        day += datetime.timedelta(days=1)
    return day


def session_dates(group: Group, first: datetime.date, last: datetime.date) -> list[datetime.date]:
    """The group's meeting dates from ``first`` to ``last``: its weekdays, skipping weekends and closed days.

    Dates are the clinic's wall-clock dates, so a 9:00 group stays at 9:00 across daylight-saving changes.
    """
    wanted = {recurrence.WEEKDAYS[day].weekday for day in group.weekday_list}
    closed = set(scheduling.closed_days_between(first, last))
    dates = []
    day = first
    while day <= last:
        if day.weekday() in wanted and recurrence.is_open(day, closed):
            dates.append(day)
        day += datetime.timedelta(days=1)
    return dates


def _generation_end(group: Group) -> datetime.date:
    return group.end_date or group.start_date + GENERATION_HORIZON


def _create_sessions(group: Group, actor: User, first: datetime.date, last: datetime.date) -> list[GroupSession]:
    existing = set(group.sessions.filter(date__range=(first, last)).values_list("date", flat=True))
    created = []
    with audit.acting_as(actor):
        for day in session_dates(group, first, last):
            if day in existing:
                continue
            session = GroupSession(
                group=group, service_type=group.service_type, date=day, start_time=group.start_time,
                duration_minutes=group.duration_minutes, clinician=group.clinician,
                program_session=group.program_session, location=group.location, capacity=group.effective_capacity,
                created_by=actor, updated_by=actor,
            )  # fmt: skip
            session.save()
            created.append(session)
    return created


@transaction.atomic
def create_group(*, actor: User, data: dict[str, Any]) -> Group:
    """Create a group and its sessions (one per meeting date, at most a year ahead without an end date)."""
    if not permissions.can_manage_groups(actor):
        raise PermissionDenied("Your role may not manage groups.")
    values = {name: value for name, value in data.items() if name in GROUP_FIELDS}
    if isinstance(values.get("weekdays"), list | tuple):
        values["weekdays"] = ",".join(values["weekdays"])
    group = Group(created_by=actor, updated_by=actor, **values)
    if group.capacity is None and group.service_type_id:
        group.capacity = group.service_type.default_group_capacity
    validate_group(group)
    with audit.acting_as(actor):
        group.save()
    _create_sessions(group, actor, group.start_date, _generation_end(group))
    return group


@transaction.atomic
def update_group(*, actor: User, group: Group, changes: dict[str, Any], override_reason: str = "") -> Group:
    """Change a group. A new time, length, clinician or room moves every session that has not started, and
    every attendee's appointment in it; what has started (and its attendance) stays as it was."""
    if not permissions.can_manage_groups(actor):
        raise PermissionDenied("Your role may not manage groups.")
    if isinstance(changes.get("weekdays"), list | tuple):
        changes = {**changes, "weekdays": ",".join(changes["weekdays"])}
    changes = {name: value for name, value in changes.items() if name in GROUP_FIELDS and getattr(group, name) != value}
    if not changes:
        return group
    if "service_type" in changes or "program_session" in changes:
        raise ValidationError({"service_type": ["A group keeps its service and session: create a new group."]})
    for name, value in changes.items():
        setattr(group, name, value)
    group.updated_by = actor
    validate_group(group)
    with audit.acting_as(actor):
        group.save()
    now = clinic_now()
    moved = {name: changes[name] for name in SESSION_FIELDS if name in changes}
    if "capacity" in changes:
        moved["capacity"] = group.effective_capacity
    if moved:
        for session in _not_started(group.sessions.exclude(status=GroupSession.Status.CANCELLED), now):
            _move_session(actor, session, moved, override_reason)
    if {"weekdays", "start_date", "end_date"} & set(changes):
        _regenerate(group, actor, now)
    return group


def _move_session(actor: User, session: GroupSession, moved: dict[str, Any], override_reason: str) -> None:
    with audit.acting_as(actor):
        for name, value in moved.items():
            setattr(session, name, value)
        session.updated_by = actor
        session.save()
    appointment_changes = {
        name: getattr(session, name) for name in ("start_time", "duration_minutes", "clinician") if name in moved
    }
    if not appointment_changes:
        return
    attendees = list(
        session.attendees.not_started().filter(status__in=Appointment.OPEN_STATUSES).select_related("patient")
    )
    for appointment in attendees:
        slot = scheduling.Slot(appointment.date, session.start_time, session.duration_minutes)
        scheduling.check_slot_rules(slot, closed={})
        conflicts = scheduling.find_conflicts(
            patient=appointment.patient, clinician=None, service_type=session.service_type, slots=[slot],
            exclude=[appointment.pk],
        )  # fmt: skip
        reason = scheduling._resolve_conflicts(actor, conflicts, override_reason)
        for name, value in appointment_changes.items():
            setattr(appointment, name, value)
        if reason:
            appointment.override_reason = reason
        appointment.time_in = appointment.time_out = None
        appointment.updated_by = actor
        with audit.acting_as(actor):
            appointment.save()


def _regenerate(group: Group, actor: User, now: datetime.datetime) -> None:
    """After new weekdays or dates: sessions to come that no longer fit are cancelled, missing ones created."""
    first = max(group.start_date, now.date())
    last = _generation_end(group)
    wanted = set(session_dates(group, first, last)) if first <= last else set()
    for session in _not_started(group.sessions.exclude(status=GroupSession.Status.CANCELLED), now):
        if session.date not in wanted:
            _cancel_session(actor, session, reason="The group no longer meets on this date.")
    if first <= last:
        for session in _create_sessions(group, actor, first, last):
            for enrollment in group.enrollments.filter(
                Q(end_date__isnull=True) | Q(end_date__gte=session.date), start_date__lte=session.date
            ).select_related("patient"):
                _book_attendee(actor, session, enrollment.patient, enrollment=enrollment, reason="")


def _cancel_session(actor: User, session: GroupSession, *, reason: str) -> None:
    with audit.acting_as(actor):
        session.status = GroupSession.Status.CANCELLED
        session.updated_by = actor
        session.save()
    for appointment in session.attendees.filter(status__in=Appointment.OPEN_STATUSES):
        _set_status(actor, appointment, Status.CANCELLED_BY_CLINIC, reason=reason)


@transaction.atomic
def create_session(
    *,
    actor: User,
    service_type: ServiceType,
    date: datetime.date,
    start_time: datetime.time,
    clinician: User,
    duration_minutes: int | None = None,
    program_session: str = "",
    location: str = "",
    capacity: int | None = None,
    topic: str = "",
) -> GroupSession:
    """A one-off group session, without a group (patients are added with ``add_attendee``)."""
    if not permissions.can_add_group_sessions(actor):
        raise PermissionDenied("Your role may not create group sessions.")
    errors = {}
    if not service_type.is_group or not service_type.is_active:
        errors["service_type"] = ["Choose an active group service (e.g. PSR)."]
    if not permissions.is_bookable_clinician(clinician):
        errors["clinician"] = ["Choose an active clinician."]
    if errors:
        raise ValidationError(errors)
    duration = duration_minutes or service_type.default_duration_minutes
    scheduling.check_slot_rules(scheduling.Slot(date, start_time, duration))
    session = GroupSession(
        service_type=service_type, date=date, start_time=start_time, duration_minutes=duration, clinician=clinician,
        program_session=program_session, location=location,
        capacity=capacity if capacity is not None else service_type.default_group_capacity, topic=topic,
        created_by=actor, updated_by=actor,
    )  # fmt: skip
    with audit.acting_as(actor):
        session.save()
    return session


# --- Enrollment --------------------------------------------------------------------------------------------


@dataclass
class GroupWarning:
    code: str  # "capacity" | "program_session" | an authorization warning's code
    message: str
    date: datetime.date | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "date": self.date.isoformat() if self.date else None}


@dataclass
class BookingResult:
    appointments: list[Appointment] = field(default_factory=list)
    warnings: list[GroupWarning] = field(default_factory=list)


def program_session_warning(patient: Patient, program_session: str) -> GroupWarning | None:
    """A patient of the AM program booked into a PM group (or the reverse)."""
    if patient.session and program_session and patient.session != program_session:
        return GroupWarning(
            "program_session",
            f"The patient attends the {patient.session} program; this is a {program_session} group.",
        )
    return None


def _capacity_warnings(sessions: list[GroupSession], service_type: ServiceType) -> list[GroupWarning]:
    """Sessions that one more attendee would take past capacity (refused where the service type says so)."""
    counts = dict(
        Appointment.objects.filter(group_session__in=sessions, status__in=Appointment.ACTIVE_STATUSES)
        .values("group_session")
        .annotate(n=Count("id"))
        .values_list("group_session", "n")
    )
    full = [s for s in sessions if s.capacity is not None and counts.get(s.pk, 0) + 1 > s.capacity]
    if not full:
        return []
    first = full[0]
    message = (
        f"Past capacity on {len(full)} session(s), first {first.date:%m/%d/%Y}: "
        f"{counts.get(first.pk, 0) + 1} of {first.capacity}."
    )
    if service_type.capacity_blocks_booking:
        raise ValidationError({"group": [message]})
    return [GroupWarning("capacity", message, first.date)]


def _book_attendee(
    actor: User, session: GroupSession, patient: Patient, *, enrollment: Enrollment | None, reason: str
) -> Appointment:
    appointment = Appointment(
        patient=patient, clinician=session.clinician, service_type=session.service_type, date=session.date,
        start_time=session.start_time, duration_minutes=session.duration_minutes,
        billing_code=session.service_type.billing_code, group_session=session, enrollment=enrollment,
        override_reason=reason, created_by=actor, updated_by=actor,
    )  # fmt: skip
    with audit.acting_as(actor):
        appointment.save()
    scheduling._record_status(appointment, from_status="", actor=actor, reason=reason)
    return appointment


def _book_sessions(
    *, actor: User, patient: Patient, sessions: list[GroupSession], enrollment: Enrollment | None,
    program_session: str, override_reason: str,
) -> BookingResult:  # fmt: skip
    """Book ``patient`` into ``sessions`` through the scheduling rules: conflicts (409 unless overridden
    with a reason), authorization warnings (refused where the service says so), capacity, AM/PM."""
    result = BookingResult()
    if not sessions:
        return result
    service_type = sessions[0].service_type
    scheduling._lock(patient, None)
    already = set(
        Appointment.objects.filter(group_session__in=sessions, patient=patient)
        .exclude(status__in=Appointment.CANCELLED_STATUSES)
        .values_list("group_session", flat=True)
    )
    sessions = [s for s in sessions if s.pk not in already]
    if not sessions:
        return result
    slots = [scheduling.Slot(s.date, s.start_time, s.duration_minutes) for s in sessions]
    conflicts = scheduling.find_conflicts(patient=patient, clinician=None, service_type=service_type, slots=slots)
    reason = scheduling._resolve_conflicts(actor, conflicts, override_reason)
    by_date = authorization_rules.warnings_for_booking(
        patient=patient, service_type=service_type, dates=[s.date for s in sessions],
        duration_minutes={s.date: s.duration_minutes for s in sessions},
    )  # fmt: skip
    found = [warning for warnings in by_date.values() for warning in warnings]
    authorization_rules.enforce(service_type, found)
    result.warnings += _capacity_warnings(sessions, service_type)
    if mismatch := program_session_warning(patient, program_session):
        result.warnings.append(mismatch)
    # One warning per kind of authorization problem, with its first date (a year of sessions would repeat it).
    seen: set[str] = set()
    for warning in found:
        if warning.code not in seen:
            seen.add(warning.code)
            result.warnings.append(GroupWarning(warning.code, warning.message, warning.date))
    conflicting = {conflict.date for conflict in conflicts}
    for session in sessions:
        result.appointments.append(
            _book_attendee(
                actor, session, patient, enrollment=enrollment, reason=reason if session.date in conflicting else ""
            )
        )
    return result


@transaction.atomic
def enroll_patient(
    *,
    actor: User,
    group: Group,
    patient: Patient,
    start_date: datetime.date,
    end_date: datetime.date | None = None,
    override_reason: str = "",
) -> Enrollment:
    """Enroll ``patient`` in ``group`` and book them into each of its sessions in the range, as a series
    books its dates (a backdated enrollment books past sessions, to be marked). The enrollment's
    ``warnings`` list capacity, AM/PM and authorization warnings."""
    if not permissions.can_manage_enrollments(actor):
        raise PermissionDenied("Your role may not enroll patients.")
    errors: dict[str, list[str]] = {}
    if not patient.is_active:
        errors["patient"] = ["This patient is deactivated."]
    if end_date is not None and end_date < start_date:
        errors["end_date"] = ["The end date cannot be before the start date."]
    if group.end_date and start_date > group.end_date:
        errors["start_date"] = [f"The group ends on {group.end_date:%m/%d/%Y}."]
    if errors:
        raise ValidationError(errors)
    overlapping = group.enrollments.filter(patient=patient).filter(
        Q(end_date__isnull=True) | Q(end_date__gte=start_date)
    )
    if end_date is not None:
        overlapping = overlapping.filter(start_date__lte=end_date)
    if overlapping.exists():
        raise ValidationError({"patient": ["The patient is already enrolled in this group for these dates."]})
    enrollment = Enrollment(
        group=group, patient=patient, start_date=start_date, end_date=end_date, created_by=actor, updated_by=actor
    )
    with audit.acting_as(actor):
        enrollment.save()
    sessions = group.sessions.filter(date__gte=start_date).exclude(status=GroupSession.Status.CANCELLED)
    if end_date is not None:
        sessions = sessions.filter(date__lte=end_date)
    sessions = sessions.select_related("service_type").order_by("date")
    result = _book_sessions(
        actor=actor, patient=patient, sessions=list(sessions), enrollment=enrollment,
        program_session=group.program_session, override_reason=override_reason,
    )  # fmt: skip
    enrollment.warnings = result.warnings  # type: ignore[attr-defined]
    enrollment.booked = len(result.appointments)  # type: ignore[attr-defined]
    return enrollment


@transaction.atomic
def add_attendee(*, actor: User, session: GroupSession, patient: Patient, override_reason: str = "") -> Appointment:
    """Book one patient into one session (a one-off session, or a drop-in): same rules as enrollment."""
    if not permissions.can_book_appointments(actor):
        raise PermissionDenied("Your role may not book appointments.")
    if not patient.is_active:
        raise ValidationError({"patient": ["This patient is deactivated."]})
    if session.status == GroupSession.Status.CANCELLED:
        raise ValidationError({"session": ["This session is cancelled."]})
    result = _book_sessions(
        actor=actor, patient=patient, sessions=[session], enrollment=None, program_session=session.program_session,
        override_reason=override_reason,
    )  # fmt: skip
    if not result.appointments:
        raise ValidationError({"patient": ["The patient is already on this session's roster."]})
    appointment = result.appointments[0]
    appointment.group_warnings = result.warnings  # type: ignore[attr-defined]
    return appointment


@transaction.atomic
def end_enrollment(*, actor: User, enrollment: Enrollment, end_date: datetime.date, reason: str = "") -> int:
    """End an enrollment on ``end_date``: later sessions that have not started are cancelled (by the clinic);
    everything that has started, and its attendance, stays. Returns how many were cancelled."""
    if not permissions.can_manage_enrollments(actor):
        raise PermissionDenied("Your role may not end enrollments.")
    if end_date < enrollment.start_date:
        raise ValidationError({"end_date": ["The end date cannot be before the enrollment's start."]})
    if enrollment.end_date is not None and end_date > enrollment.end_date:
        raise ValidationError({"end_date": [f"The enrollment already ends on {enrollment.end_date:%m/%d/%Y}."]})
    enrollment.end_date = end_date
    enrollment.updated_by = actor
    with audit.acting_as(actor):
        enrollment.save()
    later = (
        enrollment.appointments.not_started()
        .filter(date__gt=end_date, status__in=Appointment.OPEN_STATUSES)
        .order_by("date")
    )
    count = 0
    for appointment in later:
        _set_status(actor, appointment, Status.CANCELLED_BY_CLINIC, reason=reason or "Enrollment ended.")
        count += 1
    return count


def _set_status(
    actor: User, appointment: Appointment, status: str, *, reason: str = "", extra: dict | None = None
) -> None:
    """Change an appointment's status (and any attendance fields in ``extra``) with one save: one trail entry."""
    previous = appointment.status
    appointment.status = status
    for name, value in (extra or {}).items():
        setattr(appointment, name, value)
    appointment.updated_by = actor
    with audit.acting_as(actor):
        appointment.save()
    if previous != status:
        scheduling._record_status(appointment, from_status=previous, actor=actor, reason=reason)


# --- The roster: attendance, signing, amendments -----------------------------------------------------------


@dataclass
class AttendeeInput:
    appointment: int
    status: str | None = None
    time_in: datetime.time | None = None
    time_out: datetime.time | None = None
    note: str | None = None


def _attendance_values(
    session: GroupSession, appointment: Appointment, entry: AttendeeInput, now: datetime.datetime, actor: User
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The appointment fields ``entry`` sets, and its errors (field -> messages)."""
    errors: dict[str, list[str]] = {}
    status = entry.status or appointment.status
    if entry.status is not None:
        if entry.status not in ROSTER_STATUSES:
            errors["status"] = ["Choose present (attended), absent (no_show), late_cancel or excused."]
        elif entry.status in Appointment.OUTCOME_STATUSES and not session_started(session, now):
            errors["status"] = ["Attendance is marked once the session has started."]
    if entry.note and not permissions.can_change_clinical_text(actor):
        errors["note"] = ["Your role may not write progress notes."]
    start = entry.time_in or appointment.time_in or session.start_time
    end = entry.time_out or appointment.time_out or session.end_time
    if status == Status.ATTENDED and minutes_between(start, end) <= 0:
        errors["time_out"] = ["Time out must be after time in."]
    values: dict[str, Any] = {"status": status}
    if status == Status.ATTENDED:
        values["time_in"], values["time_out"] = start, end
        values["units_attended"] = units_for_minutes(minutes_between(start, end), session.service_type.unit_minutes)
    else:
        values["time_in"] = values["time_out"] = None
        values["units_attended"] = (
            0 if status in Appointment.OUTCOME_STATUSES or status == Status.CANCELLED_BY_PATIENT else None
        )
    if entry.note is not None and permissions.can_change_clinical_text(actor):
        values["progress_note"] = entry.note
    return values, errors


def session_started(session: GroupSession, now: datetime.datetime | None = None) -> bool:
    return session.starts_at <= (now or clinic_now())


def content_hash(session: GroupSession, attendees: list[Appointment]) -> str:
    """SHA-256 of what a signature covers: the session's note and topic and each attendee's record."""
    payload = {
        "session": session.pk,
        "date": session.date.isoformat(),
        "topic": session.topic,
        "group_note": session.group_note,
        "attendees": [
            {
                "appointment": a.pk, "status": a.status, "time_in": a.time_in.isoformat() if a.time_in else None,
                "time_out": a.time_out.isoformat() if a.time_out else None, "units": a.units_attended,
                "note": a.progress_note,
            }
            for a in sorted(attendees, key=lambda a: a.pk)
        ],
    }  # fmt: skip
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


@dataclass
class RosterSave:
    changed: int = 0
    amendment: GroupSessionAmendment | None = None


@transaction.atomic
def save_attendance(
    *,
    actor: User,
    session: GroupSession,
    attendees: list[AttendeeInput],
    group_note: str | None = None,
    topic: str | None = None,
    amendment_reason: str = "",
) -> RosterSave:
    """Save a roster in one transaction: every entry is checked first and nothing is saved if any is wrong
    (``AttendanceError`` with per-appointment errors). Attendees not listed keep their state. Once the
    session is signed, a change needs ``amendment_reason`` and is kept as an amendment."""
    if not permissions.can_record_group_attendance(actor):
        raise PermissionDenied("Your role may not mark attendance.")
    if group_note is not None and group_note != session.group_note and not permissions.can_change_clinical_text(actor):
        raise ValidationError({"group_note": ["Your role may not write the group note."]})
    if session.status == GroupSession.Status.CANCELLED:
        raise ValidationError({"session": ["This session is cancelled."]})
    now = clinic_now()
    # The rows are locked (only the appointments, not the joined patient and service) and kept as read: each
    # one's state before the save is what its audit entry compares with, so nothing is read again per row.
    roster = {
        a.pk: a for a in session.attendees.select_for_update(of=("self",)).select_related("patient", "service_type")
    }
    errors: dict[str, dict[str, list[str]]] = {}
    planned: list[tuple[Appointment, dict[str, Any]]] = []
    seen: set[int] = set()
    for entry in attendees:
        appointment = roster.get(entry.appointment)
        if appointment is None or entry.appointment in seen:
            errors[str(entry.appointment)] = {"appointment": ["Not an attendee of this session (or listed twice)."]}
            continue
        seen.add(entry.appointment)
        values, entry_errors = _attendance_values(session, appointment, entry, now, actor)
        if entry_errors:
            errors[str(entry.appointment)] = entry_errors
            continue
        changed = {name: value for name, value in values.items() if getattr(appointment, name) != value}
        if changed:
            planned.append((appointment, changed))
    if errors:
        raise AttendanceError(
            f"{len(errors)} attendee(s) could not be saved; nothing was saved.", extra={"attendees": errors}
        )
    session_changes = {
        name: value
        for name, value in (("group_note", group_note), ("topic", topic))
        if value is not None and getattr(session, name) != value
    }
    if any(appointment.status in Appointment.OUTCOME_STATUSES or values.get("status") in Appointment.OUTCOME_STATUSES
           for appointment, values in planned) and session.status == GroupSession.Status.SCHEDULED:  # fmt: skip
        session_changes["status"] = GroupSession.Status.HELD
    result = RosterSave()
    if not planned and not session_changes:
        return result
    if session.is_signed and not amendment_reason.strip():
        raise ValidationError({"amendment_reason": ["This session is signed: give a reason for the change."]})
    _write_attendance(actor, planned, reason=amendment_reason.strip()[:300])
    if session_changes:
        for name, value in session_changes.items():
            setattr(session, name, value)
        session.updated_by = actor
        with audit.acting_as(actor):
            session.save()
    result.changed = len(planned)
    if session.is_signed:
        result.amendment = GroupSessionAmendment.objects.create(
            session=session, amended_by=actor, amended_at=timezone.now(), reason=amendment_reason.strip()[:300],
            changes=[
                {"appointment": a.pk, "fields": sorted(changed)} for a, changed in planned
            ] + ([{"session": sorted(session_changes)}] if session_changes else []),
            content_hash=content_hash(session, list(roster.values())),
        )  # fmt: skip
        audit.record(event="groups.groupsession.amended", target=session, actor=actor,
                     action=audit.Action.UPDATE, data={"amendment": result.amendment.pk})  # fmt: skip
    return result


def _write_attendance(actor: User, planned: list[tuple[Appointment, dict[str, Any]]], *, reason: str) -> None:
    """Save a roster's changed appointments with a number of statements that does not grow with its size:
    one UPDATE of every changed row (plus one per progress note written), one INSERT of the status
    history and one of the audit entries (the entries ``save()`` would have written through auditlog, one
    per appointment, chained in one go).

    A per-row ``save()`` cost each appointment auditlog's re-read of the row, the chain head's lock and
    update, and its own UPDATE and INSERT: about 85 ms per attendee on PostgreSQL (bench/group_pages.py).
    Appointment has no save() side effect beyond its end time, which attendance does not move.
    """
    if not planned:
        return
    now = timezone.now()
    before = {appointment.pk: copy.copy(appointment) for appointment, _ in planned}
    fields = {"updated_by", "updated_at"}
    history = []
    for appointment, changed in planned:
        fields.update(changed)
        previous = appointment.status
        for name, value in changed.items():
            setattr(appointment, name, value)
        appointment.updated_by = actor
        appointment.updated_at = now
        if appointment.status != previous:
            change = scheduling.status_change(appointment, from_status=previous, actor=actor, reason=reason, at=now)
            history.append(change)
    rows = [appointment for appointment, _ in planned]
    # The encrypted note cannot go through bulk_update (its field encrypts plain values, not the CASE
    # expression bulk_update builds): a row whose note changed gets its own UPDATE of the note.
    for appointment, changed in planned:
        if "progress_note" in changed:
            Appointment.objects.filter(pk=appointment.pk).update(progress_note=appointment.progress_note)
    fields.discard("progress_note")
    Appointment.objects.bulk_update(rows, sorted(fields))
    AppointmentStatusChange.objects.bulk_create(history)
    audit.record_updates(changes=[(before[row.pk], row) for row in rows], actor=actor)
    # bulk_update sends no post_save: the day view's and dashboard's cached rows are told here instead.
    day_cache.days_changed(row.date for row in rows)


@transaction.atomic
def sign_session(*, actor: User, session: GroupSession) -> GroupSession:
    """Sign a held session's attendance: the signer, the time, and a hash of what was signed.

    Every attendee must be marked first; later changes are amendments (``save_attendance``)."""
    if not permissions.can_sign_group_sessions(actor):
        raise PermissionDenied("Your role may not sign group sessions.")
    if session.is_signed:
        raise DomainError("This session is already signed: changes are amendments with a reason.")
    if session.status != GroupSession.Status.HELD:
        raise DomainError("Only a held session is signed: mark its attendance first.")
    attendees = list(session.attendees.select_for_update())
    unmarked = [a for a in attendees if a.status in Appointment.OPEN_STATUSES]
    if unmarked:
        raise DomainError(f"{len(unmarked)} attendee(s) are not marked yet.")
    session.signed_by = actor
    session.signed_at = timezone.now()
    session.signature_hash = content_hash(session, attendees)
    session.updated_by = actor
    with audit.acting_as(actor):
        session.save()
    audit.record(event="groups.groupsession.signed", target=session, actor=actor, action=audit.Action.UPDATE,
                 data={"hash": session.signature_hash})  # fmt: skip
    return session
