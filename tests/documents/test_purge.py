import datetime

import pytest
from django.core.management import call_command

from audit.models import AuditEvent
from documents import services, storage

pytestmark = pytest.mark.django_db


def test_purge_removes_files_deleted_before_the_retention_period_only(
    settings, admin_user, stored_document, frozen_clinic_clock, capsys
):
    settings.DOCUMENT_RETENTION_DAYS = 30
    old, recent, current = stored_document(), stored_document(), stored_document()
    services.delete_document(actor=admin_user, document=old)
    frozen_clinic_clock.shift(datetime.timedelta(days=25))
    services.delete_document(actor=admin_user, document=recent)
    frozen_clinic_clock.shift(datetime.timedelta(days=10))
    call_command("purge_deleted_documents")
    assert "Removed the files of 1 deleted document." in capsys.readouterr().out
    exists = storage.document_storage().exists
    assert not exists(old.storage_name) and not exists(old.thumbnail_name)
    assert exists(recent.storage_name) and exists(current.storage_name)
    old.refresh_from_db()
    assert old.purged_at is not None
    assert AuditEvent.objects.filter(event=services.PURGED, object_pk=str(old.pk)).count() == 1
