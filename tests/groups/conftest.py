import datetime

import pytest

from groups import services
from scheduling.models import ServiceType
from tests.factories import PatientFactory, UserFactory

D = datetime.date
T = datetime.time


@pytest.fixture(autouse=True)
def _clinic_clock(frozen_clinic_clock):
    """Every test here depends on today and the time of day: Wednesday 2026-05-13 11:30 (tests/conftest.py)."""
    return frozen_clinic_clock


@pytest.fixture
def psr(db):
    return ServiceType.objects.get(code="PSR")  # group service, 15-minute units, capacity 16


@pytest.fixture
def clinician(db):
    return UserFactory(role="nurse", full_name="Nina Nurse", email="nina@clinic.test")


@pytest.fixture
def make_group(db, admin_user, psr, clinician):
    def make(**overrides):
        data = {
            "name": "PSR AM", "service_type": psr, "weekdays": ["mon", "tue", "wed", "thu", "fri"],
            "start_time": T(9), "duration_minutes": 180, "clinician": clinician, "program_session": "AM",
            "location": "Room 2", "start_date": D(2026, 5, 11), "end_date": D(2026, 6, 5),
        }  # fmt: skip
        data.update(overrides)
        return services.create_group(actor=overrides.pop("actor", admin_user), data=data)

    return make


@pytest.fixture
def group(make_group):
    return make_group()


@pytest.fixture
def make_patient(db):
    def make(**fields):
        fields.setdefault("session", "AM")
        return PatientFactory(**fields)

    return make


@pytest.fixture
def today_session(group):
    """Today's session (Wednesday 2026-05-13, 9:00–12:00): it has started at 11:30."""
    return group.sessions.get(date=D(2026, 5, 13))


@pytest.fixture
def enrolled(admin_user, group, make_patient):
    """Three AM patients enrolled from Monday 2026-05-11 (today's session is on their roster)."""
    patients = [
        make_patient(first_name=first, last_name=last)
        for first, last in (("Ana", "Alvarez"), ("Ben", "Brown"), ("Cora", "Cruz"))
    ]
    for patient in patients:
        services.enroll_patient(actor=admin_user, group=group, patient=patient, start_date=D(2026, 5, 11))
    return patients
