"""A realistic demo schedule: PSR groups, therapy, TMS courses and evaluations, four weeks back and ahead.

Built through the services, so every rule (hours, conflicts, history, audit) holds for demo data too.
Development only.
"""

import datetime
import random

from django.db import transaction
from django.utils import timezone

from patients.models import Patient
from scheduling import services
from scheduling.models import Appointment, ClosedDay, ServiceType

T = datetime.time


def us_holidays(year: int) -> dict[datetime.date, str]:
    november = [datetime.date(year, 11, day) for day in range(1, 31)]
    thanksgiving = [day for day in november if day.weekday() == 3][3]
    return {
        datetime.date(year, 1, 1): "New Year's Day",
        datetime.date(year, 7, 3 if datetime.date(year, 7, 4).weekday() == 5 else 4): "Independence Day",
        thanksgiving: "Thanksgiving",
        datetime.date(year, 12, 25): "Christmas Day",
    }


@transaction.atomic
def load(*, actor, doctor, nurse) -> int:
    """Create the demo schedule once (nothing happens when appointments exist). Returns appointments made."""
    if Appointment.objects.exists():
        return 0
    today = timezone.localdate()
    for year in (today.year, today.year + 1):
        for day, reason in us_holidays(year).items():
            ClosedDay.objects.get_or_create(date=day, defaults={"reason": reason})
    rng = random.Random(7)
    types = {service.code: service for service in ServiceType.objects.all()}
    patients = list(Patient.objects.filter(is_active=True).order_by("id")[:40])
    start = today - datetime.timedelta(days=today.weekday() + 28)  # a Monday four weeks ago
    weeks = 8

    def series(patient, code, time, weekdays, clinician, minutes=None):
        return services.create_series(
            actor=actor,
            request=services.SeriesRequest(
                patient=patient, service_type=types[code], clinician=clinician, start_date=start, start_time=time,
                duration_minutes=minutes, frequency="weekly", weekdays=weekdays, count=len(weekdays) * weeks,
            ),
        )  # fmt: skip

    for patient in patients[:16]:  # the PSR day program: one group, mornings
        series(patient, "PSR", T(9), ("mon", "wed", "fri"), nurse)
    therapy_slots = [(day, hour) for day in ("tue", "thu") for hour in (10, 11, 13, 14, 15)]
    for patient, (day, hour) in zip(patients[16:26], therapy_slots, strict=False):
        series(patient, "IND", T(hour), (day,), doctor)
    for patient, hour in zip(patients[26:29], (13, 14, 15), strict=False):  # TMS courses: daily
        series(patient, "TMS", T(hour, 0), ("mon", "tue", "wed", "thu", "fri"), nurse)
    for offset, patient in enumerate(patients[29:35]):  # one-off evaluations
        day = start + datetime.timedelta(days=7 * offset + 3)  # Thursdays
        if day in us_holidays(day.year):
            continue
        services.book_appointment(
            actor=actor, patient=patient, service_type=types["EVAL"], date=day, start_time=T(16), clinician=doctor
        )
    # Attendance for what has happened, leaving the last two days unmarked for the dashboard.
    marked_until = today - datetime.timedelta(days=2)
    for appointment in Appointment.objects.filter(date__lte=marked_until).select_related("patient", "clinician"):
        outcome = rng.choices(["attended", "no_show", "late_cancel"], weights=[86, 9, 5])[0]
        services.set_status(actor=actor, appointment=appointment, status=outcome)
    return Appointment.objects.count()
