"""The reminder sweep over millions of appointments: time and queries per sweep must not grow with the table.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/spectrum_bench_reminders_200k \\
        .venv/bin/python bench/reminder_sweep.py --appointments 200000
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/spectrum_bench_reminders \\
        .venv/bin/python bench/reminder_sweep.py --appointments 2000000

Creates and migrates the database if needed and loads synthetic appointments with COPY over eight years
back and one ahead, leaving out the next four days (a table with more than asked for is emptied first);
then (re)books the same due set at every size: ``--due`` appointments starting two to three hours from now.
The sweeps run an hour from now, when exactly one reminder of each (the 2-hour one) is due and nothing else,
so what changes between sizes is only the table.

Measured, each with its query count:
- the first sweep: derives the rows and claims them (dispatch is a no-op: sending is the workers' part);
- the claiming sweep, ``--repeat`` times, the claimed rows put back to waiting before each: median and p95;
- a steady sweep: nothing new to derive, nothing due (what beat runs every minute most of the time);
- EXPLAIN ANALYZE of the claim query (the partial index on the send time) and of the window's appointments.
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

PATIENTS = 20_000


def load_appointments(wanted: int, skip: set[datetime.date]) -> None:
    """Top the table up to ``wanted`` appointments (COPY), none on the ``skip`` days."""
    from django.db import connection
    from django.utils import timezone
    from encrypted_model_fields.fields import encrypt_str

    from patients.models import Patient
    from scheduling.models import Appointment, ServiceType

    have = Appointment.objects.count()
    if have == wanted:
        return
    if have > wanted:  # a smaller size: empty the table and load it again (reminders and history go with it)
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE scheduling_appointment CASCADE")
        have = 0
    rng = random.Random(7)
    today = timezone.localdate()
    days = [
        today + datetime.timedelta(days=offset)
        for offset in range(-365 * 8, 365)
        if (today + datetime.timedelta(days=offset)).weekday() < 5
        and today + datetime.timedelta(days=offset) not in skip
    ]
    patient_ids = list(Patient.objects.values_list("id", flat=True))
    services = list(ServiceType.objects.values_list("id", "default_duration_minutes", "billing_code"))
    empty_notes = encrypt_str("").decode()
    now = timezone.now().isoformat()
    columns = (
        "patient_id, service_type_id, date, start_time, end_time, duration_minutes, status, notes, billing_code, "
        "is_exception, override_reason, progress_note, created_at, updated_at"
    )
    remaining = wanted - have
    started = time.monotonic()
    with connection.cursor() as cursor:
        while remaining > 0:
            block = min(200_000, remaining)
            buffer = io.StringIO()
            for _ in range(block):
                day = rng.choice(days)
                service_id, minutes, billing = rng.choice(services)
                hour = rng.randint(9, 15)
                start = datetime.time(hour, rng.choice((0, 15, 30, 45)))
                minutes = min(minutes, (17 - hour) * 60 - start.minute)
                end = (datetime.datetime.combine(day, start) + datetime.timedelta(minutes=minutes)).time()
                status = "attended" if day < today else "scheduled"
                buffer.write(
                    f"{rng.choice(patient_ids)}\t{service_id}\t{day}\t{start}\t{end}\t{minutes}\t{status}\t"
                    f"{empty_notes}\t{billing}\tf\t\t{empty_notes}\t{now}\t{now}\n"
                )
            buffer.seek(0)
            with cursor.copy(f"COPY scheduling_appointment ({columns}) FROM STDIN") as copy:
                copy.write(buffer.read())
            remaining -= block
            done = wanted - have - remaining
            print(f"  appointments: {done:,} ({done / (time.monotonic() - started):,.0f}/s)", flush=True)
        cursor.execute("VACUUM (ANALYZE) scheduling_appointment")


def book_due(due: int) -> None:
    """Replace the next four days' appointments (and all reminders) with ``due`` appointments starting two to
    three hours from now: an hour from now, exactly one reminder of each (the 2-hour one) is due."""
    from django.db import connection
    from django.utils import timezone

    from consents.models import Consent
    from patients.models import Patient
    from scheduling.models import Appointment, ServiceType

    now = timezone.localtime()
    window_days = [now.date() + datetime.timedelta(days=offset) for offset in range(4)]
    with connection.cursor() as cursor:  # raw SQL: no need to decrypt rows loaded under another key
        cursor.execute("DELETE FROM reminders_reminder")
        cursor.execute(
            "DELETE FROM scheduling_appointmentstatuschange WHERE appointment_id IN "
            "(SELECT id FROM scheduling_appointment WHERE date = ANY(%s))",
            [window_days],
        )
        cursor.execute("DELETE FROM scheduling_appointment WHERE date = ANY(%s)", [window_days])
    rng = random.Random(3)
    service = ServiceType.objects.get(code="IND")
    patients = list(Patient.objects.order_by("id").values_list("id", flat=True)[:due])
    Patient.objects.filter(id__in=patients).update(reminder_channel="email")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE patients_patient SET email = 'patient' || id || '@bench.test' WHERE id = ANY(%s)", [patients]
        )
    Consent.objects.filter(patient_id__in=patients).delete()
    Consent.objects.bulk_create(
        Consent(patient_id=pk, kind="reminders_email", status="given", recorded_on=now.date()) for pk in patients
    )
    appointments = []
    for patient_id in patients:
        starts = (now + datetime.timedelta(minutes=rng.randint(121, 180))).replace(tzinfo=None, second=0, microsecond=0)
        appointments.append(
            Appointment(
                patient_id=patient_id,
                service_type=service,
                date=starts.date(),
                start_time=starts.time(),
                duration_minutes=5,
            )  # fmt: skip
        )
    for appointment in appointments:
        appointment.end_time = appointment.compute_end_time()
    Appointment.objects.bulk_create(appointments, batch_size=1000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE scheduling_appointment")
        cursor.execute("ANALYZE reminders_reminder")


def measure(fn):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    connection.queries_log.clear()  # the log keeps 9,000 entries: count each measurement from empty
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        result = fn()
        elapsed = (time.perf_counter() - started) * 1000
    return result, elapsed, len(queries)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--appointments", type=int, default=2_000_000)
    parser.add_argument("--due", type=int, default=500, help="reminders due in the sweep's window (same at every size)")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    harness.bench_database_url("spectrum_bench_reminders")

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from patients import demo
    from patients.models import Patient
    from reminders import services
    from reminders.models import Reminder
    from scheduling.models import Appointment

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.REMINDER_QUIET_HOURS = ""
    settings.REMINDER_BATCH_SIZE = max(settings.REMINDER_BATCH_SIZE, args.due)  # one batch claims them all
    call_command("migrate", verbosity=0)
    missing = PATIENTS - Patient.objects.count()
    if missing > 0:
        print(f"Loading {missing:,} patients…", flush=True)
        demo.load(missing)
    today = timezone.localdate()
    load_appointments(args.appointments, {today + datetime.timedelta(days=offset) for offset in range(4)})
    book_due(args.due)
    total = Appointment.objects.count()
    load_before = os.getloadavg()
    checks = [machine.cpu_check()]

    moment = timezone.now() + datetime.timedelta(hours=1)  # each booked appointment's 2-hour reminder is due
    sweep = lambda: services.sweep(dispatch=lambda reminder_id: None, now=moment)  # noqa: E731
    # The first sweep derives the rows (one per appointment: the 48-hour offset has passed, the 2-hour one is
    # the most recent passed) and claims them.
    first, first_ms, first_queries = measure(sweep)
    due_rows = Reminder.objects.filter(due_at__lte=moment).count()

    def reset() -> None:  # the claimed reminders waiting again: the next sweep finds the same due set
        Reminder.objects.filter(status="queued").update(status="pending", claimed_at=None)

    timed = []
    claim_sql = ""
    for _ in range(args.repeat):
        reset()
        checks.append(machine.cpu_check())
        result, elapsed, queries = measure(sweep)
        assert len(result.claimed) == due_rows and not result.created, (len(result.claimed), result.created)
        timed.append((elapsed, queries))
    with CaptureQueriesContext(connection) as captured:
        reset()
        sweep()
    sweep_sql = [query["sql"] for query in captured.captured_queries if query["sql"].startswith("SELECT")]
    claim_sql = next(sql for sql in sweep_sql if "SKIP LOCKED" in sql)
    window_sql = next(sql for sql in sweep_sql if "scheduling_appointment" in sql and "reminders_reminder" not in sql)
    reset()
    steady = []  # nothing new and nothing due: what beat's tick does most minutes
    services.sweep(dispatch=lambda reminder_id: None, now=moment)
    for _ in range(args.repeat):
        _, elapsed, queries = measure(sweep)
        steady.append((elapsed, queries))
    checks.append(machine.cpu_check())
    reset()
    plans = {}
    for name, sql in (("claim", claim_sql), ("appointments in the window", window_sql)):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql)
            plans[name] = "\n".join("    " + row[0] for row in cursor.fetchall())
            transaction.set_rollback(True)
    load_after = os.getloadavg()

    times = [elapsed for elapsed, _ in timed]
    steady_ms = [elapsed for elapsed, _ in steady]
    print(f"\nAppointments in the table: {total:,}; reminders due in the sweep's window: {due_rows:,} "
          f"(reminder rows: {Reminder.objects.count():,})")  # fmt: skip
    print(f"First sweep (derives {first.created:,} rows, claims {len(first.claimed):,}): {first_ms:.0f} ms, "
          f"{first_queries} queries")  # fmt: skip
    print(f"Sweep claiming the {due_rows:,} due, {args.repeat} runs (state reset before each): median "
          f"{statistics.median(times):.1f} ms, p95 {percentile(times, 0.95):.1f} ms, queries "
          f"{sorted({queries for _, queries in timed})}")  # fmt: skip
    print(f"Steady sweep (nothing new, nothing due), {args.repeat} runs: "
          f"median {statistics.median(steady_ms):.1f} ms, p95 {percentile(steady_ms, 0.95):.1f} ms, "
          f"queries {sorted({queries for _, queries in steady})}")  # fmt: skip
    for name, plan in plans.items():
        print(f"EXPLAIN ANALYZE, {name} query:\n{plan}")
    print(f"Load average before {load_before[0]:.2f}, after {load_after[0]:.2f} (1 min); {machine.describe(checks)}")


if __name__ == "__main__":
    main()
