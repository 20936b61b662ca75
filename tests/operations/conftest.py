import datetime
import os
import socket
from urllib.parse import urlparse

import pytest
from cryptography.fernet import Fernet
from django.db import connection
from django.db.models import Q

from authorizations.models import Authorization
from operations import tables
from scheduling.models import Appointment, ServiceType
from tests.factories import PatientFactory


@pytest.fixture(autouse=True)
def _clinic_clock(ticking_clinic_clock):
    """Exports, backups and reports date their data from today; every test starts
    at the same clinic time (see tests/conftest.py)."""
    return ticking_clinic_clock


BACKUP_KEY = Fernet.generate_key().decode()


def committing(test):
    """For tests whose data must be committed (pg_dump and psql see only committed rows).

    ``reference_data``: earlier transactional tests may have flushed the data migrations' rows.
    """
    test = pytest.mark.django_db(transaction=True, serialized_rollback=True)(test)
    return pytest.mark.usefixtures("reference_data")(test)


# Values that must never appear in plaintext in a backup file or its manifest.
PHI = {
    "last_name": "Quintanilla-Oyelaran",
    "ssn": "219-09-9999",
    "diagnosis": "Schizoaffective disorder, bipolar type",
    "medicaid_id": "5551234567",
}
NOTE = "Discussed the custody hearing at length"


@pytest.fixture(autouse=True)
def _backup_settings(settings, tmp_path):
    settings.BACKUP_ENCRYPTION_KEY = BACKUP_KEY
    settings.BACKUP_DIR = tmp_path / "backups"
    settings.BACKUP_RETENTION = 14


@pytest.fixture
def clinic(db, admin_user, doctor_user, nurse_user, staff_user, read_only_user):
    """A small clinic: users of every role, patients with PHI, appointments, an authorization, audit entries."""
    ind = ServiceType.objects.get(code="IND")
    marked = PatientFactory(first_name="Inés", **PHI, insurance_number="ZX-445566", allergies="Penicillin")
    others = [PatientFactory() for _ in range(4)]
    inactive = PatientFactory(last_name="Gone", is_active=False)
    today = datetime.date.today()
    appointments = [
        Appointment.objects.create(
            patient=patient,
            service_type=ind,
            clinician=nurse_user,
            date=today + datetime.timedelta(days=i + 1),
            start_time=datetime.time(10, 0),
            duration_minutes=60,
            notes=NOTE if i == 0 else "",
        )  # fmt: skip
        for i, patient in enumerate([marked, *others[:2]])
    ]
    authorization = Authorization.objects.create(
        patient=marked, payer="Sunshine Health", auth_number="SH-1001", units_authorized=12,
        start_date=today - datetime.timedelta(days=30), end_date=today + datetime.timedelta(days=60),
        approval_date=today - datetime.timedelta(days=30), notes="Prior auth call ref 7781",
    )  # fmt: skip
    authorization.service_types.set([ind])
    return {
        "patient": marked,
        "patients": [marked, *others, inactive],
        "inactive": inactive,
        "appointments": appointments,
        "authorization": authorization,
        "users": [admin_user, doctor_user, nurse_user, staff_user, read_only_user],
    }


def database_state(*, ignore_events: tuple[str, ...] = ()) -> dict[str, dict]:
    """Row counts and checksums of every table (the audit trail without entries named in ``ignore_events``,
    and without its chain head, which moves with every entry)."""
    state = {}
    for table in tables.inventory():
        exclude = Q(event__in=ignore_events) if table.name == tables.AUDIT_TABLE and ignore_events else None
        if table.name == tables.AUDIT_CHAIN_HEAD_TABLE:
            continue  # the chain's head follows the entries (and the ones ignored); compared through them
        digest = tables.TableDigest()
        for row in tables.read_rows(table, exclude=exclude):
            digest.add(tables.canonical(row))
        state[table.name] = digest.summary()
    return state


# --- Live services (PostgreSQL server, Redis) for the tests that start processes ------------------------


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int) -> None:
    """Skip when ``name`` cannot be reached, except in CI (CI=true), where it must be."""
    if _reachable(host, port):
        return
    message = f"{name} is not reachable at {host}:{port}"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message}; it is required when CI=true.")
    pytest.skip(message)


@pytest.fixture
def postgres_server():
    """The PostgreSQL server the suite runs on (these tests run in the PostgreSQL pass only)."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL=postgres://…)")
    return connection.settings_dict


@pytest.fixture
def redis_url():
    url = os.environ.get("SPECTRUM_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
    parsed = urlparse(url)
    require_service("Redis", parsed.hostname or "127.0.0.1", parsed.port or 6379)
    return url
