"""Utilisation and attendance reports: rows for the pages and the CSV downloads."""

import datetime
from collections import defaultdict
from typing import Any

from django.db.models import Count, QuerySet

from accounts.permissions import Actor
from authorizations import selectors
from scheduling.models import Appointment

Status = Appointment.Status


def utilisation(user: Actor, date_from: datetime.date, date_to: datetime.date) -> list[dict[str, Any]]:
    """Per service type: authorizations overlapping the period, units authorized, used, remaining, over-use."""
    rows: dict[str, dict[str, Any]] = {}
    authorizations = (
        selectors.listing(user).filter(start_date__lte=date_to, end_date__gte=date_from).exclude(approval_date=None)
    )
    for authorization in authorizations:
        for service in authorization.service_types.all():
            row = rows.setdefault(
                service.code,
                {"service": service.code, "name": service.name, "authorizations": 0, "authorized": 0, "used": 0,
                 "remaining": 0, "over_used": 0},
            )  # fmt: skip
            row["authorizations"] += 1
            row["authorized"] += authorization.units_authorized
            row["used"] += authorization.units_used
            row["remaining"] += max(authorization.units_remaining, 0)
            row["over_used"] += max(-authorization.units_remaining, 0)
    return [rows[code] for code in sorted(rows)]


def attendance(
    appointments: QuerySet[Appointment], date_from: datetime.date, date_to: datetime.date
) -> dict[str, list]:
    """No-shows and late cancellations per patient and per service type (with attended, for the rate)."""
    counted = (Status.ATTENDED, Status.NO_SHOW, Status.LATE_CANCEL)
    base = appointments.filter(date__range=(date_from, date_to), status__in=counted).order_by()

    def collect(key_fields: tuple[str, ...]) -> list[dict[str, Any]]:
        table: dict[tuple, dict[str, Any]] = defaultdict(lambda: {"attended": 0, "no_show": 0, "late_cancel": 0})
        for row in base.values(*key_fields, "status").annotate(n=Count("id")):
            key = tuple(row[field] for field in key_fields)
            table[key][row["status"]] = row["n"]
            for field in key_fields:
                table[key][field] = row[field]
        result = []
        for values in table.values():
            total = values["attended"] + values["no_show"] + values["late_cancel"]
            values["total"] = total
            values["no_show_rate"] = round(100 * values["no_show"] / total, 1) if total else 0.0
            values["late_cancel_rate"] = round(100 * values["late_cancel"] / total, 1) if total else 0.0
            result.append(values)
        return result

    by_patient = collect(("patient", "patient__patient_number", "patient__last_name", "patient__first_name"))
    by_patient.sort(key=lambda r: (-(r["no_show"] + r["late_cancel"]), r["patient__last_name"]))
    by_service = collect(("service_type__code",))
    by_service.sort(key=lambda r: r["service_type__code"])
    return {"by_patient": by_patient, "by_service": by_service}
