"""SQLite -> PostgreSQL: a seeded SQLite database, made as a user would (migrate + seed_demo in a separate
process), copied into a fresh PostgreSQL database and compared table by table, row by row."""

import io
import os
import secrets
import sqlite3
import subprocess
import sys

import dj_database_url
import psycopg
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from operations import postgres, tables, transfer
from patients.models import Patient

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db]

SKIP = {"django_migrations", "sqlite_sequence", "auditlog_logentry", "legacy_unused"}


def child_env(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_FILE")}
    env.update(
        DATABASE_URL=database_url,
        SECRET_KEY=settings.SECRET_KEY,
        FIELD_ENCRYPTION_KEY=",".join(settings.FIELD_ENCRYPTION_KEY),
        SEARCH_HASH_KEY=settings.SEARCH_HASH_KEY,
    )
    return env


def manage(*args: str, database_url: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=child_env(database_url),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finish(process: subprocess.Popen) -> None:
    output, _ = process.communicate(timeout=300)
    assert process.returncode == 0, output


@pytest.fixture
def target_url(postgres_server):
    name = f"spectrum_ops_migrate_{secrets.token_hex(4)}"
    postgres.create_database(postgres_server, name)
    yield postgres.database_url(postgres_server, name)
    postgres.drop_database(postgres_server, name)


def run(*args: str, database_url: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=child_env(database_url),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def rows(sqlite_path, target_url, table, columns):
    column_list = ", ".join(f'"{c}"' for c in columns)
    with sqlite3.connect(sqlite_path) as source:
        ours = source.execute(f'SELECT {column_list} FROM "{table}" ORDER BY 1').fetchall()
    with psycopg.connect(target_url) as target:
        theirs = target.execute(f'SELECT {column_list} FROM "{table}" ORDER BY 1').fetchall()
    return ours, theirs


def test_migrate_to_postgres_gives_identical_data(tmp_path, target_url):
    sqlite_path = tmp_path / "db.sqlite3"
    sqlite_url = f"sqlite:///{sqlite_path}"
    # The user's SQLite installation and the new, migrated PostgreSQL database (in parallel: both migrate).
    migrating = [
        manage("migrate", "--noinput", database_url=sqlite_url),
        manage("migrate", "--noinput", database_url=target_url),
    ]
    for process in migrating:
        finish(process)
    finish(manage("seed_demo", "--patients", "50", database_url=sqlite_url))
    with sqlite3.connect(sqlite_path) as source:  # a leftover table no model knows (e.g. an old auditlog_logentry)
        source.execute("CREATE TABLE legacy_unused (id integer PRIMARY KEY, note text)")
    command = ["migrate_to_postgres", "--from", sqlite_url, "--to", target_url]

    out = io.StringIO()
    call_command(*command, "--dry-run", stdout=out)
    assert "Dry run: nothing was changed" in out.getvalue() and "patients_patient: 50 rows" in out.getvalue()
    with psycopg.connect(target_url) as target:
        assert target.execute("SELECT count(*) FROM patients_patient").fetchone()[0] == 0

    out = io.StringIO()
    call_command(*command, stdout=out)
    assert "patients_patient: 50/50" in out.getvalue()  # progress
    assert "every row verified identical" in out.getvalue()
    assert "legacy_unused: skipped (empty, and not in the target)" in out.getvalue()

    # Independently of the command: every table's count with plain drivers, and raw values of the busiest.
    with sqlite3.connect(sqlite_path) as source:
        names = [row[0] for row in source.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        counts = {
            name: source.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in names if name not in SKIP
        }
    with psycopg.connect(target_url) as target:
        for name, count in counts.items():
            found = target.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
            expected = count + (1 if name == tables.AUDIT_TABLE else 0)  # plus the migration's own entry
            assert found == expected, name
        next_id = target.execute("SELECT nextval(pg_get_serial_sequence('patients_patient', 'id'))").fetchone()[0]
        assert next_id > 50  # sequences follow the copied ids
    ours, theirs = rows(sqlite_path, target_url, "patients_patient", ["id", "patient_number", "ssn", "diagnosis"])
    assert ours == theirs and len(ours) == 50  # ciphertext copied as stored
    # Row by row, every table, through the application's models; encrypted fields decrypt with the same key.
    with (
        transfer.extra_database("check_source", dj_database_url.parse(sqlite_url)),
        transfer.extra_database("check_target", dj_database_url.parse(target_url)),
    ):
        for table in tables.model_tables():
            ignored = transfer._own_entries(table)  # the chain head moved past the target's own entry
            ignored_in_source = ignored if table.name == tables.AUDIT_CHAIN_HEAD_TABLE else None
            source_rows = [
                tables.canonical(row) for row in tables.read_rows(table, "check_source", exclude=ignored_in_source)
            ]
            target_rows = [
                tables.canonical(row)
                for row in tables.read_rows(table, "check_target", exclude=transfer._own_entries(table))
            ]
            assert source_rows == target_rows, table.name
        original = Patient.objects.using("check_source").order_by("pk").first()
        copy = Patient.objects.using("check_target").order_by("pk").first()
        assert copy.diagnosis and (copy.diagnosis, copy.ssn_masked) == (original.diagnosis, original.ssn_masked)

    # Repeatable: an identical target is verified (every table's checksum) and left alone.
    out = io.StringIO()
    call_command(*command, stdout=out)
    assert "already holds exactly the source's data" in out.getvalue()

    # A target that differs is refused unless --force, which copies again.
    with psycopg.connect(target_url) as target:
        target.execute("UPDATE patients_patient SET city = 'Elsewhere' WHERE id = 1")
    with pytest.raises(CommandError, match=r"differs from the source \(patients_patient\).*--force"):
        call_command(*command)
    call_command(*command, "--force", stdout=io.StringIO())
    ours, theirs = rows(sqlite_path, target_url, "patients_patient", ["id", "city"])
    assert ours == theirs


def test_migrate_to_postgres_refuses_unmigrated_or_missing_databases(tmp_path, target_url):
    with pytest.raises(CommandError, match="No SQLite database"):
        call_command("migrate_to_postgres", "--from", f"sqlite:///{tmp_path}/none.sqlite3", "--to", target_url)
    empty = tmp_path / "empty.sqlite3"
    sqlite3.connect(empty).close()
    with pytest.raises(CommandError, match="--to must be a PostgreSQL"):
        call_command("migrate_to_postgres", "--from", f"sqlite:///{empty}", "--to", "mysql://x/y")
    with pytest.raises(CommandError, match="SQLite database is not fully migrated.*manage.py migrate"):
        call_command("migrate_to_postgres", "--from", f"sqlite:///{empty}", "--to", target_url)
