import datetime
import io
import json

import dj_database_url
import pytest
import time_machine
from django.core.management import CommandError, call_command

from operations import backup, status, tables, transfer

pytestmark = pytest.mark.django_db


def dbstatus(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("dbstatus", *args, stdout=out, stderr=err)
    except CommandError as exc:
        return exc.returncode, out.getvalue(), str(exc)
    return 0, out.getvalue(), err.getvalue()


def test_dbstatus_is_ok_with_a_fresh_backup(clinic):
    backup.create_backup(method="django")
    code, out, _ = dbstatus()
    assert code == 0
    assert "Connection:  ok" in out and "Migrations:  all applied" in out and "Status:      OK" in out
    assert "patients_patient" in out and "Last backup: spectrum-" in out


def test_dbstatus_json_for_monitoring(clinic):
    backup.create_backup(method="django")
    code, out, _ = dbstatus("--json")
    report = json.loads(out)
    assert code == 0 and report["problems"] == []
    assert report["row_counts"]["patients_patient"] == len(clinic["patients"])
    assert report["engine"] in ("sqlite", "postgresql") and report["last_backup"]["age_hours"] < 1


def test_dbstatus_fails_without_any_backup(db):
    code, out, message = dbstatus()
    assert code == 1 and "no backup in" in message and "manage.py backup" in message


def test_dbstatus_fails_when_the_last_backup_is_too_old(clinic, settings):
    backup.create_backup(method="django")
    with time_machine.travel(datetime.datetime.now(tz=datetime.UTC) + datetime.timedelta(hours=27)):
        code, _, message = dbstatus()
    assert code == 1 and "last backup is 27 hours old" in message and "BACKUP_MAX_AGE_HOURS=26" in message
    settings.BACKUP_MAX_AGE_HOURS = 48
    with time_machine.travel(datetime.datetime.now(tz=datetime.UTC) + datetime.timedelta(hours=27)):
        assert dbstatus()[0] == 0


def test_dbstatus_fails_on_unapplied_migrations(clinic, monkeypatch):
    backup.create_backup(method="django")
    monkeypatch.setattr(tables, "unapplied_migrations", lambda using="default": ["patients.0099_future"])
    code, out, message = dbstatus()
    assert code == 1 and "1 migrations not applied (e.g. patients.0099_future)" in message
    assert "1 NOT APPLIED" in out


def test_dbstatus_fails_when_the_field_key_cannot_decrypt(clinic, monkeypatch):
    import encrypted_model_fields.fields as encrypted
    from cryptography.fernet import Fernet, MultiFernet

    backup.create_backup(method="django")
    monkeypatch.setattr(encrypted, "CRYPTER", MultiFernet([Fernet(Fernet.generate_key())]))
    code, _, message = dbstatus()
    assert (
        code == 1
        and "cannot be decrypted with FIELD_ENCRYPTION_KEY" in message
        and "patients_patient.diagnosis" in message
    )


def test_an_unreachable_database_is_reported_not_raised(tmp_path):
    config = dj_database_url.parse(f"sqlite:///{tmp_path}/missing-directory/db.sqlite3")
    with transfer.extra_database("unreachable", config):
        report = status.database_status("unreachable")
    assert not report.connected and "cannot connect to the database" in report.problems[0]


def test_dbstatus_exits_2_when_the_database_cannot_be_reached(monkeypatch):
    monkeypatch.setattr(
        status,
        "database_status",
        lambda: status.StatusReport(facts={"engine": "postgresql"}, problems=["cannot connect"]),
    )
    code, out, message = dbstatus()
    assert code == 2 and "Connection:  FAILED" in out and "cannot connect" in message
