"""Calendar latency on PostgreSQL with millions of appointments: the month view, the day view and the API.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/spectrum_bench_calendar \\
        .venv/bin/python bench/calendar_views.py --appointments 2000000

Creates and migrates the database if needed, loads synthetic patients and appointments (COPY, spread over
the weekdays of eight years back and one ahead: about 850 a day), then times in-process requests through
Django's test client as a front-desk user (every middleware and the rendering included) and, for the
month, the bare aggregate in raw SQL.
"""

import argparse
import datetime
import io
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

BUDGET_MS = 50.0
YEARS_BACK, YEARS_AHEAD = 8, 1


def weekdays(first: datetime.date, last: datetime.date) -> list[datetime.date]:
    days, day = [], first
    while day <= last:
        if day.weekday() < 5:
            days.append(day)
        day += datetime.timedelta(days=1)
    return days


def load_appointments(wanted: int) -> None:
    from django.db import connection
    from django.utils import timezone
    from encrypted_model_fields.fields import encrypt_str

    from accounts.models import User
    from patients.models import Patient
    from scheduling.models import Appointment, AppointmentSeries, ServiceType

    have = Appointment.objects.count()
    if have >= wanted:
        return
    rng = random.Random(11)
    today = timezone.localdate()
    days = weekdays(
        today - datetime.timedelta(days=365 * YEARS_BACK), today + datetime.timedelta(days=365 * YEARS_AHEAD)
    )
    patient_ids = list(Patient.objects.values_list("id", flat=True))
    clinicians = [
        User.objects.get_or_create(
            email=f"clinician{i}@bench.test", defaults={"role": "nurse", "full_name": f"Clinician {i}"}
        )[0].pk
        for i in range(12)
    ]
    services = list(ServiceType.objects.values_list("id", "code", "default_duration_minutes", "billing_code"))
    series_ids = list(AppointmentSeries.objects.values_list("id", flat=True))
    if not series_ids:
        anchor = Patient.objects.first()
        service = ServiceType.objects.get(code="PSR")
        AppointmentSeries.objects.bulk_create(
            AppointmentSeries(patient=anchor, service_type=service, start_date=today, start_time=datetime.time(9),
                              duration_minutes=180, frequency="weekly", weekdays="mon,wed,fri", count=3)
            for _ in range(2000)
        )  # fmt: skip
        series_ids = list(AppointmentSeries.objects.values_list("id", flat=True))
    empty_notes = encrypt_str("").decode()  # one valid token: notes are empty here, encrypting each is not the point
    now = timezone.now().isoformat()
    columns = (
        "patient_id, clinician_id, service_type_id, date, start_time, end_time, duration_minutes, status, notes, "
        "billing_code, series_id, original_date, is_exception, override_reason, progress_note, created_at, updated_at"
    )
    outcome = ["attended"] * 17 + ["no_show", "no_show", "late_cancel", "cancelled_by_patient"]
    started = time.monotonic()
    remaining = wanted - have
    with connection.cursor() as cursor:
        while remaining > 0:
            block = min(200_000, remaining)
            buffer = io.StringIO()
            for _ in range(block):
                day = rng.choice(days)
                service_id, code, minutes, billing = rng.choice(services)
                hour = rng.randint(9, 15)
                start = datetime.time(hour, rng.choice((0, 15, 30, 45)))
                minutes = min(minutes, (17 - hour) * 60 - start.minute)
                end = (datetime.datetime.combine(day, start) + datetime.timedelta(minutes=minutes)).time()
                status = rng.choice(outcome) if day < today else "scheduled"
                series = str(rng.choice(series_ids)) if code == "PSR" else "\\N"
                buffer.write(
                    f"{rng.choice(patient_ids)}\t{rng.choice(clinicians)}\t{service_id}\t{day}\t{start}\t{end}\t{minutes}\t"
                    f"{status}\t{empty_notes}\t{billing}\t{series}\t\\N\tf\t\t{empty_notes}\t{now}\t{now}\n"
                )
            buffer.seek(0)
            with cursor.copy(f"COPY scheduling_appointment ({columns}) FROM STDIN") as copy:
                copy.write(buffer.read())
            remaining -= block
            done = wanted - have - remaining
            print(
                f"  appointments: {done:,}/{wanted - have:,} ({done / (time.monotonic() - started):,.0f}/s)", flush=True
            )
        # As autovacuum would soon after: the visibility map lets the month aggregate read the index alone.
        cursor.execute("VACUUM (ANALYZE) scheduling_appointment")
        # And statistics for every other table: without them PostgreSQL guessed 25,000 rows for the day view's
        # group-session query (an empty table here) and JIT-compiled it on every request (~17 ms measured).
        cursor.execute("ANALYZE")
    from scheduling import day_cache

    day_cache.forget_all()  # COPY bypasses save(): rendered rows cached before the load are stale


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--appointments", type=int, default=2_000_000)
    parser.add_argument("--patients", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    harness.bench_database_url("spectrum_bench_calendar")

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from accounts.models import User
    from patients import demo
    from patients.models import Patient
    from scheduling.models import Appointment

    settings.ALLOWED_HOSTS = ["testserver"]
    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)  # production static storage, as served
    missing = args.patients - Patient.objects.count()
    if missing > 0:
        print(f"Loading {missing:,} patients…", flush=True)
        demo.load(missing)
    print(f"Loading appointments up to {args.appointments:,}…", flush=True)
    load_appointments(args.appointments)
    total = Appointment.objects.count()

    user, _ = User.objects.get_or_create(
        email="frontdesk@bench.test", defaults={"role": "staff", "full_name": "Front Desk"}
    )
    client = Client()
    client.force_login(user)
    today = timezone.localdate()
    month = f"{today:%Y-%m}"
    busy_day = today - datetime.timedelta(days=today.weekday() + 7)  # last week's Monday: past, fully marked
    per_day = Appointment.objects.filter(date=busy_day).count()

    def get(url: str, **params):
        response = client.get(url, params)
        assert response.status_code == 200, (url, response.status_code)
        return response

    first, last = (
        datetime.date(today.year, today.month, 1),
        (datetime.date(today.year, today.month, 28) + datetime.timedelta(days=4)).replace(day=1)
        - datetime.timedelta(days=1),
    )
    raw_sql = (
        "SELECT date, status, COUNT(*), COUNT(series_id) FROM scheduling_appointment "
        "WHERE date BETWEEN %s AND %s GROUP BY date, status"
    )

    def raw():
        with connection.cursor() as cursor:
            cursor.execute(raw_sql, [first, last])
            cursor.fetchall()

    checks = [machine.cpu_check()]
    results = [
        ("month view (page)", harness.timed(lambda: get("/calendar/", month=month), args.repeat, checks)),
        ("day view (page 1 of the day)", harness.timed(lambda: get(f"/calendar/{busy_day}/"), args.repeat, checks)),
        ("calendar API (month)", harness.timed(lambda: get("/api/v1/calendar/", month=month), args.repeat, checks)),
        ("month aggregate, raw SQL", harness.timed(raw, args.repeat, checks)),
    ]
    print(f"\n{total:,} appointments; {per_day} on {busy_day} (the day view shows 50 per page)")
    print(f"{'request':34} {'median ms':>10} {'p95 ms':>8}  budget")
    for name, samples in results:
        median = statistics.median(samples)
        verdict = "" if "raw" in name else ("ok" if median < BUDGET_MS else "OVER")
        print(f"{name:34} {median:10.1f} {harness.p95(samples):8.1f}  {verdict}")
    print(machine.describe(checks))
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, COSTS OFF) " + raw_sql, [first, last])
        plan = [row[0] for row in cursor.fetchall()]
    print("\nPlan of the month aggregate:\n  " + "\n  ".join(plan))


if __name__ == "__main__":
    main()
