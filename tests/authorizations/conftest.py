import datetime

import pytest
from django.utils import timezone

from authorizations.models import Authorization
from scheduling.models import ServiceType
from tests.factories import PatientFactory


@pytest.fixture(autouse=True)
def _clinic_clock(frozen_clinic_clock):
    """Every test here depends on today and the time of day: the clock stands still (see tests/conftest.py)."""
    return frozen_clinic_clock


@pytest.fixture
def psr(db):
    return ServiceType.objects.get(code="PSR")  # unit-billed: 15 minutes


@pytest.fixture
def ind(db):
    return ServiceType.objects.get(code="IND")  # per visit


@pytest.fixture
def patient(db):
    return PatientFactory(first_name="Maria", last_name="Lopez")


@pytest.fixture
def make_authorization(db, patient, ind):
    def make(
        *, services=None, units=10, start=None, end=None, approved=True, payer="Sunshine Health", number=None, **extra
    ):
        today = timezone.localdate()
        authorization = Authorization.objects.create(
            patient=extra.pop("for_patient", patient), payer=payer,
            auth_number=number or f"A{Authorization.objects.count() + 1:05d}", units_authorized=units,
            start_date=start or today - datetime.timedelta(days=60), end_date=end or today + datetime.timedelta(days=60),
            approval_date=(start or today - datetime.timedelta(days=60)) if approved else None, **extra,
        )  # fmt: skip
        authorization.service_types.set(services or [ind])
        return authorization

    return make
