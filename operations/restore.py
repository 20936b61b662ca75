"""Restoring a backup: checked before, done in one transaction, verified after.

1. The manifest decrypts (right key) and its migration state is the code's and the database's.
2. The database is empty (only what migrations create), or ``force`` says to replace everything.
3. The whole file is read once and checked (every frame, the payload checksum) before anything changes.
4. One transaction replaces every table's rows: Django method through ``operations.tables`` (then
   sequences, foreign keys, row counts and row checksums are checked inside the transaction); pg_dump
   method through ``psql --single-transaction`` (row counts checked inside it, checksums after).
   Any failure rolls back: the database is as it was.
5. The restore is recorded in the (restored) audit trail, with what it replaced.

On PostgreSQL the audit table's trigger refuses DELETE of recent entries; replacing its rows empties it with
TRUNCATE (the table owner's right, which a restore needs anyway), deliberately and recorded.
"""

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path
from typing import Any, BinaryIO

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.models import Session
from django.core.cache import caches
from django.db import DatabaseError, connections, transaction

from audit import services as audit
from documents import backup as document_backup
from operations import archive, conf, postgres, tables
from operations.models import DataOperation

BACKUP_RESTORED = "operations.backup.restored"


class RestoreRefused(archive.BackupError):
    """The restore would not be safe as asked (non-empty database, other schema, wrong engine)."""


class RestoreVerificationError(archive.BackupError):
    pass


@dataclass
class RestoreResult:
    header: dict[str, Any]
    trailer: dict[str, Any]
    replaced: dict[str, int] = field(default_factory=dict)  # rows that were in the database before
    undecryptable: list[str] = field(default_factory=list)
    documents: int = 0  # document files put back into storage


def read_manifest(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Decrypt and check the whole file without touching any database: (header, trailer) or an error."""
    crypto = conf.backup_crypto()
    with _open(path) as source:
        reader = archive.ArchiveReader(source, crypto)
        header = reader.read_header()
        trailer = reader.verify()
    return header, trailer


def _open(path: Path) -> BinaryIO:
    try:
        return Path(path).open("rb")
    except FileNotFoundError:
        raise archive.BackupError(f"No backup file at {path}.") from None


def check_schema(header: dict[str, Any], using: str = "default") -> None:
    """Refuse unless the database is fully migrated and the backup was made at the same migrations."""
    unapplied = tables.unapplied_migrations(using)
    if unapplied:
        raise RestoreRefused(
            f"The database is not fully migrated ({len(unapplied)} migrations pending, e.g. {unapplied[0]}): "
            "run `python manage.py migrate` first, then restore."
        )
    only_backup, only_here = tables.compare_migrations(header.get("migrations", {}), tables.migration_state(using))
    if only_backup or only_here:
        parts = []
        if only_here:
            parts.append(f"the backup predates {len(only_here)} migrations of this version (e.g. {only_here[0]})")
        if only_backup:
            parts.append(f"the backup has {len(only_backup)} migrations this version lacks (e.g. {only_backup[0]})")
        raise RestoreRefused(
            "The backup was made with a different database schema: " + "; ".join(parts) + ". Restore it with "
            f"the Spectrum version that made it ({header.get('app_version', 'unknown')}), then upgrade with "
            "`python manage.py migrate`."
        )


def restore_backup(
    *,
    path: Path,
    force: bool = False,
    using: str = "default",
    run_by: str = "",
    record: bool = True,
    restore_documents: bool = True,
) -> RestoreResult:
    """Replace the contents of database ``using`` with the backup at ``path`` (see the module docstring)."""
    crypto = conf.backup_crypto()
    connection = connections[using]
    with _open(path) as source:
        header = archive.ArchiveReader(source, crypto).read_header()
    if header["method"] == "pg_dump" and connection.vendor != "postgresql":
        raise RestoreRefused("This backup was made with pg_dump: it can only be restored into PostgreSQL.")
    check_schema(header, using)
    inventory = tables.inventory(using)
    existing = tables.clinic_data(inventory, using)
    if existing and not force:
        total = sum(existing.values())
        raise RestoreRefused(
            f"The database is not empty ({total:,} rows in {len(existing)} tables, e.g. "
            f"{', '.join(sorted(existing)[:3])}). Restoring replaces everything in it: run again with --force "
            "if that is what you want (take a backup of it first)."
        )
    _, trailer = read_manifest(path)  # the whole file checks out before anything changes
    try:  # and so do the documents' files: checksums, and that they decrypt with this FIELD_ENCRYPTION_KEY
        document_index = document_backup.check_documents(Path(path), header.get("documents"))
    except document_backup.DocumentBackupError as exc:
        raise RestoreVerificationError(str(exc)) from None
    known = {table.name for table in inventory}
    missing = sorted(set(trailer["tables"]) - known)
    if missing:
        raise RestoreRefused(f"The backup holds tables this database lacks: {', '.join(missing)}.")
    result = RestoreResult(header=header, trailer=trailer, replaced=existing)
    # Files first: they are under random names, so one the database then does not point at is harmless.
    if restore_documents:
        result.documents = document_backup.restore_documents(Path(path), document_index)
    sessions_before = _session_keys(using)
    try:
        if header["method"] == "pg_dump":
            _restore_with_psql(path, crypto, inventory, trailer, using)
        else:
            with transaction.atomic(using=using):
                _restore_with_django(path, crypto, inventory, trailer, using)
                ContentType.objects.clear_cache()  # content type ids may differ between old and restored rows
                _verify(inventory, trailer, using)
                result.undecryptable = tables.undecryptable_columns(using)
                if result.undecryptable:
                    raise RestoreVerificationError(
                        "The backup's encrypted fields cannot be decrypted with this FIELD_ENCRYPTION_KEY "
                        f"({', '.join(result.undecryptable[:3])}): nothing was restored. Run the restore with the "
                        "FIELD_ENCRYPTION_KEY the backed-up installation used."
                    )
                if record:
                    _record(result, force=force, run_by=run_by, path=path)
    finally:
        # Content type ids may differ between the old and the restored rows.
        ContentType.objects.clear_cache()
        _forget_cached_sessions(sessions_before, using)
    if header["method"] == "pg_dump":
        _verify(inventory, trailer, using)
        result.undecryptable = tables.undecryptable_columns(using)
        if record:
            _record(result, force=force, run_by=run_by, path=path)
    return result


def _session_keys(using: str) -> set[str]:
    return set(Session.objects.using(using).values_list("session_key", flat=True))


def _forget_cached_sessions(before: set[str], using: str) -> None:
    """Sessions are read through the cache (``cached_db``): drop the cached copies of the sessions the
    database held before and holds now, so that the restored table decides who is signed in.
    """
    prefix = getattr(import_module(settings.SESSION_ENGINE).SessionStore, "cache_key_prefix", None)
    if not prefix:
        return
    try:
        keys = before | _session_keys(using)
    except DatabaseError:
        keys = before  # the database is unreachable: the restore's own error is the one to report
    caches[settings.SESSION_CACHE_ALIAS].delete_many([prefix + key for key in keys])


def _record(result: RestoreResult, *, force: bool, run_by: str, path: Path) -> None:
    audit.record(
        event=BACKUP_RESTORED,
        target_model=DataOperation,
        data={
            "file": Path(path).name,
            "backup_created_at": result.header["created_at"],
            "method": result.header["method"],
            "rows": sum(table["rows"] for table in result.trailer["tables"].values()),
            "forced": force,
            # What the restore replaced, the audit trail's own rows included (it is restored from the backup).
            "replaced_rows": sum(result.replaced.values()),
            "replaced_audit_entries": result.replaced.get(tables.AUDIT_TABLE, 0),
            "undecryptable_columns": result.undecryptable,
            "document_files": result.documents,
            "run_by": run_by,
        },
    )


def _rows_of(lines: Iterator[bytes], inventory: dict[str, tables.Table]) -> Iterator[tuple[tables.Table, list]]:
    table = None
    order: list[int] | None = None
    for line in lines:
        if not line:
            continue
        item = json.loads(line)
        if isinstance(item, dict):
            table = inventory.get(item["table"])
            if table is None:
                raise RestoreRefused(f"The backup holds table {item['table']}, which this database lacks.")
            if sorted(table.columns) != sorted(item["columns"]):
                raise RestoreRefused(f"Table {table.name} has other columns here than in the backup.")
            # Tables without a model list their columns in the database's order, which differs between engines.
            order = (
                None if list(table.columns) == item["columns"] else [item["columns"].index(c) for c in table.columns]
            )
            continue
        if table is None:
            raise archive.BackupIntegrityError("The backup's payload is malformed.")
        yield table, item if order is None else [item[index] for index in order]


def _restore_with_django(path: Path, crypto: Any, inventory: list[tables.Table], trailer: dict, using: str) -> None:
    by_name = {table.name: table for table in inventory}
    tables.purge(inventory, using)
    with _open(path) as source:
        reader = archive.ArchiveReader(source, crypto)
        reader.read_header()
        batch: list[list] = []
        current = None
        for table, row in _rows_of(archive.iter_lines(reader.payload()), by_name):
            if table is not current or len(batch) >= tables.BATCH_SIZE:
                if current is not None:
                    tables.insert_rows(current, batch, using)
                batch, current = [], table
            batch.append(row)
        if current is not None:
            tables.insert_rows(current, batch, using)
    tables.reset_sequences(inventory, using)
    tables.check_constraints(inventory, using)


def _verify(inventory: list[tables.Table], trailer: dict[str, Any], using: str) -> None:
    """Every table holds exactly the backup's rows (counts and checksums); tables not in the backup are empty."""
    expected = trailer["tables"]
    problems = []
    for table in inventory:
        wanted = expected.get(table.name, {"rows": 0, "checksum": tables.TableDigest().summary()["checksum"]})
        found = tables.table_summary(table, using)
        if found["rows"] != wanted["rows"]:
            problems.append(f"{table.name}: {found['rows']} rows, the backup has {wanted['rows']}")
        elif found["checksum"] != wanted["checksum"]:
            problems.append(f"{table.name}: the rows differ from the backup's (checksum)")
    if problems:
        raise RestoreVerificationError("The restored data does not match the backup: " + "; ".join(problems))


def _restore_with_psql(path: Path, crypto: Any, inventory: list[tables.Table], trailer: dict, using: str) -> None:
    """Feed psql, in one transaction: the purge, the decrypted dump, then a row count check."""
    connection = connections[using]
    quote = connection.ops.quote_name
    process = subprocess.Popen(
        ["psql", "--no-psqlrc", "--quiet", "--set", "ON_ERROR_STOP=1", "--single-transaction", "--file=-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=postgres.client_env(connection.settings_dict),
    )
    errors = postgres.ErrorOutput(process.stderr)
    assert process.stdin is not None
    failure: BaseException | None = None
    try:
        prelude = [statement + ";" for statement in tables.emptying_statements(inventory, "postgresql", quote)]
        process.stdin.write(("\n".join(prelude) + "\n").encode())
        with _open(path) as source:
            reader = archive.ArchiveReader(source, crypto)
            reader.read_header()
            try:
                for piece in reader.payload():
                    process.stdin.write(piece)
            except archive.BackupError as exc:
                failure = exc
                # Make psql fail (and roll back) instead of committing at the end of its input.
                process.stdin.write(b"\n\\.\nDO $$ BEGIN RAISE EXCEPTION 'restore aborted'; END $$;\n")
        if failure is None:
            process.stdin.write(_count_check(inventory, trailer, quote).encode())
        process.stdin.close()
    except BrokenPipeError:
        pass  # psql stopped at an error; its message follows
    returncode = process.wait()
    errors.join()
    if failure is not None:
        raise failure
    if returncode != 0:
        raise archive.BackupError(f"psql failed (exit {returncode}); nothing was restored. {errors.text}")


def _count_check(inventory: list[tables.Table], trailer: dict, quote: Any) -> str:
    checks = []
    for table in inventory:
        rows = int(trailer["tables"].get(table.name, {"rows": 0})["rows"])
        checks.append(
            f"  SELECT count(*) INTO n FROM {quote(table.name)};\n"
            f"  IF n <> {rows} THEN RAISE EXCEPTION 'row count of % is %, the backup has %', "
            f"'{table.name}', n, {rows}; END IF;"
        )
    # pg_dump empties search_path; the check names tables as Django does, in the usual schema.
    return "\nRESET search_path;\nDO $$\nDECLARE n bigint;\nBEGIN\n" + "\n".join(checks) + "\nEND $$;\n"
