"""Two simultaneous requests for the same slot cannot both succeed (row locks in the booking transaction).

Needs real concurrent connections, so it runs on PostgreSQL (SQLite serialises writers anyway).
"""

import datetime
import threading
import time

import pytest
from django.db import connection, connections

from scheduling import services
from scheduling.models import Appointment, ServiceType
from tests.factories import PatientFactory, UserFactory
from tests.scheduling.conftest import next_weekday

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL's concurrent transactions"),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.usefixtures("reference_data"),
]


def race(bookings, monkeypatch) -> list[object]:
    """Run the bookings at the same moment; each checks for conflicts, then waits before inserting."""
    original = services.find_conflicts

    def slow_find_conflicts(**kwargs):
        found = original(**kwargs)
        time.sleep(0.3)  # without the row locks, both requests would pass the check here
        return found

    monkeypatch.setattr(services, "find_conflicts", slow_find_conflicts)
    barrier = threading.Barrier(len(bookings))
    results: list[object] = [None] * len(bookings)

    def run(index, booking):
        try:
            barrier.wait()
            results[index] = booking()
        except Exception as exc:  # noqa: BLE001  (the outcome is what the test checks)
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, booking)) for i, booking in enumerate(bookings)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def test_same_patient_same_slot_only_one_wins(monkeypatch):
    staff = UserFactory(role="staff")
    patient = PatientFactory()
    service = ServiceType.objects.get(code="IND")
    day = next_weekday(1)

    def booking():
        return services.book_appointment(
            actor=staff, patient=patient, service_type=service, date=day, start_time=datetime.time(10)
        )

    results = race([booking, booking], monkeypatch)
    assert sorted(type(result).__name__ for result in results) == ["Appointment", "SchedulingConflict"]
    assert Appointment.objects.filter(patient=patient).count() == 1


def test_same_clinician_same_slot_only_one_wins(monkeypatch):
    staff = UserFactory(role="staff")
    clinician = UserFactory(role="nurse")
    service = ServiceType.objects.get(code="IND")
    day = next_weekday(2)
    patients = [PatientFactory(), PatientFactory()]

    def booking_for(patient):
        return lambda: services.book_appointment(
            actor=staff,
            patient=patient,
            service_type=service,
            date=day,
            start_time=datetime.time(11),
            clinician=clinician,
        )

    results = race([booking_for(p) for p in patients], monkeypatch)
    assert sorted(type(result).__name__ for result in results) == ["Appointment", "SchedulingConflict"]
    assert Appointment.objects.filter(clinician=clinician).count() == 1
