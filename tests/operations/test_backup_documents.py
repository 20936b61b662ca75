"""Backups carry the documents' stored files (encrypted as they are); restore checks them and puts them back."""

import json
import shutil

import pytest
from cryptography.fernet import Fernet
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction

from documents import backup as document_backup
from documents import services, storage
from documents.models import Document, DocumentCategory
from operations import backup, restore, tables
from tests.documents.conftest import SECRET_TEXT, pdf_bytes, png_bytes
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def documents(admin_user):
    patient = PatientFactory()

    def upload(content, name, code):
        return services.upload_document(
            actor=admin_user,
            patient=patient,
            upload=SimpleUploadedFile(name, content),
            filename=name,
            category=DocumentCategory.objects.get(code=code),
            title=name,
        )

    return [upload(pdf_bytes(), "referral.pdf", "referral"), upload(png_bytes(), "card.png", "insurance_card")]


def wipe_everything() -> None:
    with transaction.atomic():
        tables.purge(tables.inventory())
    store = storage.document_storage()
    shutil.rmtree(store.location)


def test_backup_and_restore_round_trip_with_documents(documents):
    result = backup.create_backup(method="django")
    folder = document_backup.folder_for(result.path)
    assert result.manifest["documents"]["files"] == 3  # two files and the card's thumbnail
    for path in folder.rglob("*"):
        if path.is_file():
            assert SECRET_TEXT not in path.read_bytes()  # encrypted as stored
    wipe_everything()
    assert not Document.objects.exists()

    outcome = restore.restore_backup(path=result.path)

    assert outcome.documents == 3
    referral, card = (Document.objects.get(pk=d.pk) for d in documents)
    assert b"".join(storage.open_decrypted(referral.storage_name)) == pdf_bytes()
    assert b"".join(storage.open_decrypted(card.storage_name)) == png_bytes()
    assert card.thumbnail_name and storage.document_storage().exists(card.thumbnail_name)


def test_restore_refuses_an_altered_document_before_changing_anything(documents):
    result = backup.create_backup(method="django")
    folder = document_backup.folder_for(result.path)
    name = documents[0].storage_name
    damaged = bytearray((folder / name).read_bytes())
    damaged[-10] ^= 1
    (folder / name).write_bytes(bytes(damaged))
    with pytest.raises(restore.RestoreVerificationError, match="was altered"):
        restore.restore_backup(path=result.path, force=True)
    assert Document.objects.count() == 2


def test_restore_refuses_documents_made_with_another_key(settings, documents):
    result = backup.create_backup(method="django")
    settings.FIELD_ENCRYPTION_KEY = [Fernet.generate_key().decode()]
    with pytest.raises(restore.RestoreVerificationError, match="cannot be decrypted with this FIELD_ENCRYPTION_KEY"):
        restore.restore_backup(path=result.path, force=True)


def test_restore_refuses_a_missing_or_swapped_index(documents):
    result = backup.create_backup(method="django")
    index = document_backup.folder_for(result.path) / document_backup.INDEX
    entries = json.loads(index.read_bytes())
    entries.pop(documents[0].storage_name)
    index.write_text(json.dumps(entries))
    with pytest.raises(restore.RestoreVerificationError, match="index does not match"):
        restore.restore_backup(path=result.path, force=True)
    shutil.rmtree(index.parent)
    with pytest.raises(restore.RestoreVerificationError, match="documents folder"):
        restore.restore_backup(path=result.path, force=True)


def test_pruning_removes_old_backups_documents_too(settings, documents):
    settings.BACKUP_RETENTION = 1
    first = backup.create_backup(method="django")
    second = backup.create_backup(method="django")
    assert not document_backup.folder_for(first.path).exists()
    assert document_backup.folder_for(second.path).exists()
