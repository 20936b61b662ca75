import datetime

import pytest
from django.utils import timezone

from scheduling.models import ServiceType
from tests.factories import PatientFactory, UserFactory


@pytest.fixture(autouse=True)
def _clinic_clock(frozen_clinic_clock):
    """Every test here depends on today and the time of day: the clock stands still (see tests/conftest.py)."""
    return frozen_clinic_clock


@pytest.fixture
def psr(db):
    return ServiceType.objects.get(code="PSR")


@pytest.fixture
def ind(db):
    return ServiceType.objects.get(code="IND")


@pytest.fixture
def clinician(db):
    return UserFactory(role="nurse", full_name="Nina Nurse", email="nina@clinic.test")


@pytest.fixture
def patient(db):
    return PatientFactory(first_name="Maria", last_name="Lopez")


def next_weekday(weekday: int, *, weeks_ahead: int = 1) -> datetime.date:
    """A date ``weeks_ahead`` weeks from now on ``weekday`` (0 = Monday): safely in the future."""
    today = timezone.localdate()
    return today + datetime.timedelta(days=(weekday - today.weekday()) % 7 + 7 * weeks_ahead)


def past_weekday(weekday: int, *, weeks_back: int = 1) -> datetime.date:
    today = timezone.localdate()
    return today - datetime.timedelta(days=(today.weekday() - weekday) % 7 + 7 * weeks_back)
