"""Reading groups: sessions with attendee counts, a session's roster, the weekly attendance sheet.

Each read takes a constant number of queries whatever the number of attendees or patients.
"""

import datetime
import hashlib
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from accounts import permissions
from accounts.permissions import Actor
from audit.registry import encrypted_fields
from authorizations import selectors as authorization_selectors
from authorizations.models import Authorization
from groups.models import Enrollment, Group, GroupSession
from patients.models import Patient
from scheduling import day_cache
from scheduling.models import Appointment, clinic_now

Status = Appointment.Status
WEEKDAY_LABELS = ("Mon", "Tue", "Wed", "Thu", "Fri")
# What a cell of the weekly sheet shows for each status.
SHEET_CODES = {
    Status.ATTENDED: "P", Status.NO_SHOW: "A", Status.LATE_CANCEL: "LC", Status.CANCELLED_BY_PATIENT: "E",
    Status.CANCELLED_BY_CLINIC: "X", Status.SCHEDULED: "·", Status.CONFIRMED: "·", Status.CHECKED_IN: "·",
}  # fmt: skip


def groups_visible_to(user: Actor) -> QuerySet[Group]:
    if not permissions.can_view_group_sessions(user):
        return Group.objects.none()
    return Group.objects.select_related("service_type", "clinician", "co_clinician")


def enrollments_visible_to(user: Actor) -> QuerySet[Enrollment]:
    """Enrollments of the patients ``user`` may see (deactivated ones for administrators only)."""
    if not permissions.can_view_group_sessions(user):
        return Enrollment.objects.none()
    enrollments = Enrollment.objects.select_related("group", "patient")
    if not permissions.can_view_inactive_patients(user):
        enrollments = enrollments.filter(patient__is_active=True)
    return enrollments


def _active_count() -> Count:
    return Count("attendees", filter=Q(attendees__status__in=Appointment.ACTIVE_STATUSES))


def _visible_sessions(user: Actor) -> QuerySet[GroupSession]:
    if not permissions.can_view_group_sessions(user):
        return GroupSession.objects.none()
    return GroupSession.objects.select_related("group", "service_type", "clinician")


def group_sessions_visible_to(user: Actor) -> QuerySet[GroupSession]:
    """Sessions with ``attendee_count`` (attendees who hold a place: booked, checked in or attended)."""
    return _visible_sessions(user).annotate(attendee_count=_active_count()).order_by("date", "start_time", "id")


def group_session_visible_to(user: Actor, pk: int) -> GroupSession:
    """One session, for its roster: without ``attendee_count`` (the roster counts its own rows; joining the
    attendees to count them cost more than the rest of the query). Raises ``GroupSession.DoesNotExist``."""
    return _visible_sessions(user).select_related("signed_by").get(pk=pk)


def group_session_date(user: Actor, pk: int) -> datetime.date:
    """The session's date alone: which day's cache versions its roster depends on. Raises
    ``GroupSession.DoesNotExist``."""
    return _visible_sessions(user).values_list("date", flat=True).get(pk=pk)


def group_sessions_between(user: Actor, start_date: datetime.date, end_date: datetime.date) -> QuerySet[GroupSession]:
    """For the calendar's day and week views: the sessions of these dates, each with ``attendee_count``
    (one query)."""
    return group_sessions_visible_to(user).filter(date__range=(start_date, end_date))


@dataclass
class RosterRow:
    appointment: Appointment
    patient: Patient
    units_left: int | None  # of the authorization covering this service and date; None when none covers it
    authorization_status: str
    is_over_booked: bool = False  # more units booked or used than authorized: shown as such, never green


@dataclass
class Roster:
    session: GroupSession
    rows: list[RosterRow] = field(default_factory=list)
    booked: int = 0  # attendees who hold a place ("14 of 16")

    @property
    def capacity_label(self) -> str:
        return capacity_label(self.booked, self.session.capacity)


def capacity_label(booked: int, capacity: int | None) -> str:
    """ "14 of 16" (or "14 attendees" without a capacity): the roster's and the calendar's count."""
    if capacity is None:
        return f"{booked} attendees"
    return f"{booked} of {capacity}"


def session_label(session: GroupSession) -> str:
    """ "PSR AM · 14 of 16" for a session from ``group_sessions_visible_to`` (with ``attendee_count``)."""
    name = session.group.name if session.group is not None else (session.topic or session.service_type.code)
    return f"{name} · {capacity_label(getattr(session, 'attendee_count', 0), session.capacity)}"


# The roster shows each attendee's name and number, never their clinical record: the patient's encrypted
# columns (SSN, diagnosis, medications…) stay in the database. Reading them decrypted ten values per
# attendee, about a fifth of the roster page's time.
_UNSHOWN_PATIENT_FIELDS = tuple(f"patient__{name}" for name in encrypted_fields(Patient))


def attendees_visible_to(user: Actor, session: GroupSession) -> QuerySet[Appointment]:
    return (
        Appointment.objects.visible_to(user)
        .filter(group_session=session)
        .select_related("patient")
        .defer(*_UNSHOWN_PATIENT_FIELDS)
        .order_by("patient__last_name", "patient__first_name", "id")
    )


def roster(user: Actor, session: GroupSession) -> Roster:
    """A session's attendees with their authorization units left for its service, and which of them are
    over-booked (one query for the attendees, and one for the units while no appointment, patient or
    authorization has changed since the last read: ``authorization_units``)."""
    attendees = list(attendees_visible_to(user, session))
    units: dict[int, AuthorizationUnits] = {}
    if attendees and permissions.can_view_authorizations(user):
        units = authorization_units(sorted({a.patient_id for a in attendees}), session)
    result = Roster(session=session)
    for appointment in attendees:
        covering_one = units.get(appointment.patient_id)
        result.rows.append(
            RosterRow(
                appointment=appointment,
                patient=appointment.patient,
                units_left=covering_one.units_left if covering_one else None,
                authorization_status=covering_one.status if covering_one else "",
                is_over_booked=covering_one.is_over_booked if covering_one else False,
            )
        )
        if appointment.status in Appointment.ACTIVE_STATUSES:
            result.booked += 1
    return result


@dataclass(frozen=True)
class AuthorizationUnits:
    """What the roster shows of a patient's authorization for the session's service."""

    units_left: int
    status: str
    is_over_booked: bool


def authorization_units(patient_ids: list[int], session: GroupSession) -> dict[int, AuthorizationUnits]:
    """Per patient, the units left on the first authorization (by start) covering the session's service on its
    date, and whether any covering one is over-booked (``authorizations.selectors.covering_many``, the rule
    the patient page and the dashboard use).

    Summing the units used and booked over years of appointments is the roster's costliest read (about half
    its CPU at 25 attendees), and its answer changes only when an appointment, a patient or an authorization
    is written, or the day turns: so it is kept in Django's cache under those versions
    (``scheduling.day_cache.alert_versions``, as the dashboard's alerts are), today's date and the patients'
    ids (no PHI).
    """
    today = timezone.localdate()
    key = ":".join(
        [
            "groups:roster-units",
            str(session.service_type_id),
            session.date.isoformat(),
            today.isoformat(),
            *day_cache.alert_versions(),
            hashlib.sha256(",".join(map(str, patient_ids)).encode()).hexdigest(),
        ]
    )

    def read() -> dict[int, AuthorizationUnits]:
        covering = authorization_selectors.covering_many(
            patient_ids, service_type_id=session.service_type_id, day=session.date, today=today
        ).order_by("start_date", "id")
        first: dict[int, Authorization] = {}
        over_booked: set[int] = set()
        for authorization in covering:
            first.setdefault(authorization.patient_id, authorization)
            if authorization.status == Authorization.Status.OVER_BOOKED:  # type: ignore[attr-defined]
                over_booked.add(authorization.patient_id)
        return {
            patient_id: AuthorizationUnits(
                units_left=authorization.units_remaining,  # type: ignore[attr-defined]
                status=authorization.status,  # type: ignore[attr-defined]
                is_over_booked=patient_id in over_booked,
            )
            for patient_id, authorization in first.items()
        }

    return day_cache.cached(key, read)


def week_days(week_start: datetime.date) -> list[datetime.date]:
    return [week_start + datetime.timedelta(days=offset) for offset in range(5)]


def parse_iso_week(value: str) -> datetime.date | None:
    """``2026-W49`` -> the Monday of that ISO week; None when malformed."""
    try:
        year, week = value.split("-W")
        return datetime.date.fromisocalendar(int(year), int(week), 1)
    except (ValueError, TypeError):
        return None


def iso_week(day: datetime.date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


@dataclass
class SheetCell:
    day: datetime.date
    appointment_id: int | None = None
    status: str = ""
    code: str = ""
    units: int = 0
    is_signed: bool = False
    has_started: bool = False  # outcomes are marked once the session has started


@dataclass
class SheetRow:
    patient_id: int
    name: str
    patient_number: str
    cells: list[SheetCell]
    total_units: int = 0
    days_present: int = 0


@dataclass
class Sheet:
    program_session: str
    week_start: datetime.date
    days: list[datetime.date]
    rows: list[SheetRow]
    day_units: list[int]
    day_present: list[int]
    total_units: int

    @property
    def day_totals(self) -> list[tuple[int, int]]:
        """(present, units) per day."""
        return list(zip(self.day_present, self.day_units, strict=True))

    @property
    def week(self) -> str:
        return iso_week(self.week_start)

    @property
    def previous_week(self) -> str:
        return iso_week(self.week_start - datetime.timedelta(days=7))

    @property
    def next_week(self) -> str:
        return iso_week(self.week_start + datetime.timedelta(days=7))


def attendance_sheet(
    user: Actor, *, program_session: str, week_start: datetime.date, group: Group | None = None
) -> Sheet:
    """Patients × weekdays of one program session (AM/PM) and ISO week: each cell the status and units, with
    totals per patient and per day. One query whatever the number of patients.

    Units are those of the minutes attended (``units_attended``) for attended visits, 0 otherwise.
    """
    days = week_days(week_start)
    now = clinic_now()
    appointments = (
        Appointment.objects.visible_to(user)
        .filter(
            group_session__program_session=program_session, date__range=(days[0], days[-1]),
            group_session__isnull=False,
        )
        .exclude(status=Status.RESCHEDULED)
    )  # fmt: skip
    if group is not None:
        appointments = appointments.filter(group_session__group=group)
    values = appointments.values(
        "id", "date", "status", "units_attended", "patient_id", "patient__first_name", "patient__last_name",
        "patient__patient_number", "group_session__signed_at", "start_time",
    ).order_by("patient__last_name", "patient__first_name", "patient_id", "date", "start_time")  # fmt: skip
    rows: dict[int, SheetRow] = {}
    index = {day: position for position, day in enumerate(days)}
    for value in values:
        row = rows.get(value["patient_id"])
        if row is None:
            row = rows[value["patient_id"]] = SheetRow(
                patient_id=value["patient_id"],
                name=f"{value['patient__last_name']}, {value['patient__first_name']}",
                patient_number=value["patient__patient_number"],
                cells=[SheetCell(day=day) for day in days],
            )
        cell = row.cells[index[value["date"]]]
        if cell.appointment_id and value["status"] in Appointment.CANCELLED_STATUSES:
            continue  # a cancelled booking beside a kept one on the same day: the kept one is the cell
        units = (value["units_attended"] or 0) if value["status"] == Status.ATTENDED else 0
        cell.appointment_id = value["id"]
        cell.status = value["status"]
        cell.code = SHEET_CODES.get(value["status"], "")
        cell.units = units
        cell.is_signed = value["group_session__signed_at"] is not None
        cell.has_started = datetime.datetime.combine(value["date"], value["start_time"]) <= now
    day_units = [0] * len(days)
    day_present = [0] * len(days)
    for row in rows.values():
        for position, cell in enumerate(row.cells):
            row.total_units += cell.units
            day_units[position] += cell.units
            if cell.status == Status.ATTENDED:
                row.days_present += 1
                day_present[position] += 1
    return Sheet(
        program_session=program_session, week_start=week_start, days=days, rows=list(rows.values()),
        day_units=day_units, day_present=day_present, total_units=sum(day_units),
    )  # fmt: skip


def sheet_table(sheet: Sheet) -> list[list[Any]]:
    """The sheet as rows of cells for CSV and XLSX: a header, one row per patient, the day totals."""
    header = ["Patient", "Number"]
    for day in sheet.days:
        header += [f"{day:%a %m/%d} status", f"{day:%a %m/%d} units"]
    header += ["Days present", "Units"]
    table: list[list[Any]] = [header]
    for row in sheet.rows:
        line: list[Any] = [row.name, row.patient_number]
        for cell in row.cells:
            line += [cell.status, cell.units if cell.status else ""]
        line += [row.days_present, row.total_units]
        table.append(line)
    totals: list[Any] = ["Total", ""]
    for present, units in zip(sheet.day_present, sheet.day_units, strict=True):
        totals += [present, units]
    totals += [sum(sheet.day_present), sheet.total_units]
    table.append(totals)
    return table


def week_days_start(day: datetime.date) -> datetime.date:
    """The Monday of ``day``'s ISO week."""
    return day - datetime.timedelta(days=day.weekday())
