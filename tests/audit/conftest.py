import pytest
from django.contrib.contenttypes.models import ContentType

from audit.models import AuditEvent
from tests.factories import PatientFactory


@pytest.fixture(autouse=True)
def _clinic_clock(ticking_clinic_clock):
    """Audit entries are dated and reports count back from today; every test starts
    at the same clinic time (see tests/conftest.py)."""
    return ticking_clinic_clock


# Values that must never appear in plaintext anywhere in the audit table.
SECRETS = {
    "ssn": "123-45-6789",
    "insurance_number": "AB123456",
    "medicaid_id": "9876543210",
    "diagnosis": "Bipolar disorder with psychotic features",
    "allergies": "Penicillin anaphylaxis",
    "medical_history": "Hospitalised twice in 2019",
    "current_medications": "Lithium carbonate 900 mg",
}
AGENT = "pytest-agent/1.0"
REQUEST_ID = "req-0123456789abcdef"


@pytest.fixture
def patient(db):
    return PatientFactory(
        first_name="John",
        last_name="Smith",
        phone="(305) 555-0123",
        diagnosis_codes=["F31.2"],
        **SECRETS,
    )


@pytest.fixture
def login(client, user_for_role):
    """``login("nurse")`` -> the test client signed in as a user with that role."""

    def as_role(role):
        user = user_for_role(role)
        client.force_login(user)
        client.user = user
        return client

    return as_role


@pytest.fixture
def last_id(db):
    """``last_id()`` -> the id of the newest entry (0 if none), to find what a step wrote."""

    def newest() -> int:
        return AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0

    return newest


def entries_since(before: int, **filters) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(id__gt=before, **filters).order_by("id"))


def entry(
    *,
    event: str,
    actor=None,
    at=None,
    patient=None,
    action=AuditEvent.Action.ACCESS,
    address=None,
    email=None,
    data=None,
) -> AuditEvent:
    """An entry as the trail would hold it, at a chosen moment (for report fixtures)."""
    from accounts.models import User
    from patients.models import Patient

    model = Patient if patient is not None else User
    values = {
        "event": event,
        "action": action,
        "content_type": ContentType.objects.get_for_model(model),
        "object_pk": str(patient.pk if patient is not None else (actor.pk if actor else "")),
        "patient_id": patient.pk if patient is not None else None,
        "actor": actor,
        "remote_addr": address,
        "actor_email": email,
        "additional_data": data,
    }
    if at is not None:
        values["timestamp"] = at
    return AuditEvent.objects.create(**values)
