"""Exactly once under real concurrency: two sweeps (a duplicated beat tick) and two workers over the same
window, on PostgreSQL's row locks (SQLite serialises writers, so this runs on PostgreSQL only)."""

import datetime
import threading

import pytest
from django.db import connection, connections

from consents.models import Consent
from reminders import services
from reminders.models import Reminder
from scheduling.models import Appointment, ServiceType
from tests.factories import PatientFactory

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL's concurrent transactions"),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.usefixtures("reference_data"),
]

FRIDAY = datetime.date(2026, 5, 15)


def run_together(*jobs):
    barrier = threading.Barrier(len(jobs))
    errors = []

    def run(job):
        try:
            barrier.wait()
            job()
        except Exception as exc:  # noqa: BLE001  (reported below)
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []


@pytest.fixture
def due_appointments(db):
    service = ServiceType.objects.get(code="IND")
    appointments = []
    for index in range(12):
        patient = PatientFactory(email=f"patient{index}@example.test", reminder_channel="email")
        Consent.objects.create(patient=patient, kind="reminders_email", status="given", recorded_on=FRIDAY)
        appointments.append(
            Appointment.objects.create(
                patient=patient,
                service_type=service,
                date=FRIDAY,
                start_time=datetime.time(8 + index // 4, (index % 4) * 15),
                duration_minutes=30,
            )  # fmt: skip
        )
    return appointments


def test_two_sweeps_and_two_workers_send_each_reminder_once(smtp_server, due_appointments, ticking_clinic_clock):
    queue: list[int] = []
    lock = threading.Lock()

    def beat_tick():
        services.sweep(dispatch=lambda reminder_id: (lock.acquire(), queue.append(reminder_id), lock.release()))

    run_together(beat_tick, beat_tick)  # a duplicated beat tick: both derive and claim at the same moment
    claimed = sorted(queue)
    assert len(claimed) == len(set(claimed)) == len(due_appointments)

    def worker():
        for reminder_id in claimed:  # every message delivered to both workers (redelivery, acks_late)
            services.deliver(reminder_id)

    run_together(worker, worker)
    assert sorted(envelope.rcpt_tos[0] for envelope in smtp_server.envelopes) == sorted(
        f"patient{index}@example.test" for index in range(12)
    )
    sent = Reminder.objects.filter(status="sent")
    assert sent.count() == len(due_appointments)
    assert set(sent.values_list("attempts", flat=True)) == {1}
    assert Reminder.objects.filter(kind="reminder").count() == 2 * len(due_appointments)  # 48 h and 2 h, once


def test_concurrent_in_process_sweeps_send_once(smtp_server, due_appointments, ticking_clinic_clock):
    run_together(services.sweep, services.sweep, services.sweep)
    assert len(smtp_server.envelopes) == len(due_appointments)
