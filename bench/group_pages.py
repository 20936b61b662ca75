"""Group pages on PostgreSQL: a 25-patient PSR group with a year of marked, signed history.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/spectrum_bench_groups \\
        .venv/bin/python bench/group_pages.py

Creates and migrates the database if needed, then (once) a PSR AM group meeting Monday to Friday for the
past year and four weeks ahead, 25 enrolled patients, and every past session marked and signed through the
services (as the clinic would, audit entries included) except the last, which the timed marking uses.
Then times in-process requests through Django's test client as a nurse (every middleware and the
rendering included): the roster page and API, the weekly sheet page and API, and saving the whole
25-patient roster in one request (each save changes all 25 appointments).
"""

import argparse
import datetime
import os
import random
import statistics
import sys
import time
from pathlib import Path

import harness
import machine

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spectrum.settings")
os.environ.setdefault("RATELIMIT_ENABLE", "false")
os.environ.setdefault("DEBUG", "false")

ATTENDEES = 25
BUDGET_MS = 150.0


def load(admin, nurse):
    """The group, its enrollments and a year of history; returns the group (made once)."""
    from django.utils import timezone

    from groups import services
    from groups.models import Group
    from scheduling.models import Appointment, ServiceType
    from tests.factories import PatientFactory

    existing = Group.objects.filter(name="PSR AM (bench)").first()
    if existing is not None:
        return existing
    today = timezone.localdate()
    start = today - datetime.timedelta(days=364 + today.weekday())
    psr = ServiceType.objects.get(code="PSR")
    group = services.create_group(
        actor=admin,
        data={
            "name": "PSR AM (bench)", "service_type": psr, "weekdays": ["mon", "tue", "wed", "thu", "fri"],
            "start_time": datetime.time(9), "duration_minutes": 180, "clinician": nurse, "program_session": "AM",
            "capacity": ATTENDEES, "start_date": start, "end_date": today + datetime.timedelta(days=28),
        },
    )  # fmt: skip
    for _ in range(ATTENDEES):
        services.enroll_patient(
            actor=admin, group=group, patient=PatientFactory(session="AM"), start_date=start, override_reason="bench"
        )
    rng = random.Random(25)
    past = list(group.sessions.filter(date__lt=today).order_by("date"))
    started = time.monotonic()
    for number, session in enumerate(past[:-1], 1):
        entries = []
        for appointment in session.attendees.all():
            status = rng.choices(["attended", "no_show", "late_cancel"], weights=[88, 8, 4])[0]
            time_in = datetime.time(9, 40) if status == "attended" and rng.random() < 0.05 else None
            entries.append(services.AttendeeInput(appointment.pk, status=status, time_in=time_in))
        services.save_attendance(actor=nurse, session=session, attendees=entries, group_note="Skills group")
        services.sign_session(actor=nurse, session=session)
        if number % 25 == 0:
            print(f"  sessions marked and signed: {number}/{len(past) - 1} ({time.monotonic() - started:.0f} s)")
    print(f"  {Appointment.objects.filter(group_session__group=group).count():,} appointments in the group")
    return group


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    harness.bench_database_url("spectrum_bench_groups")

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client
    from django.utils import timezone

    from accounts.models import User

    settings.ALLOWED_HOSTS = ["testserver"]
    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)  # production static storage, as served
    admin, _ = User.objects.get_or_create(email="admin@bench.test", defaults={"role": "admin", "full_name": "Admin"})
    nurse, _ = User.objects.get_or_create(email="nurse@bench.test", defaults={"role": "nurse", "full_name": "Nurse"})
    print("Loading the group and a year of history (once)…", flush=True)
    group = load(admin, nurse)
    session = group.sessions.filter(signed_at__isnull=True, date__lt=timezone.localdate()).order_by("-date").first()
    attendees = list(session.attendees.values_list("pk", flat=True))
    year, week, _ = session.date.isocalendar()
    sheet = {"program_session": "AM", "week": f"{year}-W{week:02d}"}

    client = Client()
    client.force_login(nurse)

    def get(url: str, params=None):
        response = client.get(url, params or {})
        assert response.status_code == 200, (url, response.status_code)

    flip = {"out": "12:00"}

    def mark():
        flip["out"] = "11:45" if flip["out"] == "12:00" else "12:00"
        data = {}
        for pk in attendees:
            data.update({f"status-{pk}": "attended", f"time_in-{pk}": "09:00", f"time_out-{pk}": flip["out"]})
        response = client.post(f"/group-sessions/{session.pk}/", data)
        assert response.status_code == 302, response.status_code

    checks = [machine.cpu_check()]
    results = [
        ("roster (page)", harness.timed(lambda: get(f"/group-sessions/{session.pk}/"), args.repeat, checks)),
        (
            "roster (API detail)",
            harness.timed(lambda: get(f"/api/v1/group-sessions/{session.pk}/"), args.repeat, checks),
        ),
        ("weekly sheet (page)", harness.timed(lambda: get("/attendance-sheet/", sheet), args.repeat, checks)),
        ("weekly sheet (API)", harness.timed(lambda: get("/api/v1/attendance-sheet/", sheet), args.repeat, checks)),
        (
            "weekly sheet (XLSX)",
            harness.timed(lambda: get("/attendance-sheet/", {**sheet, "format": "xlsx"}), args.repeat, checks),
        ),  # fmt: skip
        (f"mark {ATTENDEES} attendees (one POST)", harness.timed(mark, args.repeat, checks)),
    ]
    print(f"\n{ATTENDEES} attendees; session {session.date}; sheet {sheet['week']}")
    print(f"{'request':34} {'median ms':>10} {'p95 ms':>8}  budget {BUDGET_MS:.0f} ms")
    for name, samples in results:
        median = statistics.median(samples)
        print(f"{name:34} {median:10.1f} {harness.p95(samples):8.1f}  {'ok' if median < BUDGET_MS else 'OVER'}")
    print(machine.describe(checks))


if __name__ == "__main__":
    main()
