"""The page and the API ask for the same fields: first name, last name and date of birth (the specification)."""

import pytest
from django.urls import reverse

from accounts.models import Role
from patients.models import Patient

pytestmark = pytest.mark.django_db

MINIMAL = {"first_name": "Ana", "last_name": "Diaz", "date_of_birth": "1985-06-01"}
REQUIRED = {"first_name", "last_name", "date_of_birth"}


def test_page_registers_a_patient_with_only_the_required_fields(client, staff_user):
    client.force_login(staff_user)
    response = client.post(reverse("patients:patient-create"), MINIMAL)
    patient = Patient.objects.get()
    assert response.status_code == 302 and response["Location"] == patient.get_absolute_url()
    assert patient.gender == Patient.Gender.UNKNOWN and patient.marital_status == Patient.MaritalStatus.UNKNOWN


def test_api_registers_a_patient_with_only_the_required_fields(api_client_for, staff_user):
    response = api_client_for(staff_user).post("/api/v1/patients/", MINIMAL, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["gender"] == "unknown" and response.json()["marital_status"] == "unknown"


def test_page_with_gender_left_empty_keeps_the_patients_value(client, nurse_user):
    client.force_login(nurse_user)
    client.post(reverse("patients:patient-create"), {**MINIMAL, "gender": "female", "marital_status": "single"})
    patient = Patient.objects.get()
    assert patient.gender == "female"
    edit = reverse("patients:patient-edit", args=[patient.pk])
    assert client.post(edit, {**MINIMAL, "gender": "", "marital_status": ""}).status_code == 302
    patient.refresh_from_db()
    assert patient.gender == "female" and patient.marital_status == "single"


@pytest.mark.parametrize("role", [Role.STAFF, Role.NURSE])
def test_page_and_api_refuse_the_same_missing_fields(client, api_client_for, user_for_role, role):
    user = user_for_role(role)
    client.force_login(user)
    form = client.post(reverse("patients:patient-create"), {"preferred_name": ""}).context["form"]
    api = api_client_for(user).post("/api/v1/patients/", {"preferred_name": ""}, format="json")
    assert api.status_code == 400
    assert set(form.errors) == set(api.json()) == REQUIRED
    assert not Patient.objects.exists()
