"""Front desk scans an insurance card onto the patient page; a nurse prints the face sheet; the page prints clean."""

import contextlib
import datetime
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect
from pypdf import PdfReader

from accounts.models import Role
from authorizations.models import Authorization
from documents import services
from documents.models import Document, DocumentCategory
from scheduling.models import ServiceType
from tests.browser.conftest import sign_in
from tests.documents.conftest import pdf_bytes
from tests.factories import PASSWORD, PatientFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def card_photo() -> bytes:
    out = io.BytesIO()
    image = Image.new("RGB", (1200, 760), (235, 240, 250))
    for x in range(0, 1200, 40):  # some structure, so the thumbnail is visibly an image
        image.paste((30, 90, 160), (x, 0, x + 20, 120))
    image.save(out, format="JPEG", quality=85)
    return out.getvalue()


def test_front_desk_uploads_card_sees_thumbnail_and_nurse_prints_face_sheet(browser, live_server, screenshot):
    staff = UserFactory(role=Role.STAFF, full_name="Sam Desk")
    nurse = UserFactory(role=Role.NURSE, full_name="Nell Nurse")
    patient = PatientFactory(first_name="Maria", last_name="Lopez")
    today = timezone.localdate()
    authorization = Authorization.objects.create(
        patient=patient, payer="Sunshine Health", auth_number="SH-7788", units_authorized=24,
        start_date=today - datetime.timedelta(days=10), end_date=today + datetime.timedelta(days=80),
        approval_date=today - datetime.timedelta(days=10),
    )  # fmt: skip
    authorization.service_types.set([ServiceType.objects.get(code="IND")])

    # The front desk scans the card at intake, on the patient's page.
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    sign_in(page, staff.email, PASSWORD)
    page.goto(f"/patients/{patient.pk}/")
    upload = page.get_by_test_id("document-upload")
    upload.get_by_label("File (PDF, JPEG, PNG or HEIC)").set_input_files(
        {"name": "card.jpg", "mimeType": "image/jpeg", "buffer": card_photo()}
    )
    upload.get_by_label("Category").select_option(label="Insurance card")
    upload.get_by_label("Title").fill("Medicaid card, front")
    upload.get_by_role("button", name="Upload").click()
    expect(page.locator(".message-success")).to_contain_text("Document uploaded.")
    document = Document.objects.get(title="Medicaid card, front")
    thumbnail = page.get_by_test_id(f"document-{document.pk}").locator("img.document-thumb")
    expect(thumbnail).to_be_visible()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumbnail.element_handle())
    assert thumbnail.evaluate("img => img.naturalWidth") <= 240
    # Clinical categories are not offered to the front desk.
    options = upload.get_by_label("Category").locator("option").all_inner_texts()
    assert "Evaluation" not in options and "Referral" not in options
    screenshot(page, "documents-thumbnail-on-patient")
    context.close()

    # A nurse opens the face sheet: a PDF with the patient's name and the authorization's units left.
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    sign_in(page, nurse.email, PASSWORD)
    page.goto(f"/patients/{patient.pk}/")
    href = page.get_by_test_id("face-sheet").get_attribute("href")
    response = page.request.get(href)
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(response.body())).pages)
    assert "Maria Lopez" in text
    assert "24 of 24 units left" in text

    # A PDF whose script would run in Chromium's PDF engine is downloaded, never opened: no alert.
    letter = services.upload_document(
        actor=nurse, patient=patient, upload=SimpleUploadedFile("letter.pdf", pdf_bytes(javascript=True)),
        filename="letter.pdf", category=DocumentCategory.objects.get(code="correspondence"), title="Letter",
    )  # fmt: skip
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    # goto raises "Download is starting": there is no page to load.
    with page.expect_download() as download, contextlib.suppress(PlaywrightError):
        page.goto(f"/documents/{letter.pk}/")
    assert download.value.suggested_filename == f"correspondence-{letter.pk}.pdf"
    page.goto(f"/patients/{patient.pk}/")
    page.wait_for_timeout(500)
    assert dialogs == []

    # The patient page printed: no navigation, no buttons, no upload form.
    page.emulate_media(media="print")
    expect(page.locator(".topbar")).to_be_hidden()
    expect(page.get_by_test_id("document-upload")).to_be_hidden()
    expect(page.get_by_test_id("face-sheet")).to_be_hidden()
    expect(page.get_by_role("heading", name="Maria Lopez")).to_be_visible()
    screenshot(page, "patient-page-print")
    context.close()
