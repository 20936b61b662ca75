"""The face sheet PDF: the patient's essentials, read back from the PDF's text; audited as a disclosure."""

import datetime
import io

import pytest
from django.utils import timezone
from pypdf import PdfReader

from audit.models import AuditEvent
from authorizations.models import Authorization
from scheduling import services as scheduling
from scheduling.models import ServiceType

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clinic_clock(frozen_clinic_clock):
    return frozen_clinic_clock


@pytest.fixture
def authorized_patient(patient, admin_user, nurse_user):
    """Maria Lopez, with an active IND authorization of 12 units, one used, and one visit booked next week."""
    today = timezone.localdate()
    ind = ServiceType.objects.get(code="IND")
    authorization = Authorization.objects.create(
        patient=patient, payer="Sunshine Health", auth_number="SH-4411", units_authorized=12,
        start_date=today - datetime.timedelta(days=30), end_date=today + datetime.timedelta(days=60),
        approval_date=today - datetime.timedelta(days=30),
    )  # fmt: skip
    authorization.service_types.set([ind])
    past = today - datetime.timedelta(days=7)
    while past.weekday() > 4:
        past -= datetime.timedelta(days=1)
    attended = scheduling.book_appointment(
        actor=admin_user,
        patient=patient,
        service_type=ind,
        date=past,
        start_time=datetime.time(10),
        clinician=nurse_user,
    )
    scheduling.set_status(actor=admin_user, appointment=attended, status="attended")
    upcoming = today + datetime.timedelta(days=7)
    while upcoming.weekday() > 4:
        upcoming += datetime.timedelta(days=1)
    scheduling.book_appointment(
        actor=admin_user, patient=patient, service_type=ind, date=upcoming, start_time=datetime.time(14),
        clinician=nurse_user,
    )  # fmt: skip
    return patient


def pdf_text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_face_sheet_holds_demographics_authorizations_and_appointments(client, nurse_user, authorized_patient):
    client.force_login(nurse_user)
    response = client.get(f"/patients/{authorized_patient.pk}/face-sheet.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-Type-Options"] == "nosniff"
    text = pdf_text(response.content)
    assert "Maria Lopez" in text or "Lopez, Maria" in text
    assert "SH-4411" in text
    assert "11 of 12 units left" in text
    assert "Upcoming appointments" in text and "2:00 PM" in text
    assert "Clinical" in text and "F33.1" in text


def test_front_desk_face_sheet_has_no_clinical_section(client, staff_user, authorized_patient):
    client.force_login(staff_user)
    text = pdf_text(client.get(f"/patients/{authorized_patient.pk}/face-sheet.pdf").content)
    assert "11 of 12 units left" in text
    assert "F33.1" not in text and "depressive" not in text and "Clinical" not in text


def test_face_sheet_is_recorded_as_a_disclosure(client, doctor_user, authorized_patient):
    client.force_login(doctor_user)
    client.get(f"/patients/{authorized_patient.pk}/face-sheet.pdf")
    entry = AuditEvent.objects.get(event="patients.patient.exported")
    assert entry.actor == doctor_user
    assert entry.patient_id == authorized_patient.pk
    assert entry.additional_data["format"] == "pdf"
    assert entry.additional_data["document"] == "face_sheet"


def test_face_sheet_of_an_unknown_or_hidden_patient_is_404(client, nurse_user, authorized_patient):
    client.force_login(nurse_user)
    assert client.get("/patients/999999/face-sheet.pdf").status_code == 404
    authorized_patient.is_active = False
    authorized_patient.save()
    assert client.get(f"/patients/{authorized_patient.pk}/face-sheet.pdf").status_code == 404


def test_face_sheet_needs_sign_in(client, authorized_patient):
    response = client.get(f"/patients/{authorized_patient.pk}/face-sheet.pdf")
    assert response.status_code == 302
