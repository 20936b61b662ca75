"""The S3 path against a real S3-compatible server on loopback (moto in server mode, as a subprocess)."""

import datetime
import socket
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest
from django.utils import timezone

from documents import services, storage
from tests.documents.conftest import SECRET_TEXT, pdf_bytes, png_bytes, upload_file

pytestmark = pytest.mark.django_db

BUCKET = "spectrum-documents-test"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "region_name": "us-east-1"}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def s3_server():
    """``moto_server`` on a free loopback port; yields its endpoint URL, stops it afterwards."""
    executable = Path(sys.executable).with_name("moto_server")
    if not executable.exists():
        pytest.fail("moto_server is missing: pip install -r requirements-dev.txt (moto[server]).")
    port = _free_port()
    process = subprocess.Popen(
        [str(executable), "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("moto_server did not start") from None
                time.sleep(0.1)
        boto3.client("s3", endpoint_url=endpoint, **CREDENTIALS).create_bucket(Bucket=BUCKET)
        yield endpoint
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def s3_documents(settings, s3_server):
    """Documents stored in the loopback S3 bucket, configured as DOCUMENTS_STORAGE=s3 configures them."""
    settings.STORAGES = {
        **settings.STORAGES,
        "documents": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": BUCKET,
                "endpoint_url": s3_server,
                "region_name": "us-east-1",
                "access_key": "testing",
                "secret_key": "testing",
                "default_acl": "private",
                "querystring_auth": True,
                "file_overwrite": False,
            },
        },
    }
    return boto3.client("s3", endpoint_url=s3_server, **CREDENTIALS)


def test_upload_view_and_purge_through_s3(client, admin_user, patient, category, s3_documents):
    document = services.upload_document(
        actor=admin_user,
        patient=patient,
        upload=upload_file(pdf_bytes(), "referral.pdf"),
        filename="referral.pdf",
        category=category("referral"),
        title="Referral",
    )
    stored = s3_documents.get_object(Bucket=BUCKET, Key=document.storage_name)["Body"].read()
    assert SECRET_TEXT not in stored and stored.startswith(b"SPECTRUM-DOC/1")

    client.force_login(admin_user)
    response = client.get(f"/documents/{document.pk}/")
    assert b"".join(response.streaming_content) == pdf_bytes()

    services.delete_document(actor=admin_user, document=document)
    assert storage.document_storage().exists(document.storage_name)  # kept until the retention purge
    purged = services.purge_deleted_documents(
        older_than=datetime.timedelta(days=1), now=timezone.now() + datetime.timedelta(days=2)
    )
    assert purged == 1
    assert not storage.document_storage().exists(document.storage_name)


def test_image_and_thumbnail_in_s3(client, staff_user, patient, category, s3_documents):
    document = services.upload_document(
        actor=staff_user,
        patient=patient,
        upload=upload_file(png_bytes((900, 600)), "card.png"),
        filename="card.png",
        category=category("insurance_card"),
        title="Card",
    )
    keys = {item["Key"] for item in s3_documents.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert {document.storage_name, document.thumbnail_name} <= keys
    client.force_login(staff_user)
    assert client.get(f"/documents/{document.pk}/thumbnail/")["Content-Type"] == "image/jpeg"
