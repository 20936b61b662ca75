"""The patient page's documents: who sees, uploads, opens and deletes which, with what headers, and the trail."""

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from documents import services
from documents.models import Document
from tests.documents.conftest import SECRET_TEXT, jpeg_bytes, pdf_bytes, png_bytes, upload_file

pytestmark = pytest.mark.django_db

ROLES = ["admin", "doctor", "nurse", "staff", "read_only"]


@pytest.fixture
def users(admin_user, doctor_user, nurse_user, staff_user, read_only_user):
    return {
        "admin": admin_user,
        "doctor": doctor_user,
        "nurse": nurse_user,
        "staff": staff_user,
        "read_only": read_only_user,
    }


def view_url(document, download=False):
    return reverse("documents:document-view", args=[document.pk]) + ("?download=1" if download else "")


def body(response) -> bytes:
    return b"".join(response.streaming_content)


# --- The permission matrix, per category and role -----------------------------------------------------

VIEW_MATRIX = {
    # role: (sees an insurance card, sees an evaluation)
    "admin": (True, True),
    "doctor": (True, True),
    "nurse": (True, True),
    "staff": (True, False),
    "read_only": (True, True),
}


@pytest.mark.parametrize("role", ROLES)
def test_who_opens_which_category(client, users, stored_document, role):
    card = stored_document("insurance_card", png_bytes(), "card.png")
    evaluation = stored_document("evaluation", pdf_bytes(), "eval.pdf", title="Psych evaluation")
    client.force_login(users[role])
    sees_card, sees_evaluation = VIEW_MATRIX[role]
    response = client.get(view_url(card))
    assert response.status_code == (200 if sees_card else 404)
    response = client.get(view_url(evaluation))
    assert response.status_code == (200 if sees_evaluation else 404)
    if sees_evaluation:
        assert body(response) == pdf_bytes()
    page = client.get(reverse("patients:patient-detail", args=[card.patient_id]))
    assert ("Psych evaluation" in page.content.decode()) is sees_evaluation
    assert "Card front" in page.content.decode()


UPLOAD_MATRIX = {
    # role: (may upload an insurance card, may upload an evaluation)
    "admin": (True, True),
    "doctor": (True, True),
    "nurse": (True, True),
    "staff": (True, False),
    "read_only": (False, False),
}


@pytest.mark.parametrize("role", ROLES)
def test_who_uploads_which_category(client, users, patient, category, role):
    client.force_login(users[role])
    url = reverse("documents:document-upload", args=[patient.pk])
    may_card, may_evaluation = UPLOAD_MATRIX[role]
    response = client.post(
        url, {"file": upload_file(png_bytes(), "card.png"), "category": category("insurance_card").pk, "title": "Card"}
    )
    assert response.status_code == (302 if may_card else 403)
    response = client.post(
        url, {"file": upload_file(pdf_bytes(), "e.pdf"), "category": category("evaluation").pk, "title": "Eval"}
    )
    assert response.status_code == (302 if may_card else 403)
    titles = set(Document.objects.values_list("title", flat=True))
    assert ("Card" in titles) is may_card
    assert ("Eval" in titles) is may_evaluation


@pytest.mark.parametrize("role", ROLES)
def test_only_administrators_delete_and_the_file_stays(client, users, stored_document, role):
    document = stored_document()
    client.force_login(users[role])
    response = client.post(reverse("documents:document-delete", args=[document.pk]))
    document.refresh_from_db()
    if role == "admin":
        assert response.status_code == 302
        assert document.deleted_at is not None and document.deleted_by == users["admin"]
        assert services.storage.document_storage().exists(document.storage_name)
        assert client.get(view_url(document)).status_code == 404
    else:
        assert response.status_code == 403
        assert document.deleted_at is None


def test_anonymous_goes_to_the_login_page(client, stored_document):
    document = stored_document()
    response = client.get(view_url(document))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_deactivated_patients_documents_exist_for_administrators_only(client, users, stored_document, patient):
    document = stored_document()
    patient.is_active = False
    patient.save()
    client.force_login(users["nurse"])
    assert client.get(view_url(document)).status_code == 404
    client.force_login(users["admin"])
    assert client.get(view_url(document)).status_code == 200


def test_wrong_method_is_405(client, admin_user, stored_document):
    document = stored_document()
    client.force_login(admin_user)
    assert client.post(view_url(document)).status_code == 405
    assert client.get(reverse("documents:document-delete", args=[document.pk])).status_code == 405


# --- What the browser gets -------------------------------------------------------------------------------


def test_inline_view_and_download_headers(client, admin_user, stored_document):
    document = stored_document("referral", pdf_bytes(), "Maria Lopez referral.pdf")
    client.force_login(admin_user)
    response = client.get(view_url(document))
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'inline; filename="referral-{document.pk}.pdf"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]
    assert "default-src 'none'" in response["Content-Security-Policy"]
    assert "no-store" in response["Cache-Control"]
    assert body(response) == pdf_bytes()
    response = client.get(view_url(document, download=True))
    assert response["Content-Disposition"] == f'attachment; filename="referral-{document.pk}.pdf"'


def test_pdf_with_javascript_is_served_inert(client, admin_user, stored_document):
    """The script stays in the file (documents are not rewritten) but never runs: Chromium's PDF engine runs
    a PDF's scripts whatever the CSP says (an alert in a probe), so such a PDF is only ever downloaded, with
    the sandboxing policy and nosniff besides."""
    content = pdf_bytes(javascript=True)
    document = stored_document("correspondence", content, "letter.pdf")
    assert document.has_active_content
    client.force_login(admin_user)
    response = client.get(view_url(document))
    assert response["Content-Disposition"] == f'attachment; filename="correspondence-{document.pk}.pdf"'
    policy = response["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "sandbox" in policy and "allow-scripts" not in policy
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert body(response) == content
    page = client.get(reverse("patients:patient-detail", args=[document.patient_id])).content.decode()
    assert "contains scripts: download only" in page


def test_a_plain_pdf_opens_inline(client, admin_user, stored_document):
    document = stored_document("correspondence", pdf_bytes(), "letter.pdf")
    assert not document.has_active_content
    client.force_login(admin_user)
    assert client.get(view_url(document))["Content-Disposition"].startswith("inline;")


def test_thumbnail_is_a_small_jpeg(client, staff_user, stored_document):
    from io import BytesIO

    from PIL import Image

    document = stored_document("insurance_card", jpeg_bytes((1600, 1000)), "card.jpg")
    client.force_login(staff_user)
    response = client.get(reverse("documents:document-thumbnail", args=[document.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    with Image.open(BytesIO(response.content)) as image:
        assert max(image.size) <= 240
    page = client.get(reverse("patients:patient-detail", args=[document.patient_id]))
    assert reverse("documents:document-thumbnail", args=[document.pk]) in page.content.decode()


# --- Uploading through the page ----------------------------------------------------------------------------


def test_upload_through_the_page(client, staff_user, patient, category):
    client.force_login(staff_user)
    response = client.post(
        reverse("documents:document-upload", args=[patient.pk]),
        {
            "file": upload_file(jpeg_bytes(), "card.jpg", "image/jpeg"),
            "category": category("insurance_card").pk,
            "title": "Medicaid card",
            "document_on": "2026-05-01",
        },
        follow=True,
    )
    assert "Document uploaded." in response.content.decode()
    document = Document.objects.get()
    assert (document.title, document.content_type, document.uploaded_by) == ("Medicaid card", "image/jpeg", staff_user)
    assert str(document.document_on) == "2026-05-01"


def test_a_lying_file_gets_a_clear_message_on_the_page(client, staff_user, patient, category):
    client.force_login(staff_user)
    response = client.post(
        reverse("documents:document-upload", args=[patient.pk]),
        {"file": upload_file(b"<html><script>x</script>", "card.jpg"), "category": category("other").pk, "title": "x"},
        follow=True,
    )
    assert "Only PDF, JPEG, PNG and HEIC files can be uploaded" in response.content.decode()
    assert not Document.objects.exists()


def test_a_too_large_upload_is_stopped_while_streaming(client, settings, staff_user, patient, category):
    settings.DOCUMENT_MAX_BYTES = 100_000
    client.force_login(staff_user)
    response = client.post(
        reverse("documents:document-upload", args=[patient.pk]),
        {"file": upload_file(pdf_bytes(b"z" * 300_000), "big.pdf"), "category": category("other").pk, "title": "x"},
        follow=True,
    )
    assert f"The file is larger than the {100_000 / 1048576:g} MB limit." in response.content.decode()
    assert not Document.objects.exists()


def test_missing_fields_are_reported(client, staff_user, patient):
    client.force_login(staff_user)
    response = client.post(reverse("documents:document-upload", args=[patient.pk]), {"title": ""}, follow=True)
    text = response.content.decode()
    assert "This field is required." in text
    assert not Document.objects.exists()


# --- The audit trail ---------------------------------------------------------------------------------------


def test_upload_view_download_and_delete_are_each_audited(client, admin_user, patient, category):
    client.force_login(admin_user)
    client.post(
        reverse("documents:document-upload", args=[patient.pk]),
        {"file": upload_file(pdf_bytes(), "r.pdf"), "category": category("referral").pk, "title": "Referral"},
    )
    document = Document.objects.get()
    body(client.get(view_url(document)))
    body(client.get(view_url(document, download=True)))
    client.post(reverse("documents:document-delete", args=[document.pk]))
    entries = AuditEvent.objects.filter(event__startswith="documents.document.").order_by("id")
    assert [
        e.event for e in entries if e.event != "documents.document.updated" and e.event != "documents.document.created"
    ] == [
        services.UPLOADED,
        services.VIEWED,
        services.DOWNLOADED,
        services.DELETED,
    ]
    for entry in entries:
        assert entry.actor == admin_user
        assert entry.patient_id == patient.pk
        assert entry.object_pk == str(document.pk)
    # The title (which may name a diagnosis) and the file's content are not in the trail.
    for entry in AuditEvent.objects.all():
        assert "Referral" not in str(entry.changes) and "Referral" not in str(entry.additional_data)
        assert SECRET_TEXT.decode() not in str(entry.changes)
