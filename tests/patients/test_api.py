import pytest

from accounts.models import Role
from audit.models import AuditEvent
from patients.models import CLINICAL_FIELDS, ENCRYPTED_FIELDS, Patient
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/patients/"
NEW = {"first_name": "Ana", "last_name": "Diaz", "date_of_birth": "1985-06-01", "phone": "305-555-0100"}
ALL_ROLES = [Role.ADMIN, Role.DOCTOR, Role.NURSE, Role.STAFF, Role.READ_ONLY]


@pytest.fixture
def as_role(user_for_role, api_client_for):
    return lambda role: api_client_for(user_for_role(role))


def detail(patient: Patient) -> str:
    return f"{URL}{patient.pk}/"


def test_anonymous_gets_401(api_client, patient):
    assert api_client.get(URL).status_code == 401
    assert api_client.get(detail(patient)).status_code == 401
    assert api_client.post(URL, NEW, format="json").status_code == 401


@pytest.mark.parametrize("role", ALL_ROLES)
def test_every_role_reads_but_sees_only_allowed_fields(as_role, role, patient):
    client = as_role(role)
    listed = client.get(URL).json()["results"][0]
    shown = client.get(detail(patient)).json()
    for body in (listed, shown):
        assert body["patient_number"] == patient.patient_number
        assert "ssn" not in body  # write-only, for everyone
        assert ("ssn_masked" in body) == (role in (Role.ADMIN, Role.DOCTOR, Role.NURSE))
        assert ("blood_type" in body) == (role != Role.STAFF)
    for field in CLINICAL_FIELDS:
        assert (field in shown) == (role != Role.STAFF)
    # Lists leave every encrypted field to the (audited) record.
    assert not set(ENCRYPTED_FIELDS) & set(listed)
    if "ssn_masked" in shown:
        assert shown["ssn_masked"] == "***-**-6789"
    assert "123-45-6789" not in str(shown)


@pytest.mark.parametrize(("role", "status"), [(r, 201) for r in ALL_ROLES[:4]] + [(Role.READ_ONLY, 403)])
def test_create_matrix(as_role, role, status):
    response = as_role(role).post(URL, NEW, format="json")
    assert response.status_code == status
    assert Patient.objects.exists() == (status == 201)
    if status == 201:
        body = response.json()
        assert body["patient_number"] == "P000001" and body["phone"] == "(305) 555-0100"
        assert body["access_count"] == 0


def test_create_with_clinical_fields_and_ssn(as_role):
    response = as_role(Role.NURSE).post(
        URL, {**NEW, "ssn": "123456789", "diagnosis_codes": ["f33.1"], "blood_type": "A+"}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["ssn_masked"] == "***-**-6789" and body["diagnosis_codes"] == ["F33.1"]
    assert Patient.objects.get().ssn == "123-45-6789"


@pytest.mark.parametrize("field", ["diagnosis", "ssn", "allergies", "blood_type", "patient_number"])
def test_staff_writing_forbidden_field_is_a_field_error_not_silently_dropped(as_role, field):
    value = {"ssn": "123-45-6789", "blood_type": "O+", "patient_number": "X9"}.get(field, "text")
    response = as_role(Role.STAFF).post(URL, {**NEW, field: value}, format="json")
    assert response.status_code == 400
    assert response.json() == {field: ["Your role may not set this field."]}
    assert not Patient.objects.exists()


def test_validation_errors_are_per_field(as_role):
    client = as_role(Role.NURSE)
    # Shape errors first (every field at once)...
    response = client.post(URL, {"first_name": " ", "email": "x", "gender": "robot"}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "first_name": ["This field may not be blank."],
        "last_name": ["This field is required."],
        "date_of_birth": ["This field is required."],
        "email": ["Enter a valid email address."],
        "gender": ['"robot" is not a valid choice.'],
    }
    # ...then the record's rules, also every field at once.
    response = client.post(
        URL,
        {**NEW, "phone": "12", "state": "ZZ", "zip_code": "1", "ssn": "666-11-2222", "diagnosis_codes": ["nope"]},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {
        "phone": ["Enter a 10-digit US phone number, e.g. (305) 555-0123."],
        "state": ["Enter a US state or territory code, e.g. FL or PR."],
        "zip_code": ["Enter a ZIP code of 5 digits or ZIP+4 (12345 or 12345-6789)."],
        "ssn": ["This is not a valid SSN: the first three digits cannot be 000, 666 or 9xx."],
        "diagnosis_codes": [
            "Not a valid ICD-10-CM code: NOPE. Use the form F33.1 (letter, two characters, optional dot and detail)."
        ],
    }
    assert not Patient.objects.exists()


def test_model_rules_run_for_the_api_too(as_role):
    response = as_role(Role.NURSE).post(
        URL, {**NEW, "date_of_birth": "2999-01-01", "treatment_start_date": "2024-05-01",
              "treatment_end_date": "2024-01-01"}, format="json"
    )  # fmt: skip
    assert response.status_code == 400
    assert response.json() == {
        "date_of_birth": ["Date of birth cannot be in the future."],
        "treatment_end_date": ["Treatment end date cannot be before the start date."],
    }


def test_unknown_field_is_rejected(as_role):
    response = as_role(Role.NURSE).post(URL, {**NEW, "favourite_colour": "blue"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"favourite_colour": ["Unknown field."]}


def test_duplicate_is_409_unless_allowed(as_role):
    existing = PatientFactory(first_name="Ana", last_name="Diaz", date_of_birth="1985-06-01")
    client = as_role(Role.STAFF)
    response = client.post(URL, NEW, format="json")
    assert response.status_code == 409
    body = response.json()
    assert body["duplicates"] == [{"id": existing.pk, "patient_number": existing.patient_number}]
    assert "already exists" in body["detail"]
    assert client.post(f"{URL}?allow_duplicate=true", NEW, format="json").status_code == 201
    assert client.post(URL, {**NEW, "allow_duplicate": True}, format="json").status_code == 201
    assert Patient.objects.count() == 3


def test_duplicate_patient_number_names_the_conflict(as_role):
    PatientFactory(patient_number="P000050")
    response = as_role(Role.ADMIN).post(URL, {**NEW, "patient_number": "p000050"}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "patient_number": ["Patient number P000050 is already used by another patient (P000050)."]
    }


@pytest.mark.parametrize(("role", "status"), [(r, 200) for r in ALL_ROLES[:4]] + [(Role.READ_ONLY, 403)])
def test_update_matrix(as_role, role, status, patient):
    response = as_role(role).patch(detail(patient), {"phone": "7865550100"}, format="json")
    assert response.status_code == status
    patient.refresh_from_db()
    assert (patient.phone == "(786) 555-0100") == (status == 200)


def test_put_replaces_fields(as_role, patient):
    response = as_role(Role.NURSE).put(detail(patient), {**NEW, "city": "Doral"}, format="json")
    assert response.status_code == 200, response.content
    patient.refresh_from_db()
    assert (patient.first_name, patient.city, patient.ssn) == ("Ana", "Doral", "123-45-6789")


@pytest.mark.parametrize(
    ("role", "status"),
    [(Role.ADMIN, 204), (Role.DOCTOR, 204), (Role.NURSE, 403), (Role.STAFF, 403), (Role.READ_ONLY, 403)],
)
def test_delete_deactivates_never_deletes(as_role, role, status, patient):
    response = as_role(role).delete(detail(patient))
    assert response.status_code == status
    patient.refresh_from_db()
    assert patient.is_active == (status != 204)
    assert Patient.objects.filter(pk=patient.pk).exists()


def test_deactivated_patient_is_404_except_for_admins_who_reactivate(as_role, patient):
    as_role(Role.DOCTOR).delete(detail(patient))
    for role in (Role.DOCTOR, Role.NURSE, Role.STAFF, Role.READ_ONLY):
        assert as_role(role).get(detail(patient)).status_code == 404
    assert as_role(Role.DOCTOR).post(f"{detail(patient)}reactivate/").status_code == 404
    admin = as_role(Role.ADMIN)
    assert admin.get(detail(patient)).json()["is_active"] is False
    response = admin.post(f"{detail(patient)}reactivate/")
    assert response.status_code == 200 and response.json()["is_active"] is True
    assert as_role(Role.STAFF).get(detail(patient)).status_code == 200


def test_reactivating_an_active_patient_is_403(as_role, patient):
    assert as_role(Role.ADMIN).post(f"{detail(patient)}reactivate/").status_code == 403


def test_retrieve_records_access_list_does_not(as_role, patient):
    client = as_role(Role.NURSE)
    client.get(URL)
    assert not AuditEvent.objects.filter(event="patients.patient.viewed").exists()
    body = client.get(detail(patient)).json()
    assert body["access_count"] == 1 and body["last_accessed_at"]
    entries = AuditEvent.objects.filter(patient_id=patient.pk).exclude(action=AuditEvent.Action.CREATE)
    assert [(e.event, e.actor.role, e.additional_data) for e in entries] == [
        ("patients.patient.viewed", "nurse", {"channel": "api"})
    ]
    assert not AuditEvent.objects.filter(patient_id=patient.pk, action=AuditEvent.Action.UPDATE).exists()


def test_unknown_patient_is_404(as_role):
    assert as_role(Role.ADMIN).get(f"{URL}987654/").status_code == 404


def test_list_runs_a_constant_number_of_queries(as_role, django_assert_max_num_queries):
    client = as_role(Role.ADMIN)
    PatientFactory.create_batch(3)
    client.get(URL)  # warm caches (content types, permissions)
    with django_assert_max_num_queries(8) as few:
        client.get(URL)
    queries = len(few.captured_queries)
    PatientFactory.create_batch(30)
    client.get(URL)  # the new patients are counted once, then the count is remembered
    with django_assert_max_num_queries(queries):
        assert len(client.get(URL).json()["results"]) == 33
