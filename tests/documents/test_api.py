"""/api/v1/patients/{id}/documents/ and /api/v1/documents/{id}/download/."""

import pytest

from audit.models import AuditEvent
from documents import services
from documents.models import Document
from tests.documents.conftest import pdf_bytes, png_bytes, upload_file

pytestmark = pytest.mark.django_db


def list_url(patient):
    return f"/api/v1/patients/{patient.pk}/documents/"


def detail_url(document):
    return f"/api/v1/patients/{document.patient_id}/documents/{document.pk}/"


def test_upload_as_multipart_and_list(api_client_for, staff_user, patient):
    client = api_client_for(staff_user)
    response = client.post(
        list_url(patient),
        {"file": upload_file(png_bytes(), "card.png"), "category": "insurance_card", "title": "Card front",
         "document_on": "2026-05-01", "expires_on": "2027-05-01"},
        format="multipart",
    )  # fmt: skip
    assert response.status_code == 201, response.content
    document = Document.objects.get()
    assert response.json() == {
        "id": document.pk,
        "patient": patient.pk,
        "category": "insurance_card",
        "category_name": "Insurance card",
        "is_clinical": False,
        "title": "Card front",
        "document_on": "2026-05-01",
        "expires_on": "2027-05-01",
        "content_type": "image/png",
        "size": len(png_bytes()),
        "uploaded_by": staff_user.pk,
        "uploaded_at": response.json()["uploaded_at"],
        "download_url": f"/api/v1/documents/{document.pk}/download/",
    }
    listed = client.get(list_url(patient)).json()
    assert [row["id"] for row in listed["results"]] == [document.pk]


def test_upload_errors_are_400_per_field(api_client_for, staff_user, patient):
    client = api_client_for(staff_user)
    response = client.post(
        list_url(patient),
        {"file": upload_file(png_bytes(), "x.pdf"), "category": "evaluation", "title": ""},
        format="multipart",
    )
    assert response.status_code == 400
    assert set(response.json()) == {"category", "title"}  # staff may not file evaluations; title required
    response = client.post(
        list_url(patient),
        {"file": upload_file(png_bytes(), "x.pdf"), "category": "other", "title": "t"},
        format="multipart",
    )
    assert response.status_code == 400
    assert "its content is a PNG image" in response.json()["file"][0]
    assert not Document.objects.exists()


def test_too_large_upload_is_a_400(api_client_for, settings, staff_user, patient):
    settings.DOCUMENT_MAX_BYTES = 50_000
    response = api_client_for(staff_user).post(
        list_url(patient),
        {"file": upload_file(pdf_bytes(b"q" * 80_000), "a.pdf"), "category": "other", "title": "t"},
        format="multipart",
    )
    assert response.status_code == 400
    assert response.json()["file"] == [f"The file is larger than the {50_000 / 1048576:g} MB limit."]


def test_staff_do_not_see_clinical_documents_in_the_list(api_client_for, staff_user, nurse_user, stored_document):
    card = stored_document("insurance_card")
    evaluation = stored_document("evaluation", pdf_bytes(), "e.pdf")
    ids = [row["id"] for row in api_client_for(staff_user).get(list_url(card.patient)).json()["results"]]
    assert ids == [card.pk]
    ids = [row["id"] for row in api_client_for(nurse_user).get(list_url(card.patient)).json()["results"]]
    assert sorted(ids) == sorted([card.pk, evaluation.pk])
    assert api_client_for(staff_user).get(f"/api/v1/documents/{evaluation.pk}/download/").status_code == 404


def test_metadata_edit(api_client_for, nurse_user, stored_document):
    document = stored_document()
    client = api_client_for(nurse_user)
    response = client.patch(detail_url(document), {"title": "Card back", "category": "photo_id"}, format="json")
    assert response.status_code == 200
    document.refresh_from_db()
    assert (document.title, document.category.code) == ("Card back", "photo_id")
    response = client.patch(detail_url(document), {"size": 1, "expires_on": "1800-01-01"}, format="json")
    assert response.status_code == 400
    assert set(response.json()) >= {"expires_on"}


def test_auditor_reads_but_does_not_write(api_client_for, read_only_user, stored_document, patient):
    document = stored_document()
    client = api_client_for(read_only_user)
    assert client.get(list_url(patient)).status_code == 200
    assert client.patch(detail_url(document), {"title": "x"}, format="json").status_code == 403
    assert client.delete(detail_url(document)).status_code == 403
    response = client.post(
        list_url(patient),
        {"file": upload_file(png_bytes(), "c.png"), "category": "other", "title": "t"},
        format="multipart",
    )
    assert response.status_code == 403


def test_soft_delete_by_administrator(api_client_for, admin_user, nurse_user, stored_document):
    document = stored_document()
    assert api_client_for(nurse_user).delete(detail_url(document)).status_code == 403
    assert api_client_for(admin_user).delete(detail_url(document)).status_code == 204
    document.refresh_from_db()
    assert document.deleted_at is not None
    assert api_client_for(admin_user).get(detail_url(document)).status_code == 404
    assert AuditEvent.objects.filter(event=services.DELETED, object_pk=str(document.pk)).count() == 1


def test_download_streams_the_file_and_is_audited(api_client_for, doctor_user, stored_document):
    document = stored_document("referral", pdf_bytes(), "r.pdf")
    response = api_client_for(doctor_user).get(f"/api/v1/documents/{document.pk}/download/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == pdf_bytes()
    assert response["Content-Disposition"] == f'attachment; filename="referral-{document.pk}.pdf"'
    assert response["X-Content-Type-Options"] == "nosniff"
    entry = AuditEvent.objects.get(event=services.DOWNLOADED)
    assert (entry.actor, entry.patient_id, entry.additional_data["channel"]) == (
        doctor_user,
        document.patient_id,
        "api",
    )


def test_anonymous_is_401(api_client, stored_document):
    document = stored_document()
    assert api_client.get(list_url(document.patient)).status_code == 401
    assert api_client.get(f"/api/v1/documents/{document.pk}/download/").status_code == 401


def test_unknown_patient_is_404(api_client_for, admin_user):
    assert api_client_for(admin_user).get("/api/v1/patients/999999/documents/").status_code == 404
