import datetime

import pytest
from django.utils import timezone

from consents.models import Consent
from scheduling.models import Appointment, ServiceType
from tests.factories import PatientFactory, UserFactory


@pytest.fixture(autouse=True)
def _clinic_clock(frozen_clinic_clock):
    """Reminders depend on the time of day: the clock stands still (Wednesday 2026-05-13 11:30, clinic time)."""
    return frozen_clinic_clock


@pytest.fixture(autouse=True)
def _reminder_settings(settings):
    settings.CLINIC_NAME = "Harbor Clinic"
    settings.CLINIC_PHONE = "(305) 555-0100"
    settings.CLINIC_ADDRESS = "1 Bay Road, Miami FL"
    settings.SITE_URL = "https://spectrum.example.test"
    settings.REMINDER_OFFSETS_HOURS = ["48", "2"]
    settings.REMINDER_QUIET_HOURS = "20:00-08:00"
    settings.SMS_BACKEND = "console"


@pytest.fixture
def clinician(db):
    return UserFactory(role="nurse", full_name="Dr Zelda Quill", email="zelda@clinic.test")


@pytest.fixture
def recorder(db):
    return UserFactory(role="staff", full_name="Front Desk", email="desk@clinic.test")


def give_consent(patient, kind, recorder, *, status="given", on=None):
    return Consent.objects.create(
        patient=patient, kind=kind, status=status, recorded_on=on or timezone.localdate(), recorded_by=recorder
    )


@pytest.fixture
def email_patient(db, recorder):
    patient = PatientFactory(
        first_name="Maria", last_name="Lopez", email="maria.lopez@example.test", reminder_channel="email"
    )
    give_consent(patient, Consent.Kind.REMINDERS_EMAIL, recorder)
    return patient


@pytest.fixture
def sms_patient(db, recorder):
    patient = PatientFactory(first_name="Sam", last_name="Reyes", phone="(305) 555-0199", reminder_channel="sms")
    give_consent(patient, Consent.Kind.REMINDERS_SMS, recorder)
    return patient


@pytest.fixture
def book(db, clinician):
    """``book(patient, day, "10:00")`` -> an appointment (TMS: a service type whose name must never leak)."""

    def make(patient, day: datetime.date, start: str, **fields) -> Appointment:
        return Appointment.objects.create(
            patient=patient, clinician=clinician, service_type=ServiceType.objects.get(code="TMS"), date=day,
            start_time=datetime.time.fromisoformat(start), duration_minutes=40,
            notes="Discussed medication side effects", **fields,
        )  # fmt: skip

    return make


TODAY = datetime.date(2026, 5, 13)  # the frozen clinic clock's day (a Wednesday), 11:30
