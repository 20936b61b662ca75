"""The day view and the dashboard under load at 2,000,000 appointments: gunicorn as shipped, wrk, 16 connections.

    # 1. Load (once) into spectrum_bench_calendar: 20,000 patients, 2,000,000 appointments (COPY;
    #    --method bulk_create is the slower alternative)
    .venv/bin/python bench/load_calendar.py load --appointments 2000000
    # 2. Serve and load it: the day view (days of this week and last, in rotation), the dashboard and a
    #    25-patient group session's roster (once loaded: the loader adds the group after the appointments)
    .venv/bin/python bench/load_calendar.py run
    .venv/bin/python bench/load_calendar.py run --rounds 3 \\
        --variant before:app=/tmp/spectrum-before,db=spectrum_bench_calendar_before \\
        --variant after:app=.,db=spectrum_bench_calendar

`run` is bench/load_search.py with the calendar's endpoints and terms (same server set-up, sign-in, warm-up,
wrk script and figures: requests/s, p50, p99, CPU per request); see bench/README.md. Both steps share the
keys in /tmp/spectrum-bench-calendar/secrets.json, so encrypted columns written by the loader read back.
"""

import argparse
import datetime
import os
import random
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

import load_search  # noqa: E402  (bench/ is not a package: the harness is imported from beside this file)

DATABASE = "spectrum_bench_calendar"
SECRETS = Path("/tmp/spectrum-bench-calendar/secrets.json")
YEARS_BACK, YEARS_AHEAD = 8, 1
ENDPOINTS = {
    # The day page (50 rows of a ~850-appointment day, each with its status control) and the home page.
    "day": ("/calendar/", {}),
    "dashboard": ("/?day=", {}),
    # "roster" (/group-sessions/<id>/, today's session of the 25-patient group the loader adds) is added by
    # run() once it has found that session in the variant's database; the term goes into an ignored parameter.
}
ROSTER_GROUP = "PSR AM (bench)"  # bench/group_pages.py's group: 25 patients, a year of marked, signed sessions


def day_terms(today: datetime.date) -> list[str]:
    """This week's and last week's weekdays, each "YYYY-MM-DD/" (the slash arrives as %2F, which gunicorn decodes)."""
    monday = today - datetime.timedelta(days=today.weekday())
    days = [monday + datetime.timedelta(days=offset) for offset in range(-7, 5)]
    return [f"{day.isoformat()}/" for day in days if day.weekday() < 5]


def load(args: argparse.Namespace) -> None:
    keys = load_search.bench_secrets(args.secrets)
    url = f"postgres://postgres@127.0.0.1:5432/{args.db}"
    if args.db in ("spectrum", "postgres") or args.db.startswith("test_"):
        sys.exit(f"Refusing to load into {args.db!r}.")
    os.environ.update(
        DATABASE_URL=url, FIELD_ENCRYPTION_KEY=keys["FIELD_ENCRYPTION_KEY"], SEARCH_HASH_KEY=keys["SEARCH_HASH_KEY"],
        SECRET_KEY=keys["SECRET_KEY"], DEBUG="false", RATELIMIT_ENABLE="false",
    )  # fmt: skip
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spectrum.settings")
    sys.path.insert(0, str(REPO))
    import calendar_views
    import harness

    harness.ensure_database(url)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from accounts.models import User
    from patients import demo
    from patients.models import Patient
    from scheduling.models import Appointment, ServiceType

    call_command("migrate", verbosity=0)
    missing = args.patients - Patient.objects.count()
    if missing > 0:
        print(f"Loading {missing:,} patients…", flush=True)
        demo.load(missing)
    have = Appointment.objects.count()
    if have >= args.appointments:
        print(f"{have:,} appointments already.")
        return
    if args.method == "copy":
        # COPY: on this shared 2-core machine bulk_create managed ~1,300 rows/s (26 min for 2M); COPY is
        # bench/calendar_views.py's loader (same spread of days, services and outcomes).
        calendar_views.load_appointments(args.appointments)
        print(f"{Appointment.objects.count():,} appointments in {args.db}.")
        return
    rng = random.Random(16)
    today = timezone.localdate()
    days = calendar_views.weekdays(
        today - datetime.timedelta(days=365 * YEARS_BACK), today + datetime.timedelta(days=365 * YEARS_AHEAD)
    )
    patient_ids = list(Patient.objects.values_list("id", flat=True))
    clinicians = [
        User.objects.get_or_create(
            email=f"clinician{i}@bench.test", defaults={"role": "nurse", "full_name": f"Clinician {i}"}
        )[0].pk
        for i in range(12)
    ]
    services = list(ServiceType.objects.values_list("id", "default_duration_minutes", "billing_code"))
    # Past days: outcomes, with a few left unmarked (1 in 2,000, as in a clinic); from today on: booked.
    outcome = ["attended"] * 17 + ["no_show", "no_show", "late_cancel", "cancelled_by_patient"]
    started, remaining = time.monotonic(), args.appointments - have
    while remaining > 0:
        block = []
        for _ in range(min(args.batch, remaining)):
            day = rng.choice(days)
            service_id, minutes, billing = rng.choice(services)
            hour = rng.randint(9, 15)
            start = datetime.time(hour, rng.choice((0, 15, 30, 45)))
            minutes = min(minutes, (17 - hour) * 60 - start.minute)
            status = "scheduled" if day >= today or rng.random() < 0.0005 else rng.choice(outcome)
            appointment = Appointment(
                patient_id=rng.choice(patient_ids), clinician_id=rng.choice(clinicians), service_type_id=service_id,
                date=day, start_time=start, duration_minutes=minutes, status=status, billing_code=billing,
            )  # fmt: skip
            appointment.end_time = appointment.compute_end_time()  # bulk_create does not call save()
            block.append(appointment)
        Appointment.objects.bulk_create(block, batch_size=5000)
        remaining -= len(block)
        done = args.appointments - have - remaining
        print(f"  appointments: {done:,} ({done / (time.monotonic() - started):,.0f}/s)", flush=True)
    with connection.cursor() as cursor:
        # As autovacuum would soon after: the visibility map lets index-only scans skip the table.
        cursor.execute("VACUUM (ANALYZE) scheduling_appointment")
    print(f"{Appointment.objects.count():,} appointments in {args.db}.")


def load_roster_group() -> None:
    """The roster endpoint's group, once (after ``load``): bench/group_pages.py's 25-patient PSR AM group with
    a year of sessions marked and signed through the services (audit entries included)."""
    import group_pages
    from django.utils import timezone

    from accounts.models import User

    admin, _ = User.objects.get_or_create(email="admin@bench.test", defaults={"role": "admin", "full_name": "Admin"})
    nurse, _ = User.objects.get_or_create(email="nurse@bench.test", defaults={"role": "nurse", "full_name": "Nurse"})
    print(f"The roster's group ({ROSTER_GROUP}, once)…", flush=True)
    group = group_pages.load(admin, nurse)
    session = group.sessions.filter(date__lte=timezone.localdate()).order_by("-date").first()
    print(f"Roster: /group-sessions/{session.pk}/ ({session.date}, {session.attendees.count()} attendees).")


def roster_session_id(db: str) -> int | None:
    """Today's (or the latest past) session of the roster's group in ``db``; None before ``load``."""
    import psycopg

    with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{db}") as conn:
        row = conn.execute(
            "SELECT s.id FROM groups_groupsession s JOIN groups_group g ON g.id = s.group_id"
            " WHERE g.name = %s AND s.date <= current_date ORDER BY s.date DESC LIMIT 1",
            [ROSTER_GROUP],
        ).fetchone()
    return row[0] if row else None


def run(argv: list[str]) -> None:
    load_search.ENDPOINTS = ENDPOINTS
    load_search.DEFAULT_TERMS = day_terms(datetime.date.today())
    if not any(arg.startswith("--secrets") for arg in argv):
        argv += ["--secrets", str(SECRETS)]
    if not any(arg.startswith("--variant") for arg in argv):
        argv += ["--variant", f"current:app={REPO},db={DATABASE}"]
    if not any(arg.startswith("--redis-db") for arg in argv):
        argv += ["--redis-db", "3"]  # this branch's Redis database (one more per extra variant)
    # The roster's session id is the same in every variant's copy of the database: the first one's is used.
    variant = next(arg if "=" in arg.split(":")[0] else value for arg, value in zip(argv, [*argv[1:], ""], strict=True)
                   if arg.startswith("--variant"))  # fmt: skip
    first_db = variant.split("db=")[-1].split(",")[0]
    session_id = roster_session_id(first_db)
    if session_id is not None:
        ENDPOINTS["roster"] = (f"/group-sessions/{session_id}/?from=", {})
    sys.argv = [sys.argv[0], *argv]
    try:
        load_search.main()
    except ZeroDivisionError:  # the summary's p99/p50 when an endpoint answered nothing in time (p50 = 0)
        print("(summary skipped: an endpoint had no request answered within the timeout; see the lines above)")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "run":
        run(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["load", "run"])
    parser.add_argument("--db", default=DATABASE)
    parser.add_argument("--appointments", type=int, default=2_000_000)
    parser.add_argument("--patients", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=100_000)
    parser.add_argument("--method", choices=["copy", "bulk_create"], default="copy")
    parser.add_argument("--secrets", type=Path, default=SECRETS)
    load(parser.parse_args())
    load_roster_group()


if __name__ == "__main__":
    main()
