"""Forms use Django's public hooks: none overrides a private one, and parsing input never changes a record."""

import re
from pathlib import Path

import pytest

from accounts.models import Role
from authorizations.forms import AuthorizationForm
from patients.forms import PatientForm
from tests.factories import PatientFactory, UserFactory

ROOT = Path(__file__).resolve().parents[2]
APPS = ("accounts", "audit", "authorizations", "operations", "patients", "scheduling", "spectrum")
PRIVATE_HOOK = re.compile(r"def _(post_clean|clean_fields|clean_form|html_output)\(")


def test_no_form_overrides_a_private_hook():
    found = [
        f"{path.relative_to(ROOT)}:{number}"
        for app in APPS
        for path in (ROOT / app).rglob("*.py")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if PRIVATE_HOOK.search(line)
    ]
    assert found == []


@pytest.mark.django_db
def test_patient_form_parses_input_without_touching_the_record():
    patient = PatientFactory(first_name="Maria", last_name="Lopez", city="Miami")
    form = PatientForm(
        {
            "first_name": "Mariana",
            "last_name": "Lopez",
            "date_of_birth": "1980-05-01",
            "city": "Hialeah",
            "gender": patient.gender,
            "marital_status": patient.marital_status,
        },
        instance=patient,
        user=UserFactory(role=Role.DOCTOR),
    )
    assert form.is_valid(), form.errors
    assert form.patient_data()["first_name"] == "Mariana" and form.patient_data()["city"] == "Hialeah"
    assert (patient.first_name, patient.city) == ("Maria", "Miami")
    assert form["first_name"].initial == "Maria"  # the edit page starts from the stored record


@pytest.mark.django_db
def test_authorization_form_leaves_validation_to_the_service():
    """An end date before the start is the service's to refuse (one message for the page and the API)."""
    patient = PatientFactory()
    form = AuthorizationForm(
        {"patient": patient.pk, "payer": "Sunshine Health", "auth_number": "A1", "service_types": [],
         "units_authorized": 10, "start_date": "2026-03-01", "end_date": "2026-02-01"},
        user=UserFactory(role=Role.DOCTOR),
    )  # fmt: skip
    assert not form.is_valid()
    assert set(form.errors) == {"service_types"}  # a required field: parsing, not the window rule
