import io
import json
import stat

import pytest
from cryptography.fernet import Fernet, MultiFernet
from django.core.management import CommandError, call_command
from django.db import transaction

from audit.models import AuditEvent
from authorizations.models import Authorization
from operations import archive, backup, conf, restore, tables
from patients.models import Patient
from scheduling.models import Appointment
from tests.factories import PatientFactory
from tests.operations.conftest import BACKUP_KEY, NOTE, PHI, committing, database_state

pytestmark = pytest.mark.django_db

OWN_EVENTS = (backup.BACKUP_CREATED, restore.BACKUP_RESTORED)


def wipe() -> None:
    """Lose everything (the schema stays): what a restore starts from after a disaster."""
    with transaction.atomic():
        tables.purge(tables.inventory())


def test_backup_then_wipe_then_restore_gives_identical_data(clinic):
    before = database_state()
    result = backup.create_backup(method="django", run_by="tester")
    assert result.path.parent == conf.backup_dir() and result.path.name.endswith(".spbak")
    assert result.manifest["method"] == "django"
    assert result.manifest["tables"]["patients_patient"]["rows"] == len(clinic["patients"])

    wipe()
    assert Patient.objects.count() == 0
    outcome = restore.restore_backup(path=result.path, run_by="tester")

    # Row by row (checksums of every table), apart from the entries the backup and the restore wrote.
    assert database_state(ignore_events=OWN_EVENTS) == before
    assert outcome.replaced == {}
    # The encrypted fields still decrypt.
    patient = Patient.objects.get(pk=clinic["patient"].pk)
    assert (patient.ssn, patient.diagnosis, patient.medicaid_id) == (PHI["ssn"], PHI["diagnosis"], PHI["medicaid_id"])
    assert patient.ssn_masked == "***-**-9999"
    assert Appointment.objects.get(pk=clinic["appointments"][0].pk).notes == NOTE
    assert Authorization.objects.get().notes == "Prior auth call ref 7781"
    # New rows continue after the restored ids (sequences reset on PostgreSQL).
    assert PatientFactory().pk > max(p.pk for p in clinic["patients"])
    entry = AuditEvent.objects.get(event=restore.BACKUP_RESTORED)
    assert entry.additional_data["file"] == result.path.name
    assert entry.additional_data["forced"] is False and entry.additional_data["run_by"] == "tester"


def test_backup_file_and_manifest_hold_no_plaintext(clinic):
    result = backup.create_backup(method="django")
    files = sorted(path.name for path in conf.backup_dir().iterdir())
    # No temporary files left; the documents' folder (documents.backup) holds their encrypted files.
    assert files == [result.path.name, result.path.name + ".documents", result.path.name + backup.MANIFEST_SUFFIX]
    for path in conf.backup_dir().rglob("*"):
        if path.is_dir():
            assert stat.S_IMODE(path.stat().st_mode) == 0o700
            continue
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        content = path.read_bytes()
        for value in [*PHI.values(), NOTE, "Inés"]:
            assert value.encode() not in content
    assert stat.S_IMODE(conf.backup_dir().stat().st_mode) == 0o700
    manifest = json.loads(result.path.with_name(result.path.name + backup.MANIFEST_SUFFIX).read_text())
    assert set(manifest) >= {"created_at", "engine", "method", "migrations", "tables", "payload_sha256", "app_version"}
    assert manifest["migrations"]["patients"][0] == "0001_initial"
    assert result.path.read_bytes().startswith(archive.MAGIC)


def test_restore_refuses_a_database_with_data_without_force(clinic):
    result = backup.create_backup(method="django")
    PatientFactory(last_name="Newcomer")
    state = database_state()
    with pytest.raises(restore.RestoreRefused, match="not empty.*--force"):
        restore.restore_backup(path=result.path)
    with pytest.raises(CommandError, match="--force"):
        call_command("restore", str(result.path))
    assert database_state() == state


def test_forced_restore_replaces_everything_and_is_recorded(clinic):
    result = backup.create_backup(method="django")
    backed_up = database_state(ignore_events=OWN_EVENTS)
    PatientFactory(last_name="Newcomer")
    Patient.objects.filter(pk=clinic["patient"].pk).update(city="Changed")
    audit_entries = AuditEvent.objects.count()

    call_command("restore", str(result.path), "--force", stdout=io.StringIO())

    assert database_state(ignore_events=OWN_EVENTS) == backed_up
    assert not Patient.objects.filter(last_name="Newcomer").exists()
    entry = AuditEvent.objects.get(event=restore.BACKUP_RESTORED)
    assert entry.additional_data["forced"] is True
    assert entry.additional_data["replaced_audit_entries"] == audit_entries


def test_after_a_restore_the_restored_sessions_decide_who_is_signed_in(clinic, client, admin_user):
    """Sessions are read through the cache: a restore must not leave anyone signed in by a cached copy."""
    result = backup.create_backup(method="django")
    client.force_login(admin_user)  # after the backup: the restored table does not hold this session
    assert client.get("/patients/").status_code == 200

    restore.restore_backup(path=result.path, force=True)

    response = client.get("/patients/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("damage", ["flip a byte", "truncate", "append", "splice another backup's frame"])
def test_a_tampered_backup_is_rejected_and_nothing_changes(clinic, damage):
    result = backup.create_backup(method="django")
    data = bytearray(result.path.read_bytes())
    if damage == "flip a byte":
        data[len(data) // 2] ^= 0x01
    elif damage == "truncate":
        del data[-100:]
    elif damage == "append":
        data += b"\x00\x00\x00\x01x"
    else:
        other = backup.create_backup(method="django").path.read_bytes()
        # Same key, same layout: the second frame (the first data frame) of another backup.
        data = bytearray(_frames(bytes(data))[0] + _frames(other)[1] + b"".join(_frames(bytes(data))[2:]))
    result.path.write_bytes(bytes(data))
    state = database_state()
    with pytest.raises(archive.BackupError):
        restore.restore_backup(path=result.path, force=True)
    assert database_state() == state
    with pytest.raises(CommandError):
        call_command("restore", str(result.path), "--force")


def _frames(blob: bytes) -> list[bytes]:
    """The magic line plus the first frame, then every following frame, as raw bytes."""
    offset = len(archive.MAGIC)
    frames = []
    while offset < len(blob):
        size = int.from_bytes(blob[offset : offset + 4], "big")
        frames.append(blob[offset : offset + 4 + size])
        offset += 4 + size
    return [archive.MAGIC + frames[0], *frames[1:]]


def test_a_backup_made_with_another_key_is_rejected(clinic, settings):
    result = backup.create_backup(method="django")
    settings.BACKUP_ENCRYPTION_KEY = Fernet.generate_key().decode()
    with pytest.raises(archive.BackupKeyError, match="BACKUP_ENCRYPTION_KEY"):
        restore.restore_backup(path=result.path, force=True)
    # Key rotation: the old key listed after the new one still reads it.
    settings.BACKUP_ENCRYPTION_KEY = f"{settings.BACKUP_ENCRYPTION_KEY},{BACKUP_KEY}"
    restore.read_manifest(result.path)


def test_a_restore_that_fails_midway_leaves_the_original_data(clinic, monkeypatch):
    result = backup.create_backup(method="django")
    PatientFactory(last_name="Newcomer")
    state = database_state()
    real_insert = tables.insert_rows

    def failing_insert(table, rows, using="default"):
        if table.name == "patients_patient":
            raise RuntimeError("disk full")
        return real_insert(table, rows, using)

    monkeypatch.setattr(tables, "insert_rows", failing_insert)
    with pytest.raises(RuntimeError, match="disk full"):
        restore.restore_backup(path=result.path, force=True)
    assert database_state() == state
    assert Patient.objects.filter(last_name="Newcomer").exists()
    assert not AuditEvent.objects.filter(event=restore.BACKUP_RESTORED).exists()


def test_restore_refuses_a_backup_of_another_schema(clinic, monkeypatch):
    real_state = tables.migration_state
    monkeypatch.setattr(
        tables, "migration_state", lambda using="default": {**real_state(using), "patients": ["0099_future"]}
    )
    result = backup.create_backup(method="django")
    monkeypatch.setattr(tables, "migration_state", real_state)
    wipe()
    with pytest.raises(restore.RestoreRefused, match="different database schema.*patients.0099_future"):
        restore.restore_backup(path=result.path)


def test_restore_refuses_when_the_field_key_cannot_read_the_backup(clinic, monkeypatch):
    import encrypted_model_fields.fields as encrypted

    result = backup.create_backup(method="django")
    wipe()
    state = database_state()
    monkeypatch.setattr(encrypted, "CRYPTER", MultiFernet([Fernet(Fernet.generate_key())]))
    with pytest.raises(restore.RestoreVerificationError, match="FIELD_ENCRYPTION_KEY"):
        restore.restore_backup(path=result.path)
    assert database_state() == state


def test_backup_refuses_to_run_without_a_key_in_production(settings):
    settings.BACKUP_ENCRYPTION_KEY = ""
    settings.IS_PRODUCTION = True
    with pytest.raises(CommandError, match="BACKUP_ENCRYPTION_KEY is not set"):
        call_command("backup")
    assert not conf.backup_dir().exists()


def test_development_generates_the_backup_key_into_the_dev_secrets_file(settings, tmp_path, monkeypatch):
    import spectrum.settings

    secrets_file = tmp_path / "dev-secrets.json"
    monkeypatch.setattr(spectrum.settings, "DEV_SECRETS_FILE", secrets_file)
    settings.BACKUP_ENCRYPTION_KEY = ""
    key = conf.backup_keys()[0]
    assert json.loads(secrets_file.read_text())["BACKUP_ENCRYPTION_KEY"] == key
    assert conf.backup_keys()[0] == key  # kept, not regenerated
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600


def test_retention_keeps_the_newest_backups(clinic, settings):
    settings.BACKUP_RETENTION = 2
    made = [backup.create_backup(method="django") for _ in range(3)]
    kept = [entry.path for entry in backup.list_backups()]
    assert kept == [made[1].path, made[2].path]
    assert made[2].pruned == [made[0].path]
    assert not made[0].path.with_name(made[0].path.name + backup.MANIFEST_SUFFIX).exists()


def test_backup_command_prints_the_path_and_is_audited(clinic, capsys):
    call_command("backup", "--method", "django")
    output = capsys.readouterr().out
    path = backup.last_backup().path
    assert str(path) in output
    entry = AuditEvent.objects.get(event=backup.BACKUP_CREATED)
    assert entry.additional_data["file"] == path.name
    assert entry.additional_data["rows"] > 0


def test_a_freshly_migrated_database_counts_as_empty(db):
    assert tables.clinic_data(tables.inventory()) == {}


# --- PostgreSQL: pg_dump and psql, with the audit table's trigger in place -----------------------------


@pytest.mark.postgres_only
@committing
def test_pg_dump_backup_and_psql_restore_round_trip(clinic):
    result = backup.create_backup()  # auto: pg_dump is installed here
    assert result.manifest["method"] == "pg_dump"
    backed_up = database_state(ignore_events=OWN_EVENTS)
    content = result.path.read_bytes()
    assert PHI["last_name"].encode() not in content and b"COPY" not in content
    PatientFactory(last_name="Newcomer")

    outcome = restore.restore_backup(path=result.path, force=True)  # replaces audit rows past the trigger

    assert outcome.replaced["audit_auditevent"] > 0
    assert database_state(ignore_events=OWN_EVENTS) == backed_up
    assert Patient.objects.get(pk=clinic["patient"].pk).ssn == PHI["ssn"]
    assert PatientFactory().pk > max(p.pk for p in clinic["patients"])  # sequences restored
    assert AuditEvent.objects.filter(event=restore.BACKUP_RESTORED).count() == 1


@pytest.mark.postgres_only
@committing
def test_a_psql_restore_that_fails_midway_leaves_the_original_data(clinic, monkeypatch):
    result = backup.create_backup(method="pg_dump")
    PatientFactory(last_name="Newcomer")
    state = database_state()
    # The check at the end of psql's transaction fails, after every row was deleted and reloaded.
    monkeypatch.setattr(
        restore, "_count_check", lambda inventory, trailer, quote: "DO $$ BEGIN RAISE EXCEPTION 'injected'; END $$;\n"
    )
    with pytest.raises(archive.BackupError, match="psql failed"):
        restore.restore_backup(path=result.path, force=True)
    assert database_state() == state
