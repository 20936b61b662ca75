import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from audit.models import AuditEvent
from operations import archive, backup, verify

pytestmark = pytest.mark.django_db


def scratch_databases() -> list[str]:
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", [verify.SCRATCH_PREFIX + "%"])
        return [row[0] for row in cursor.fetchall()]


def test_verify_backup_restores_into_a_scratch_database_and_compares(clinic, capsys):
    made = backup.create_backup(method="django")
    before = scratch_databases()

    call_command("verify_backup")  # the newest backup in BACKUP_DIR

    output = capsys.readouterr().out
    assert f"{made.path.name} is good" in output
    assert ("in-memory SQLite" if connection.vendor == "sqlite" else "temporary PostgreSQL database") in output
    assert scratch_databases() == before  # dropped again
    entry = AuditEvent.objects.get(event=verify.BACKUP_VERIFIED)
    assert entry.additional_data["ok"] is True and entry.additional_data["file"] == made.path.name


def test_verify_backup_rejects_a_damaged_file_without_restoring_it(clinic, monkeypatch):
    made = backup.create_backup(method="django")
    data = bytearray(made.path.read_bytes())
    data[-50] ^= 0x20
    made.path.write_bytes(bytes(data))
    monkeypatch.setattr(verify, "_run_child", lambda *args: pytest.fail("must not restore a damaged file"))
    with pytest.raises(archive.BackupIntegrityError):
        verify.verify_backup(path=made.path)
    with pytest.raises(CommandError, match="altered"):
        call_command("verify_backup", str(made.path))


def test_verify_backup_reports_a_scratch_copy_that_differs(clinic, monkeypatch):
    made = backup.create_backup(method="django")

    def child(result, url):
        result.tables = {name: dict(summary) for name, summary in result.trailer["tables"].items()}
        result.tables["patients_patient"]["rows"] -= 1

    monkeypatch.setattr(verify, "_run_child", child)
    result = verify.verify_backup(path=made.path)
    assert not result.ok and "patients_patient" in result.problems[0]
    assert AuditEvent.objects.get(event=verify.BACKUP_VERIFIED).additional_data["ok"] is False


def test_in_scratch_mode_refuses_a_real_database(clinic):
    made = backup.create_backup(method="django")
    with pytest.raises(CommandError, match="scratch database only"):
        call_command("verify_backup", "--in-scratch", str(made.path))
