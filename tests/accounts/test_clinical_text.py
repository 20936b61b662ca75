"""Clinical text (appointment notes, authorization notes and diagnosis codes) follows one rule,
``accounts.permissions.hidden_fields``/``unwritable_fields``: the API, the pages and the exports ask it."""

import datetime

import pytest
from django.urls import reverse

from accounts import permissions
from accounts.models import Role
from authorizations.models import Authorization
from operations import exports
from patients.models import Patient
from scheduling import services
from scheduling.models import Appointment, ServiceType
from tests.factories import PatientFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clinic_clock")]
CLINICAL_ROLES = [Role.ADMIN, Role.DOCTOR, Role.NURSE, Role.READ_ONLY]
ALL_ROLES = [*CLINICAL_ROLES, Role.STAFF]
NOTE = "Discussed relapse plan"
CODE = "F33.1"
NEXT_TUESDAY = datetime.date(2026, 5, 19)  # the frozen clock stands at Wednesday 2026-05-13 (tests/conftest.py)


@pytest.fixture
def records(nurse_user):
    patient = PatientFactory()
    ind = ServiceType.objects.get(code="IND")
    appointment = services.book_appointment(
        actor=nurse_user, patient=patient, service_type=ind, date=NEXT_TUESDAY, start_time=datetime.time(10),
        notes=NOTE,
    )  # fmt: skip
    authorization = Authorization.objects.create(
        patient=patient, payer="Sunshine Health", auth_number="A1", units_authorized=10,
        start_date=datetime.date(2026, 5, 1), end_date=datetime.date(2026, 8, 1),
        approval_date=datetime.date(2026, 5, 1), diagnosis_code=CODE, notes="Payer asks for monthly notes",
    )  # fmt: skip
    authorization.service_types.set([ind])
    return appointment, authorization


@pytest.mark.parametrize("role", ALL_ROLES)
def test_the_rule_per_role(user_for_role, role):
    user = user_for_role(role)
    expected = set() if role in CLINICAL_ROLES else {"notes", "progress_note"}
    assert permissions.hidden_fields(user, Appointment) == expected
    assert permissions.hidden_fields(user, Authorization) == (
        set() if role in CLINICAL_ROLES else {"notes", "diagnosis_code"}
    )
    assert ("diagnosis" in permissions.hidden_fields(user, Patient)) == (role == Role.STAFF)
    assert ("notes" in permissions.unwritable_fields(user, Appointment)) == (role in (Role.STAFF, Role.READ_ONLY))


@pytest.mark.parametrize("role", ALL_ROLES)
def test_api_detail_and_list_show_clinical_text_only_to_clinical_roles(api_client_for, user_for_role, role, records):
    appointment, authorization = records
    client = api_client_for(user_for_role(role))
    shown = role in CLINICAL_ROLES
    for url in (f"/api/v1/appointments/{appointment.pk}/", "/api/v1/appointments/"):
        body = client.get(url).json()
        row = body["results"][0] if "results" in body else body
        assert ("notes" in row) == shown and (NOTE in str(body)) == shown
    for url in (f"/api/v1/authorizations/{authorization.pk}/", "/api/v1/authorizations/"):
        body = client.get(url).json()
        row = body["results"][0] if "results" in body else body
        assert {"notes", "diagnosis_code"} <= set(row) if shown else not {"notes", "diagnosis_code"} & set(row)
        assert (CODE in str(body)) == shown


def test_front_desk_setting_notes_through_the_api_is_refused(api_client_for, staff_user, nurse_user, records):
    appointment, _ = records
    client = api_client_for(staff_user)
    response = client.patch(f"/api/v1/appointments/{appointment.pk}/", {"notes": "x"}, format="json")
    assert response.status_code == 400 and response.json() == {"notes": ["Your role may not set this field."]}
    patient = PatientFactory()
    booking = {"patient": patient.pk, "service_type": appointment.service_type_id, "date": "2026-05-20",
               "start_time": "10:00", "notes": "x"}  # fmt: skip
    assert client.post("/api/v1/appointments/", booking, format="json").status_code == 400
    series = {**booking, "start_date": "2026-05-20", "frequency": "weekly", "weekdays": ["wed"], "count": 2}
    response = client.post("/api/v1/appointment-series/", series, format="json")
    assert response.status_code == 400 and "notes" in response.json()
    assert not Appointment.objects.filter(patient=patient).exists()
    appointment.refresh_from_db()
    assert appointment.notes == NOTE
    # Without notes, the front desk books and moves as before; clinical roles write notes.
    assert client.post("/api/v1/appointments/", {**booking, "notes": ""}, format="json").status_code == 201
    response = api_client_for(nurse_user).patch(
        f"/api/v1/appointments/{appointment.pk}/", {"notes": "Updated"}, format="json"
    )
    assert response.status_code == 200 and response.json()["notes"] == "Updated"


def test_front_desk_pages_do_not_render_clinical_text(client, staff_user, records):
    appointment, authorization = records
    client.force_login(staff_user)
    edit = client.get(reverse("scheduling:appointment-edit", args=[appointment.pk])).content.decode()
    assert 'name="notes"' not in edit and NOTE not in edit and 'name="start_time"' in edit
    booking = client.get(reverse("scheduling:appointment-create")).content.decode()
    assert 'name="notes"' not in booking and 'name="service_type"' in booking
    page = client.get(reverse("authorizations:authorization-edit", args=[authorization.pk])).content.decode()
    assert CODE not in page and "monthly notes" not in page and "Sunshine Health" in page


def test_front_desk_edit_page_keeps_the_notes_it_cannot_see(client, staff_user, records):
    appointment, _ = records
    client.force_login(staff_user)
    response = client.post(
        reverse("scheduling:appointment-edit", args=[appointment.pk]),
        {"service_type": appointment.service_type_id, "date": "2026-05-19", "start_time": "11:00",
         "duration_minutes": "60", "notes": "overwritten"},
    )  # fmt: skip
    assert response.status_code == 302
    appointment.refresh_from_db()
    assert appointment.start_time == datetime.time(11) and appointment.notes == NOTE


@pytest.mark.parametrize("role", [Role.DOCTOR, Role.NURSE])
def test_clinical_roles_see_the_notes_on_the_edit_pages(client, user_for_role, role, records):
    appointment, authorization = records
    client.force_login(user_for_role(role))
    assert NOTE in client.get(reverse("scheduling:appointment-edit", args=[appointment.pk])).content.decode()
    page = client.get(reverse("authorizations:authorization-edit", args=[authorization.pk])).content.decode()
    assert CODE in page and "monthly notes" in page


@pytest.mark.parametrize("role", ALL_ROLES)
def test_export_columns_ask_the_same_rule(user_for_role, role):
    user = user_for_role(role)
    appointment_columns = {column.name for column in exports.appointment_columns(user)}
    authorization_columns = {column.name for column in exports.authorization_columns(user)}
    shown = role in CLINICAL_ROLES
    assert ("notes" in appointment_columns) == shown
    assert ({"notes", "diagnosis_code"} <= authorization_columns) == shown
    assert not ({"notes", "diagnosis_code"} & authorization_columns) or shown
