"""Masked fields never reach the audit table in plaintext: checked in the raw rows, every column."""

import pytest
from auditlog.registry import auditlog
from django.db import connection
from rest_framework.test import APIClient

from audit.masking import MASK, mask_identifiers
from audit.models import AuditEvent
from audit.registry import encrypted_fields
from audit.services import record_export
from patients import services
from patients.models import ENCRYPTED_FIELDS, Patient
from tests.audit.conftest import SECRETS

pytestmark = pytest.mark.django_db

NEW_SECRETS = {
    "ssn": "587-65-4321",
    "insurance_number": "ZX998877",
    "medicaid_id": "5550001112",
    "diagnosis": "Schizoaffective disorder, depressive type",
    "allergies": "Sulfa drugs",
    "medical_history": "Appendectomy 2001",
    "current_medications": "Clozapine 300 mg",
}


def raw_audit_text() -> str:
    """Every column of every audit row, as the database holds it."""
    table = connection.ops.quote_name(AuditEvent._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table}")  # noqa: S608  (a constant table name)
        return "\n".join(" | ".join("" if value is None else str(value) for value in row) for row in cursor.fetchall())


def forbidden_strings() -> list[str]:
    values = [*SECRETS.values(), *NEW_SECRETS.values(), "F31.2", "F20.9"]
    values += [value.replace("-", "") for value in (SECRETS["ssn"], NEW_SECRETS["ssn"])]
    return values


def test_nothing_sensitive_reaches_the_table_through_any_path(client, admin_user, nurse_user, doctor_user):
    patient = services.create_patient(
        actor=nurse_user,
        data={
            "first_name": "Mia",
            "last_name": "Lopez",
            "date_of_birth": "1980-01-02",
            "diagnosis_codes": ["F31.2"],
            **SECRETS,
        },
    )
    services.update_patient(actor=nurse_user, patient=patient, data={**NEW_SECRETS, "diagnosis_codes": ["F20.9"]})
    api = APIClient()
    api.force_authenticate(doctor_user)
    assert (
        api.patch(
            f"/api/v1/patients/{patient.pk}/", {**SECRETS, "diagnosis_codes": ["F31.2"]}, format="json"
        ).status_code
        == 200
    )
    assert api.get(f"/api/v1/patients/{patient.pk}/").status_code == 200
    # SSNs typed into the search box, on the page and in the API.
    client.force_login(nurse_user)
    assert client.get("/patients/", {"search": SECRETS["ssn"]}).status_code == 200
    assert api.get("/api/v1/patients/", {"search": NEW_SECRETS["ssn"].replace("-", "")}).status_code == 200
    assert client.get(f"/patients/{patient.pk}/").status_code == 200
    client.force_login(admin_user)
    assert client.get(f"/admin/patients/patient/{patient.pk}/change/").status_code == 200
    services.deactivate_patient(actor=admin_user, patient=Patient.objects.get(pk=patient.pk))
    record_export(
        model=Patient,
        actor=admin_user,
        count=1,
        export_format="csv",
        object_ids=[patient.pk],
        criteria={"search": SECRETS["ssn"]},
    )
    csv = b"".join(client.get("/audit/export.csv").streaming_content).decode()

    raw = raw_audit_text()
    assert AuditEvent.objects.count() >= 10
    for value in forbidden_strings():
        assert value not in raw, f"{value!r} is in the audit table"
        assert value not in csv, f"{value!r} is in the audit CSV"
    # The changes are there, masked entirely.
    update = AuditEvent.objects.filter(patient_id=patient.pk, action=AuditEvent.Action.UPDATE).order_by("id").first()
    for field in ENCRYPTED_FIELDS:
        assert update.changes[field] == [MASK, MASK]
    searches = AuditEvent.objects.filter(event="patients.patient.searched")
    assert [entry.additional_data["terms"] for entry in searches] == [[MASK], [MASK]]


def test_every_audited_model_masks_its_encrypted_fields():
    """Guards models registered later too (scheduling): none may log an encrypted field in the clear."""
    for model in auditlog.get_models():
        options = auditlog.get_model_fields(model)
        unmasked = set(encrypted_fields(model)) - set(options["mask_fields"]) - set(options["exclude_fields"])
        assert not unmasked, f"{model._meta.label} logs encrypted fields in the clear: {sorted(unmasked)}"
        assert not auditlog.get_serialize_options(model)["serialize_data"], f"{model._meta.label} serializes rows"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("123-45-6789", MASK),
        ("123456789", MASK),
        ("ssn 123 45 6789 x", f"ssn {MASK} x"),
        ("3055550123", "3055550123"),
        ("(305) 555-0123", "(305) 555-0123"),
        ("P000123", "P000123"),
        ("smith", "smith"),
    ],
)
def test_identifiers_in_search_terms_are_masked(text, expected):
    assert mask_identifiers(text) == expected
