"""Reading the schedule: the calendar's per-day counts, a day's appointments, a clinician's week."""

import calendar
import datetime
from collections import defaultdict
from typing import Any

from django.db.models import Count, QuerySet
from django.utils import timezone

from accounts import permissions
from accounts.models import Role, User
from accounts.permissions import Actor
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


def day_state(by_status: dict[str, int], total: int) -> str:
    """The colour a day gets: "no-show" if anyone did not come, "attended" if all came, else "open"."""
    if by_status.get(Status.NO_SHOW):
        return "no-show"
    if total and by_status.get(Status.ATTENDED, 0) == total:
        return "attended"
    return "open" if total else "empty"


def month_summary(appointments: QuerySet[Appointment], year: int, month: int) -> list[dict[str, Any]]:
    """One entry per day of the month: total (not cancelled), counts by status, recurring count.

    One aggregate query over (date, status), served by the (date, status) index.
    """
    first, last = month_bounds(year, month)
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
        days.append(
            {
                "date": date,
                "total": total,
                "by_status": info["by_status"],
                "recurring": info["recurring"],
                "state": day_state(info["by_status"], total),
            }
        )
    return days


def month_grid(year: int, month: int, days: list[dict[str, Any]]) -> list[list[dict[str, Any] | None]]:
    """Weeks of the month, Sunday to Saturday; None pads the days of other months."""
    lead = (datetime.date(year, month, 1).weekday() + 1) % 7  # Monday=0 -> Sunday-first offset
    cells: list[dict[str, Any] | None] = [None] * lead + list(days)
    cells += [None] * (-len(cells) % 7)
    return [cells[index : index + 7] for index in range(0, len(cells), 7)]


def day_appointments(appointments: QuerySet[Appointment], date: datetime.date) -> QuerySet[Appointment]:
    return (
        appointments.filter(date=date)
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
        "upcoming": list(appointments.not_started(now).order_by("date", "start_time")[:limit]),
        "past": list(appointments.started(now).order_by("-date", "-start_time")[:limit]),
        "attendance_rate": rate,
        "attendance_percent": round(rate * 100) if rate is not None else None,
    }


def dashboard(user: Actor) -> dict[str, Any] | None:
    """Today's appointments and past ones still unmarked, for the home page."""
    if not permissions.can_view_schedule(user):
        return None
    visible = appointments_visible_to(user)
    return {
        "today": list(day_appointments(visible, timezone.localdate())),
        "unmarked": list(unmarked_past(visible, limit=20)),
    }
