"""Uploading: the type comes from the content, the size is limited, the file is encrypted at rest in chunks."""

import io
import tracemalloc

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import TemporaryUploadedFile

from audit.models import AuditEvent
from documents import crypto, services, storage
from documents.models import Document
from tests.documents.conftest import SECRET_TEXT, jpeg_bytes, pdf_bytes, png_bytes, upload_file

pytestmark = pytest.mark.django_db


def upload(actor, patient, category, content, name, code="insurance_card"):
    return services.upload_document(
        actor=actor,
        patient=patient,
        upload=upload_file(content, name),
        filename=name,
        category=category(code),
        title="Scan",
    )


def stored_bytes(document: Document) -> bytes:
    with storage.document_storage().open(document.storage_name, "rb") as handle:
        return handle.read()


@pytest.mark.parametrize(
    ("content", "name", "content_type"),
    [
        (pdf_bytes(), "referral.pdf", "application/pdf"),
        (jpeg_bytes(), "card.JPG", "image/jpeg"),
        (png_bytes(), "card.png", "image/png"),
        (png_bytes(), "scan-without-extension", "image/png"),
    ],
)
def test_accepted_types_are_stored_with_the_type_their_content_has(
    admin_user, patient, category, content, name, content_type
):
    document = upload(admin_user, patient, category, content, name)
    assert document.content_type == content_type
    assert document.size == len(content)
    assert b"".join(storage.open_decrypted(document.storage_name)) == content


def test_png_renamed_pdf_is_refused_as_lying_about_its_type(admin_user, patient, category):
    with pytest.raises(ValidationError) as caught:
        upload(admin_user, patient, category, png_bytes(), "report.pdf")
    assert caught.value.message_dict["file"] == [
        "The file's name says it is a PDF, but its content is a PNG image. Rename it or upload the original file."
    ]
    assert not Document.objects.exists()
    assert storage.document_storage().listdir("")[1] == []


def test_html_renamed_jpg_is_refused(admin_user, patient, category):
    html = b"<!DOCTYPE html><html><script>alert(document.cookie)</script></html>"
    with pytest.raises(ValidationError) as caught:
        upload(admin_user, patient, category, html, "photo.jpg")
    assert caught.value.message_dict["file"] == [
        "Only PDF, JPEG, PNG and HEIC files can be uploaded; this file is none of them."
    ]
    assert not Document.objects.exists()


def test_a_jpeg_header_on_garbage_is_refused_as_unreadable(admin_user, patient, category):
    with pytest.raises(ValidationError) as caught:
        upload(admin_user, patient, category, b"\xff\xd8\xff\xe0" + b"not really" * 50, "card.jpg")
    assert "not a readable a JPEG image" in caught.value.message_dict["file"][0]


def test_empty_file_is_refused(admin_user, patient, category):
    with pytest.raises(ValidationError) as caught:
        upload(admin_user, patient, category, b"", "empty.pdf")
    assert caught.value.message_dict["file"] == ["The file is empty."]


def test_file_over_the_limit_is_refused_and_nothing_is_stored(settings, admin_user, patient, category):
    settings.DOCUMENT_MAX_BYTES = 1000
    with pytest.raises(ValidationError) as caught:
        upload(admin_user, patient, category, pdf_bytes(b"x" * 2000), "big.pdf")
    assert caught.value.message_dict["file"] == [f"The file is larger than the {1000 / 1048576:g} MB limit."]
    assert not Document.objects.exists()


def test_heic_photo_is_converted_to_jpeg(admin_user, patient, category):
    pillow_heif = pytest.importorskip("pillow_heif")
    from PIL import Image

    pillow_heif.register_heif_opener()
    heic = io.BytesIO()
    Image.new("RGB", (120, 80), (10, 200, 10)).save(heic, format="HEIF")
    document = upload(admin_user, patient, category, heic.getvalue(), "IMG_0001.HEIC")
    assert document.content_type == "image/jpeg"
    content = b"".join(storage.open_decrypted(document.storage_name))
    assert content.startswith(b"\xff\xd8\xff")
    assert document.thumbnail_name


def test_stored_bytes_hold_no_plaintext_and_names_are_random(admin_user, patient, category):
    document = upload(admin_user, patient, category, pdf_bytes(), "Lopez Maria referral.pdf", code="referral")
    raw = stored_bytes(document)
    assert raw.startswith(crypto.MAGIC)
    assert SECRET_TEXT not in raw
    assert b"%PDF" not in raw
    assert "Lopez" not in document.storage_name and "referral" not in document.storage_name
    assert document.storage_name.startswith("documents/")


def test_a_wrong_key_fails_loudly(settings, admin_user, patient, category):
    document = upload(admin_user, patient, category, pdf_bytes(), "a.pdf")
    settings.FIELD_ENCRYPTION_KEY = [Fernet.generate_key().decode()]
    with pytest.raises(crypto.DocumentDecryptionError, match="cannot be decrypted with FIELD_ENCRYPTION_KEY"):
        b"".join(storage.open_decrypted(document.storage_name))


def test_rotated_keys_still_read_old_documents(settings, admin_user, patient, category):
    document = upload(admin_user, patient, category, pdf_bytes(), "a.pdf")
    settings.FIELD_ENCRYPTION_KEY = [Fernet.generate_key().decode(), *settings.FIELD_ENCRYPTION_KEY]
    assert b"".join(storage.open_decrypted(document.storage_name)) == pdf_bytes()


def test_an_altered_or_truncated_file_fails(admin_user, patient, category):
    document = upload(admin_user, patient, category, pdf_bytes(b"y" * 600_000), "a.pdf")
    raw = stored_bytes(document)
    with pytest.raises(crypto.DocumentDecryptionError):
        b"".join(crypto.decrypt_chunks(io.BytesIO(raw[:-500])))
    tampered = bytearray(raw)
    tampered[len(raw) // 2] ^= 1
    with pytest.raises(crypto.DocumentDecryptionError):
        b"".join(crypto.decrypt_chunks(io.BytesIO(bytes(tampered))))


def test_memory_stays_bounded_while_a_20_mb_upload_is_encrypted_and_read_back(admin_user, patient, category):
    size = 20 * 1024 * 1024
    temp = TemporaryUploadedFile("scan.pdf", "application/pdf", size, None)
    temp.write(b"%PDF-1.7\n")
    block = bytes(range(256)) * 4096  # 1 MiB
    while temp.tell() < size:
        temp.write(block[: size - temp.tell()])
    temp.seek(0)
    tracemalloc.start()
    try:
        document = services.upload_document(
            actor=admin_user, patient=patient, upload=temp, filename="scan.pdf", category=category("other"), title="Big"
        )
        _, upload_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        total = sum(len(chunk) for chunk in storage.open_decrypted(document.storage_name))
        _, download_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        temp.close()
    assert total == size
    # A few chunks (256 KiB plaintext, ~350 KiB tokens) at a time, never the 20 MiB file.
    assert upload_peak < 4 * 1024 * 1024, upload_peak
    assert download_peak < 4 * 1024 * 1024, download_peak


def test_upload_writes_the_row_and_one_upload_entry(admin_user, patient, category):
    document = upload(admin_user, patient, category, png_bytes(), "card.png")
    entry = AuditEvent.objects.get(event=services.UPLOADED)
    assert entry.actor == admin_user
    assert entry.patient_id == patient.pk
    assert entry.object_pk == str(document.pk)
    assert entry.additional_data == {"category": "insurance_card", "content_type": "image/png", "size": document.size}
    assert document.uploaded_by == admin_user
    assert document.thumbnail_name


def test_a_failed_database_write_removes_the_stored_file(admin_user, patient, category, monkeypatch):
    def fail(**kwargs):
        raise RuntimeError("database down")

    monkeypatch.setattr(services.audit, "record", fail)
    with pytest.raises(RuntimeError):
        upload(admin_user, patient, category, png_bytes(), "card.png")
    assert not Document.objects.exists()
    directories, files = storage.document_storage().listdir("documents")
    leftovers = [name for d in directories for name in storage.document_storage().listdir(f"documents/{d}")[1]]
    assert leftovers == []


def test_expiry_before_the_document_date_is_refused(admin_user, patient, category):
    import datetime

    with pytest.raises(ValidationError) as caught:
        services.upload_document(
            actor=admin_user,
            patient=patient,
            upload=upload_file(pdf_bytes(), "c.pdf"),
            filename="c.pdf",
            category=category("consent"),
            title="Consent",
            document_on=datetime.date(2026, 5, 1),
            expires_on=datetime.date(2026, 4, 1),
        )
    assert caught.value.message_dict == {"expires_on": ["The expiry date is before the document's date."]}


@pytest.mark.parametrize(
    ("content", "active"),
    [
        (pdf_bytes(), False),
        (pdf_bytes(javascript=True), True),
        (pdf_bytes().replace(b"%%EOF", b"%%EOX"), True),  # cannot be inspected: counts as active
        (pdf_bytes(page_script=True), True),
    ],
)
def test_pdf_scripts_and_actions_are_found(content, active):
    assert services.pdf_has_active_content(io.BytesIO(content)) is active
