"""Demo groups: a PSR AM and a PSR PM group with enrolled patients, four weeks of marked history."""

import datetime
import random

from django.db import transaction
from django.utils import timezone

from groups import services
from groups.models import Group
from patients.models import Patient
from scheduling.models import Appointment, ServiceType

T = datetime.time


@transaction.atomic
def load(*, actor, doctor, nurse) -> int:
    """Create the demo groups once (nothing happens when a group exists). Returns the patients enrolled."""
    if Group.objects.exists():
        return 0
    psr = ServiceType.objects.filter(code="PSR", is_group=True).first()
    if psr is None:
        return 0
    today = timezone.localdate()
    start = today - datetime.timedelta(days=today.weekday() + 28)  # a Monday four weeks ago
    end = start + datetime.timedelta(weeks=8, days=-3)  # a Friday four weeks ahead
    rng = random.Random(16)
    # Patients the scheduling demo leaves alone (it books the first 40).
    free = list(Patient.objects.filter(is_active=True).order_by("id")[40:120])
    enrolled = 0
    for name, session, time, clinician, size in (
        ("PSR AM", "AM", T(9), nurse, 14),
        ("PSR PM", "PM", T(13), doctor, 10),
    ):
        group = services.create_group(
            actor=actor,
            data={
                "name": name, "service_type": psr, "weekdays": ["mon", "tue", "wed", "thu", "fri"],
                "start_time": time, "duration_minutes": 180, "clinician": clinician, "program_session": session,
                "location": "Group room 1" if session == "AM" else "Group room 2", "start_date": start,
                "end_date": end,
            },
        )  # fmt: skip
        members = [p for p in free if p.session in (session, "")][:size]
        free = [p for p in free if p not in members]
        for patient in members:
            services.enroll_patient(
                actor=actor, group=group, patient=patient, start_date=start, override_reason="Demo data"
            )
            enrolled += 1
        # Mark and sign what has happened, leaving the last two days for the roster demo.
        marked_until = today - datetime.timedelta(days=2)
        for session_row in group.sessions.filter(date__lte=marked_until).order_by("date"):
            entries = []
            for appointment in session_row.attendees.all():
                outcome = rng.choices(["attended", "late", "no_show", "late_cancel"], weights=[82, 6, 8, 4])[0]
                if outcome == "late":
                    entries.append(services.AttendeeInput(
                        appointment.pk, status=Appointment.Status.ATTENDED,
                        time_in=(datetime.datetime.combine(today, time) + datetime.timedelta(minutes=40)).time(),
                    ))  # fmt: skip
                else:
                    entries.append(services.AttendeeInput(appointment.pk, status=outcome))
            services.save_attendance(
                actor=clinician, session=session_row, attendees=entries,
                group_note="Skills group: coping, daily living and goals.", topic="Coping skills",
            )  # fmt: skip
            services.sign_session(actor=clinician, session=session_row)
    return enrolled
