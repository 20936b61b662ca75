"""Reading the schedule: the calendar's per-day counts, a day's appointments, a clinician's week."""

import calendar
import datetime
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from accounts import permissions
from accounts.models import Role, User
from accounts.permissions import Actor
from groups import selectors as group_selectors
from groups.models import GroupSession
from patients.models import Patient
from scheduling.models import Appointment, AppointmentQuerySet, clinic_now

Status = Appointment.Status


CLINICIAN_ROLES = (Role.DOCTOR, Role.NURSE)


def clinicians() -> QuerySet[User]:
    """Who can be booked as the clinician: active doctors and nurses."""
    return User.objects.filter(role__in=CLINICIAN_ROLES, is_active=True, is_api_key_account=False).order_by(
        "full_name", "email"
    )


def appointments_visible_to(user: Actor) -> AppointmentQuerySet:
    """Appointments ``user`` may see: of active patients, or of any patient for administrators."""
    return Appointment.objects.visible_to(user)


def appointments_counted_for(user: Actor) -> QuerySet[Appointment]:
    """What the calendar counts: every appointment, deactivated patients' included (no names, no join).

    Counting without a join keeps the month view an index-only aggregate at millions of rows; the day
    list still leaves out deactivated patients for non-administrators and says how many it left out.
    """
    if not permissions.can_view_schedule(user):
        return Appointment.objects.none()
    return Appointment.objects.all()


def filter_appointments(appointments: QuerySet[Appointment], *, clinician: Any = None, service_type: Any = None):
    if clinician:
        appointments = appointments.filter(clinician=clinician)
    if service_type:
        appointments = appointments.filter(service_type=service_type)
    return appointments


def month_bounds(year: int, month: int) -> tuple[datetime.date, datetime.date]:
    return datetime.date(year, month, 1), datetime.date(year, month, calendar.monthrange(year, month)[1])


def day_state(by_status: dict[str, int], total: int, *, is_past: bool = False) -> str:
    """The colour a day gets: "no-show" if anyone did not come, "attended" if all came, "unmarked" for a
    past day with attendance still to record, "open" for a day still ahead (or today), else "empty".

    A past no-show day may also have unmarked visits: the month view says so with a count on the day.
    """
    if by_status.get(Status.NO_SHOW):
        return "no-show"
    if total and by_status.get(Status.ATTENDED, 0) == total:
        return "attended"
    if is_past and any(by_status.get(status) for status in Appointment.OPEN_STATUSES):
        return "unmarked"
    return "open" if total else "empty"


def month_summary(appointments: QuerySet[Appointment], year: int, month: int) -> list[dict[str, Any]]:
    """One entry per day of the month: total (not cancelled), counts by status, recurring count.

    One aggregate query over (date, status), served by the (date, status) index.
    """
    first, last = month_bounds(year, month)
    today = timezone.localdate()
    rows = (
        appointments.filter(date__range=(first, last))
        .order_by()
        .values("date", "status")
        # COUNT(*) and COUNT(series_id): both answered from the (date, status) INCLUDE (series) index.
        .annotate(n=Count("*"), recurring=Count("series"))
    )
    by_day: dict[datetime.date, dict[str, Any]] = defaultdict(lambda: {"by_status": {}, "recurring": 0})
    for row in rows:
        day = by_day[row["date"]]
        day["by_status"][row["status"]] = row["n"]
        day["recurring"] += row["recurring"]
    days = []
    for number in range(1, last.day + 1):
        date = datetime.date(year, month, number)
        info = by_day.get(date, {"by_status": {}, "recurring": 0})
        total = sum(n for status, n in info["by_status"].items() if status not in Appointment.CANCELLED_STATUSES)
        unmarked = sum(info["by_status"].get(status, 0) for status in Appointment.OPEN_STATUSES) if date < today else 0
        days.append(
            {
                "date": date,
                "total": total,
                "by_status": info["by_status"],
                "recurring": info["recurring"],
                "unmarked": unmarked,
                "state": day_state(info["by_status"], total, is_past=date < today),
            }
        )
    return days


def month_grid(year: int, month: int, days: list[dict[str, Any]]) -> list[list[dict[str, Any] | None]]:
    """Weeks of the month, Sunday to Saturday; None pads the days of other months."""
    lead = (datetime.date(year, month, 1).weekday() + 1) % 7  # Monday=0 -> Sunday-first offset
    cells: list[dict[str, Any] | None] = [None] * lead + list(days)
    cells += [None] * (-len(cells) % 7)
    return [cells[index : index + 7] for index in range(0, len(cells), 7)]


def individual_appointments(appointments: QuerySet[Appointment]) -> QuerySet[Appointment]:
    """Appointments outside group sessions: the day and week views show a group session as one block (its
    attendees are marked on the roster), not one row per attendee."""
    return appointments.filter(group_session__isnull=True)


def group_blocks(
    user: Actor,
    start_date: datetime.date,
    end_date: datetime.date,
    *,
    clinician: User | None = None,
    service_type: Any = None,
    include_cancelled: bool = True,
) -> list[GroupSession]:
    """The group sessions of the calendar's day or week, each with ``attendee_count`` (one query whatever the
    number of attendees), narrowed like the appointments by clinician (or co-clinician) and service type."""
    sessions = group_selectors.group_sessions_between(user, start_date, end_date)
    if clinician is not None:
        sessions = sessions.filter(Q(clinician=clinician) | Q(group__co_clinician=clinician))
    if service_type is not None:
        sessions = sessions.filter(service_type=service_type)
    if not include_cancelled:
        sessions = sessions.exclude(status=GroupSession.Status.CANCELLED)
    blocks = list(sessions)
    for session in blocks:
        session.calendar_label = group_selectors.session_label(session)  # type: ignore[attr-defined]
    return blocks


def day_appointments(appointments: QuerySet[Appointment], date: datetime.date) -> QuerySet[Appointment]:
    return (
        individual_appointments(appointments)
        .filter(date=date)
        .select_related("patient", "service_type", "clinician")
        .only(
            "id",
            "date",
            "start_time",
            "end_time",
            "duration_minutes",
            "status",
            "series_id",
            "is_exception",
            "patient__id",
            "patient__first_name",
            "patient__last_name",
            "patient__patient_number",
            "patient__is_active",
            "service_type__code",
            "service_type__name",
            "service_type__color",
            "clinician__id",
            "clinician__full_name",
            "clinician__email",
        )  # fmt: skip
        .order_by("start_time", "patient__last_name", "id")
    )


def unmarked_past(appointments: AppointmentQuerySet, *, limit: int = 50) -> QuerySet[Appointment]:
    """Past appointments still open (scheduled, confirmed, checked in): attendance to record."""
    return (
        appointments.filter(status__in=Appointment.OPEN_STATUSES)
        .started()
        .select_related("patient", "service_type", "clinician")
        .order_by("-date", "-start_time")[:limit]
    )


def attendance_rate(patient: Patient, *, days: int = 90) -> float | None:
    """attended ÷ (attended + no-show + late cancel) over the last ``days``; None without such visits."""
    since = timezone.localdate() - datetime.timedelta(days=days)
    counts = dict(
        Appointment.objects.filter(
            patient=patient, date__gte=since, date__lte=timezone.localdate(), status__in=Appointment.OUTCOME_STATUSES
        )
        .order_by()
        .values_list("status")
        .annotate(n=Count("id"))
    )
    total = sum(counts.values())
    return counts.get(Status.ATTENDED, 0) / total if total else None


def patient_schedule(user: Actor, patient: Patient, *, limit: int = 10) -> dict[str, Any] | None:
    """What the patient page shows of the schedule: upcoming and past appointments, attendance rate."""
    if not permissions.can_view_schedule(user):
        return None
    now = clinic_now()
    appointments = Appointment.objects.filter(patient=patient).select_related("service_type", "clinician")
    rate = attendance_rate(patient)
    return {
        # Cancelled occurrences are never among "Upcoming": they have their own section.
        "upcoming": list(
            appointments.not_started(now)
            .exclude(status__in=Appointment.CANCELLED_STATUSES)
            .order_by("date", "start_time")[:limit]
        ),
        "cancelled": list(
            appointments.not_started(now)
            .filter(status__in=Appointment.CANCELLED_STATUSES)
            .order_by("date", "start_time")[:limit]
        ),
        "past": list(appointments.started(now).order_by("-date", "-start_time")[:limit]),
        "attendance_rate": rate,
        "attendance_percent": round(rate * 100) if rate is not None else None,
    }


DASHBOARD_TODAY_LIMIT = 25


def dashboard(user: Actor) -> dict[str, Any] | None:
    """For the home page: today's appointments still open (to come or to mark; the first 25 by time, with
    how many the day has in all) and past ones still unmarked. Constant work however busy the day: the
    whole day is the day view's (paged)."""
    if not permissions.can_view_schedule(user):
        return None
    visible = appointments_visible_to(user)
    today = timezone.localdate()
    todays = visible.filter(date=today)
    return {
        "today": list(
            day_appointments(todays.filter(status__in=Appointment.OPEN_STATUSES), today)[:DASHBOARD_TODAY_LIMIT]
        ),
        "today_total": todays.exclude(status__in=Appointment.CANCELLED_STATUSES).count(),
        "today_open": todays.filter(status__in=Appointment.OPEN_STATUSES).count(),
        "today_date": today,
        "unmarked": list(unmarked_past(visible, limit=20)),
    }


@dataclass
class WeekCell:
    """One cell of the week grid: an appointment spanning ``rowspan`` rows, or an empty slot (appointment None)."""

    appointment: Appointment | GroupSession | None = None  # a group session is one block, not its attendees
    rowspan: int = 1

    @property
    def is_group_session(self) -> bool:
        return isinstance(self.appointment, GroupSession)


@dataclass
class WeekRow:
    time: datetime.time
    hour_rowspan: int  # > 0 on the first row of an hour: its label spans the hour's rows
    cells: list[WeekCell]


Block = Appointment | GroupSession


def _lanes(appointments: list[Block]) -> list[list[Block]]:
    """Overlapping appointments side by side: each lane holds appointments that do not overlap (greedy)."""
    lanes: list[list[Block]] = []
    for appointment in sorted(appointments, key=lambda a: (a.start_time, a.end_time, a.pk)):
        for lane in lanes:
            if lane[-1].end_time <= appointment.start_time:
                lane.append(appointment)
                break
        else:
            lanes.append([appointment])
    return lanes or [[]]


def week_grid(
    appointments: list[Block],
    week: list[datetime.date],
    *,
    opens: datetime.time,
    closes: datetime.time,
    step: int,
) -> tuple[list[int], list[WeekRow]]:
    """The week as table rows of ``step`` minutes: each appointment is one cell spanning its rows (a 3-hour
    PSR block covers 9–12), overlapping ones in lanes side by side; a group session is one such block.
    Returns the lanes per day and the rows.
    """
    start = opens.hour * 60 + opens.minute
    end = closes.hour * 60 + closes.minute
    times = list(range(start, end, step))
    row_of = {minute: index for index, minute in enumerate(times)}

    def first_row(appointment: Block) -> int:
        minute = appointment.start_time.hour * 60 + appointment.start_time.minute
        return row_of.get(max(start, minute - (minute - start) % step), 0)

    def span(appointment: Block, row: int) -> int:
        finish = appointment.end_time.hour * 60 + appointment.end_time.minute
        rows = -(-(min(finish, end) - times[row]) // step)  # ceiling
        return max(1, min(rows, len(times) - row))

    by_day = {day: _lanes([a for a in appointments if a.date == day]) for day in week}
    # starts[(day index, lane)][row] = appointment; covered rows are left out of the table.
    starts: dict[tuple[int, int], dict[int, WeekCell]] = {}
    covered: set[tuple[int, int, int]] = set()
    for day_index, day in enumerate(week):
        for lane_index, lane in enumerate(by_day[day]):
            cells = starts.setdefault((day_index, lane_index), {})
            for appointment in lane:
                row = first_row(appointment)
                if (day_index, lane_index, row) in covered or row in cells:
                    continue  # outside clinic hours and clipped onto a taken row: shown on the day view
                cells[row] = WeekCell(appointment, span(appointment, row))
                covered |= {(day_index, lane_index, r) for r in range(row + 1, row + cells[row].rowspan)}
    hour_rows = max(1, 60 // step)
    rows = []
    for row, minute in enumerate(times):
        row_cells: list[WeekCell] = []
        for day_index, day in enumerate(week):
            for lane_index in range(len(by_day[day])):
                if (day_index, lane_index, row) in covered:
                    continue
                row_cells.append(starts[(day_index, lane_index)].get(row, WeekCell()))
        first_of_hour = minute % 60 == 0 or row == 0
        label_span = min(hour_rows - (minute % 60) // step, len(times) - row) if first_of_hour else 0
        rows.append(WeekRow(datetime.time(minute // 60, minute % 60), label_span, row_cells))
    return [len(by_day[day]) for day in week], rows


def open_appointments_on(date: datetime.date) -> QuerySet[Appointment]:
    """Every appointment still to happen on ``date`` (scheduled, confirmed, checked in), whoever the patient:
    what closing the clinic that day would cancel."""
    return (
        Appointment.objects.filter(date=date, status__in=Appointment.OPEN_STATUSES)
        .select_related("patient", "service_type", "clinician")
        .order_by("start_time", "patient__last_name", "id")
    )
