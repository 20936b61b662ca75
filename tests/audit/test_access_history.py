"""The patient page's Access history: every access to and change of the patient (accounting of disclosures)."""

import pytest

from audit import selectors
from audit import services as audit
from audit.models import AuditEvent
from patients import services
from patients.models import Patient
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(patient, nurse_user, doctor_user, staff_user, admin_user, client):
    other = PatientFactory()
    services.record_patient_access(actor=nurse_user, patient=patient, channel="page")
    services.update_patient(actor=doctor_user, patient=patient, data={"city": "Tampa"})
    services.record_patient_access(actor=nurse_user, patient=other, channel="page")
    client.force_login(staff_user)
    client.post(f"/patients/{patient.pk}/deactivate/")  # refused: 403
    audit.record_export(
        model=Patient, actor=admin_user, count=2, export_format="csv", object_ids=[patient.pk, other.pk]
    )
    audit.record_export(model=Patient, actor=admin_user, count=1, export_format="pdf", object_ids=[other.pk])
    client.logout()
    return {"patient": patient, "other": other}


def test_selector_finds_views_changes_refusals_and_exports_that_included_the_patient(history):
    patient, other = history["patient"], history["other"]
    found = [(e.event, e.actor_email) for e in selectors.patient_access_history(patient.pk)]
    assert found == [
        ("patients.patient.exported", "admin@clinic.test"),
        ("accounts.permission.denied", "staff@clinic.test"),
        ("patients.patient.updated", "doctor@clinic.test"),
        ("patients.patient.viewed", "nurse@clinic.test"),
        ("patients.patient.created", None),
    ]
    others = [e.event for e in selectors.patient_access_history(other.pk)]
    assert others.count("patients.patient.exported") == 2
    single = AuditEvent.objects.get(event="patients.patient.exported", additional_data__format="pdf")
    assert single.patient_id == other.pk and single.additional_data["patient_ids"] == [other.pk]


@pytest.mark.parametrize("role", ["admin", "read_only"])
def test_reviewers_see_the_access_history_on_the_patient_page(login, history, role):
    patient = history["patient"]
    html = login(role).get(f"/patients/{patient.pk}/").content.decode()
    assert 'data-testid="access-history"' in html and "Access history" in html
    section = html[html.index('data-testid="access-history"') :]
    for text in (
        "nurse@clinic.test",
        "doctor@clinic.test",
        "staff@clinic.test",
        "Denied",
        "Exported",
        "format: csv",
        "channel: page",
        f"/audit/?patient={patient.pk}",
    ):
        assert text in section, text
    assert "format: pdf" not in section  # the export of someone else only


@pytest.mark.parametrize("role", ["doctor", "nurse", "staff"])
def test_clinicians_and_front_desk_do_not(login, history, role):
    html = login(role).get(f"/patients/{history['patient'].pk}/").content.decode()
    assert 'data-testid="access-history"' not in html


def test_the_audit_log_filtered_by_patient_matches(login, history):
    patient = history["patient"]
    page = login("read_only").get("/audit/", {"patient": patient.pk})
    events = [e.event for e in page.context["page"].object_list]
    assert events == [e.event for e in selectors.patient_access_history(patient.pk)]
