"""A consent record points at its signed form: one of the same patient's documents."""

from consents.models import Consent
from tests.factories import PatientFactory


def url(patient) -> str:
    return f"/api/v1/patients/{patient.pk}/consents/"


def test_a_consent_links_the_signed_form_uploaded_for_the_patient(api_client_for, staff_user, patient, stored_document):
    signed = stored_document(code="consent", content=None, name="consent.png", title="Signed consent")

    response = api_client_for(staff_user).post(
        url(patient),
        {"kind": "treatment", "status": "given", "recorded_on": "2026-05-13", "document": signed.pk},
        format="json",
    )

    assert response.status_code == 201, response.content
    assert response.json()["document"] == signed.pk
    assert Consent.objects.get().document == signed


def test_another_patients_document_is_refused_and_nothing_is_recorded(
    api_client_for, staff_user, patient, stored_document
):
    theirs = stored_document(code="consent", name="consent.png", title="Signed consent")
    other = PatientFactory()

    response = api_client_for(staff_user).post(
        url(other),
        {"kind": "treatment", "status": "given", "recorded_on": "2026-05-13", "document": theirs.pk},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["document"] == ["Choose a document of this patient's."]
    assert not Consent.objects.exists()
