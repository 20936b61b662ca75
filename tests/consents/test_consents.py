"""Consent records: API and patient page, history kept, permissions, audit, the dashboard's expiring list."""

import datetime

import pytest

from audit.models import AuditEvent
from consents import selectors
from consents.models import Consent
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 5, 13)


@pytest.fixture(autouse=True)
def _clinic_clock(frozen_clinic_clock):
    return frozen_clinic_clock


@pytest.fixture
def patient(db):
    return PatientFactory(first_name="Maria", last_name="Lopez", email="maria@example.test")


def url(patient) -> str:
    return f"/api/v1/patients/{patient.pk}/consents/"


def test_staff_records_sms_consent_through_the_api(api_client_for, staff_user, patient):
    response = api_client_for(staff_user).post(
        url(patient), {"kind": "reminders_sms", "status": "given", "recorded_on": "2026-05-13"}, format="json"
    )
    assert response.status_code == 201
    assert response.json() | {"id": 0, "created_at": ""} == {
        "id": 0, "kind": "reminders_sms", "status": "given", "party": "", "recorded_on": "2026-05-13",
        "expires_on": None, "recorded_by": "Stan Staff", "document": None, "created_at": "",
    }  # fmt: skip
    consent = Consent.objects.get()
    assert (consent.patient, consent.recorded_by) == (patient, staff_user)
    entry = AuditEvent.objects.filter(patient_id=patient.pk, action=AuditEvent.Action.CREATE).latest("id")
    assert entry.actor == staff_user
    assert selectors.has_consent(patient.pk, "reminders_sms")


def test_revoking_is_a_new_record_and_keeps_history(api_client_for, staff_user, patient):
    client = api_client_for(staff_user)
    client.post(
        url(patient), {"kind": "reminders_email", "status": "given", "recorded_on": "2026-05-01"}, format="json"
    )
    client.post(
        url(patient), {"kind": "reminders_email", "status": "revoked", "recorded_on": "2026-05-13"}, format="json"
    )
    listed = client.get(url(patient)).json()
    assert [(c["kind"], c["status"]) for c in listed] == [("reminders_email", "revoked"), ("reminders_email", "given")]
    assert not selectors.has_consent(patient.pk, "reminders_email")
    assert [c.status for c in selectors.current_consents(patient)] == ["revoked"]


def test_listing_is_audited_as_a_read_of_the_patient(api_client_for, nurse_user, patient):
    response = api_client_for(nurse_user).get(url(patient))
    assert response.status_code == 200
    entry = AuditEvent.objects.get(event="consents.consent.listed")
    assert (entry.patient_id, entry.actor) == (patient.pk, nurse_user)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"kind": "release_of_information", "status": "given", "recorded_on": "2026-05-13"}, "party"),
        ({"kind": "treatment", "status": "given", "recorded_on": "2026-05-13", "party": "Dr X"}, "party"),
        ({"kind": "treatment", "status": "maybe", "recorded_on": "2026-05-13"}, "status"),
        (
            {"kind": "treatment", "status": "given", "recorded_on": "2026-05-13", "expires_on": "2026-05-01"},
            "expires_on",
        ),
        ({"kind": "treatment", "status": "given", "recorded_on": "not a date"}, "recorded_on"),
    ],
)
def test_bad_input_is_400_per_field_and_writes_nothing(api_client_for, staff_user, patient, data, field):
    response = api_client_for(staff_user).post(url(patient), data, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Consent.objects.exists()


def test_release_of_information_names_the_party(api_client_for, doctor_user, patient):
    data = {"kind": "release_of_information", "status": "given", "recorded_on": "2026-05-13", "party": "County Court",
            "expires_on": "2026-11-13"}  # fmt: skip
    assert api_client_for(doctor_user).post(url(patient), data, format="json").status_code == 201
    assert Consent.objects.get().party == "County Court"


def test_read_only_may_list_but_not_record(api_client_for, read_only_user, patient):
    client = api_client_for(read_only_user)
    assert client.get(url(patient)).status_code == 200
    data = {"kind": "treatment", "status": "given", "recorded_on": "2026-05-13"}
    assert client.post(url(patient), data, format="json").status_code == 403
    assert not Consent.objects.exists()


def test_anonymous_is_401_and_unknown_patient_404(api_client, api_client_for, staff_user, patient):
    assert api_client.get(url(patient)).status_code == 401
    assert api_client_for(staff_user).get("/api/v1/patients/999999/consents/").status_code == 404


def test_inactive_patient_is_404_for_staff(api_client_for, staff_user, patient):
    type(patient).objects.filter(pk=patient.pk).update(is_active=False)
    assert api_client_for(staff_user).get(url(patient)).status_code == 404


def test_wrong_method_is_405(api_client_for, staff_user, patient):
    assert api_client_for(staff_user).delete(url(patient)).status_code == 405


# --- The patient page ----------------------------------------------------------------------------------


def test_patient_page_shows_and_records_consents(client, staff_user, patient):
    Consent.objects.create(
        patient=patient,
        kind="treatment",
        status="given",
        recorded_on=TODAY,
        expires_on=TODAY + datetime.timedelta(days=10),
    )
    client.force_login(staff_user)
    page = client.get(f"/patients/{patient.pk}/")
    assert page.status_code == 200
    section = page.content.decode()
    assert 'data-testid="patient-consents"' in section and "Treatment" in section and "expires soon" in section
    response = client.post(
        f"/patients/{patient.pk}/consents/new/",
        {"kind": "reminders_email", "status": "given", "recorded_on": "2026-05-13"},
    )
    assert response.status_code == 302 and response["Location"].endswith("#consents")
    assert Consent.objects.filter(kind="reminders_email", recorded_by=staff_user).exists()


def test_patient_page_form_errors_rerender_with_400(client, staff_user, patient):
    client.force_login(staff_user)
    response = client.post(
        f"/patients/{patient.pk}/consents/new/",
        {"kind": "release_of_information", "status": "given", "recorded_on": "2026-05-13"},
    )
    assert response.status_code == 400
    assert "Name the person or organisation" in response.content.decode()
    assert not Consent.objects.exists()


def test_read_only_cannot_record_on_the_page(client, read_only_user, patient):
    client.force_login(read_only_user)
    page = client.get(f"/patients/{patient.pk}/").content.decode()
    assert "Record a consent" not in page
    response = client.post(
        f"/patients/{patient.pk}/consents/new/", {"kind": "treatment", "status": "given", "recorded_on": "2026-05-13"}
    )
    assert response.status_code == 403


def test_consent_page_routes_404_405_and_login(client, staff_user, patient):
    assert client.post(f"/patients/{patient.pk}/consents/new/", {}).status_code == 302  # to sign-in
    client.force_login(staff_user)
    assert client.get(f"/patients/{patient.pk}/consents/new/").status_code == 405
    assert client.post("/patients/999999/consents/new/", {}).status_code == 404


def test_dashboard_lists_consents_expiring_within_30_days(client, staff_user, patient):
    soon = Consent.objects.create(
        patient=patient, kind="release_of_information", party="County Court", status="given", recorded_on=TODAY,
        expires_on=TODAY + datetime.timedelta(days=20),
    )  # fmt: skip
    Consent.objects.create(
        patient=patient,
        kind="treatment",
        status="given",
        recorded_on=TODAY,
        expires_on=TODAY + datetime.timedelta(days=45),
    )
    other = PatientFactory(first_name="Ann", last_name="Berg")
    Consent.objects.create(patient=other, kind="treatment", status="given", recorded_on=TODAY - datetime.timedelta(days=5),
                           expires_on=TODAY + datetime.timedelta(days=5))  # fmt: skip
    Consent.objects.create(patient=other, kind="treatment", status="revoked", recorded_on=TODAY)  # superseded
    assert list(selectors.expiring_consents(staff_user)) == [soon]
    client.force_login(staff_user)
    page = client.get("/").content.decode()
    assert "Consents expiring in 30 days" in page and "County Court" in page and "Berg" not in page


def test_dashboard_notices_are_read_once_and_again_after_a_consent_or_a_patient_changes(client, staff_user, patient):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def consent_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            page = client.get("/").content.decode()
        assert "Consents expiring in 30 days" in page
        return sum('"consents_consent"' in query["sql"] for query in queries.captured_queries)

    Consent.objects.create(patient=patient, kind="treatment", party="County Court", status="given", recorded_on=TODAY,
                           expires_on=TODAY + datetime.timedelta(days=20))  # fmt: skip
    client.force_login(staff_user)
    assert consent_queries() == 1
    assert consent_queries() == 0  # from the cache
    renewed = Consent.objects.create(patient=patient, kind="treatment", party="Family Court", status="given",
                                     recorded_on=TODAY, expires_on=TODAY + datetime.timedelta(days=25))  # fmt: skip
    assert consent_queries() == 1
    assert "Family Court" in client.get("/").content.decode()
    patient.last_name = "Lopez-Ortiz"
    patient.save()
    page = client.get("/").content.decode()
    assert "Lopez-Ortiz" in page
    renewed.delete()
    assert "Family Court" not in client.get("/").content.decode()
