"""Encrypted backups: a consistent snapshot of every table, compressed and encrypted on the way to disk.

Two methods, one file format (``operations.archive``):

- ``pg_dump`` (PostgreSQL, when pg_dump of the server's major version is installed): a plain, data-only
  dump taken in the snapshot our own REPEATABLE READ transaction exported, so the row counts and
  checksums in the manifest describe exactly the dumped data. Restored with psql.
- ``django`` (SQLite, or PostgreSQL without a usable pg_dump): every table read through Django in one
  transaction (REPEATABLE READ on PostgreSQL; on SQLite the write lock keeps writers out), one JSON line
  per row. Restores into either engine.

Plaintext never touches the disk: pg_dump's output and the rows go through zlib and the chunked Fernet
writer straight into a hidden file in BACKUP_DIR, renamed into place only once complete. Beside it, a
``.manifest.json`` copy of the manifest (no PHI: counts, checksums, migration names) lets ``dbstatus``
and monitoring read it without the key; restores trust only the encrypted, authenticated copy.
"""

import contextlib
import datetime
import json
import os
import secrets
import subprocess
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connections, transaction
from django.utils import timezone

from audit import services as audit
from documents import backup as document_backup
from operations import archive, conf, postgres, tables
from operations.models import DataOperation

SUFFIX = ".spbak"
MANIFEST_SUFFIX = ".manifest.json"
METHODS = ("auto", "pg_dump", "django")
BACKUP_CREATED = "operations.backup.created"


@dataclass
class BackupResult:
    path: Path
    manifest: dict[str, Any]
    pruned: list[Path] = field(default_factory=list)


@dataclass(frozen=True)
class BackupFile:
    path: Path
    created_at: datetime.datetime
    manifest: dict[str, Any] | None

    @property
    def age(self) -> datetime.timedelta:
        return timezone.now() - self.created_at


def app_version() -> str:
    try:
        with (Path(settings.BASE_DIR) / "pyproject.toml").open("rb") as file:
            return str(tomllib.load(file)["project"]["version"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "unknown"


def choose_method(requested: str, using: str = "default") -> str:
    connection = connections[using]
    if requested == "django":
        return "django"
    if connection.vendor != "postgresql":
        if requested == "pg_dump":
            raise archive.BackupError("The pg_dump method needs PostgreSQL; this database is SQLite.")
        return "django"
    usable, reason = postgres.pg_dump_usable(connection)
    if usable:
        return "pg_dump"
    if requested == "pg_dump":
        raise archive.BackupError(f"Cannot back up with pg_dump: {reason}.")
    return "django"


@contextlib.contextmanager
def snapshot(using: str = "default") -> Iterator[bool]:
    """A read transaction that sees one state of the database. Yields whether it is our own transaction.

    Inside a caller's transaction (tests) it joins that one, which sees that transaction's state.
    """
    connection = connections[using]
    outermost = not connection.in_atomic_block
    if outermost and connection.vendor == "sqlite":
        # A plain (deferred) read transaction: in WAL mode it reads one snapshot while the clinic keeps
        # writing. Django's atomic() would BEGIN IMMEDIATE (settings) and hold the write lock throughout.
        with connection.cursor() as cursor:
            cursor.execute("BEGIN DEFERRED")
        try:
            yield True
        finally:
            with connection.cursor() as cursor:
                cursor.execute("ROLLBACK")  # nothing was written
        return
    with transaction.atomic(using=using):
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield outermost


def create_backup(
    *, directory: Path | None = None, method: str = "auto", using: str = "default", run_by: str = ""
) -> BackupResult:
    """Write an encrypted backup of database ``using`` into ``directory`` (BACKUP_DIR), then prune old ones.

    Records ``operations.backup.created`` in the audit trail (after the snapshot, so not inside it).
    """
    crypto = conf.backup_crypto()
    method = choose_method(method, using)
    directory = Path(directory or conf.backup_dir())
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    connection = connections[using]
    created_at = timezone.now()
    backup_id = secrets.token_bytes(16)
    name = f"spectrum-{created_at:%Y%m%dT%H%M%S.%fZ}{SUFFIX}"
    final = directory / name
    partial = directory / f".{name}.partial"
    manifest: dict[str, Any] = {
        "format": archive.FORMAT_VERSION,
        "backup_id": backup_id.hex(),
        "created_at": created_at.isoformat(),
        "app": "spectrum",
        "app_version": app_version(),
        "engine": connection.vendor,
        "engine_version": _engine_version(connection),
        "method": method,
    }
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        # Documents' stored files (encrypted as they are) go beside the backup; the manifest authenticates them.
        manifest["documents"] = document_backup.write_documents(final, using)
        with os.fdopen(fd, "wb") as out:
            writer = archive.ArchiveWriter(out, crypto, backup_id)
            if method == "pg_dump":
                trailer = _dump_with_pg_dump(writer, manifest, using)
            else:
                trailer = _dump_with_django(writer, manifest, using)
            out.flush()
            os.fsync(out.fileno())
        partial.replace(final)
    except BaseException:
        partial.unlink(missing_ok=True)
        document_backup.remove(final)
        raise
    manifest = {**manifest, **trailer, "file": name}
    _write_sidecar(final, manifest)
    _fsync_directory(directory)
    audit.record(
        event=BACKUP_CREATED,
        target_model=DataOperation,
        data={
            "file": name,
            "method": method,
            "tables": len(trailer["tables"]),
            "rows": sum(table["rows"] for table in trailer["tables"].values()),
            "run_by": run_by,
        },
    )
    pruned = prune(directory, keep=conf.backup_retention())
    return BackupResult(path=final, manifest=manifest, pruned=pruned)


def _engine_version(connection: Any) -> str:
    if connection.vendor == "postgresql":
        major, minor = divmod(connection.pg_version, 10000)
        return f"{major}.{minor}"
    import sqlite3

    return sqlite3.sqlite_version


def _dump_with_django(writer: archive.ArchiveWriter, manifest: dict[str, Any], using: str) -> dict[str, Any]:
    with snapshot(using):
        inventory = tables.inventory(using)
        manifest["migrations"] = tables.migration_state(using)
        manifest["tables"] = [table.name for table in inventory]
        writer.write_header(manifest)
        stats = {}
        for table in inventory:
            heading = {"table": table.name, "columns": list(table.columns), "model": table.label}
            writer.write((json.dumps(heading) + "\n").encode())
            digest = tables.TableDigest()
            batch: list[str] = []
            for row in tables.read_rows(table, using):
                line = tables.canonical(row)
                digest.add(line)
                batch.append(line)
                if len(batch) >= 500:
                    writer.write(("\n".join(batch) + "\n").encode())
                    batch = []
            if batch:
                writer.write(("\n".join(batch) + "\n").encode())
            stats[table.name] = digest.summary()
    return writer.finish({"tables": stats})


def _dump_with_pg_dump(writer: archive.ArchiveWriter, manifest: dict[str, Any], using: str) -> dict[str, Any]:
    connection = connections[using]
    with snapshot(using) as own:
        if not own:
            raise archive.BackupError("A pg_dump backup cannot run inside another transaction.")
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot_id = cursor.fetchone()[0]
        inventory = tables.inventory(using)
        manifest["migrations"] = tables.migration_state(using)
        manifest["tables"] = [table.name for table in inventory]
        manifest["pg_dump_major"] = postgres.client_major("pg_dump")
        writer.write_header(manifest)
        command = [
            "pg_dump", "--format=plain", "--data-only", "--no-owner", "--no-privileges", "--no-comments",
            f"--snapshot={snapshot_id}", "--exclude-table-data=django_migrations",
        ]  # fmt: skip
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=postgres.client_env(connection.settings_dict),
        )
        errors = postgres.ErrorOutput(process.stderr)
        assert process.stdout is not None
        while chunk := process.stdout.read(1024 * 1024):
            writer.write(chunk)
        returncode = process.wait()
        errors.join()
        if returncode != 0:
            raise archive.BackupError(f"pg_dump failed (exit {returncode}): {errors.text}")
        # Counts and checksums from the same snapshot pg_dump saw.
        stats = tables.summaries(inventory, using)
    return writer.finish({"tables": stats})


def _write_sidecar(path: Path, manifest: dict[str, Any]) -> None:
    sidecar = path.with_name(path.name + MANIFEST_SUFFIX)
    partial = sidecar.with_name(f".{sidecar.name}.partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(manifest, out, indent=2, sort_keys=True)
    partial.replace(sidecar)


def _fsync_directory(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def list_backups(directory: Path | None = None) -> list[BackupFile]:
    """Backups in ``directory`` (BACKUP_DIR), oldest first."""
    directory = Path(directory or conf.backup_dir())
    if not directory.is_dir():
        return []
    found = []
    for path in directory.glob(f"spectrum-*{SUFFIX}"):
        manifest = None
        sidecar = path.with_name(path.name + MANIFEST_SUFFIX)
        with contextlib.suppress(OSError, ValueError):
            manifest = json.loads(sidecar.read_text())
        created_at = None
        if manifest and manifest.get("created_at"):
            with contextlib.suppress(ValueError):
                created_at = datetime.datetime.fromisoformat(manifest["created_at"])
        if created_at is None:
            created_at = datetime.datetime.fromtimestamp(path.stat().st_mtime, tz=datetime.UTC)
        found.append(BackupFile(path=path, created_at=created_at, manifest=manifest))
    return sorted(found, key=lambda backup: (backup.created_at, backup.path.name))


def last_backup(directory: Path | None = None) -> BackupFile | None:
    backups = list_backups(directory)
    return backups[-1] if backups else None


def prune(directory: Path, *, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` backups (and their manifests); ``keep`` 0 keeps everything."""
    if keep <= 0:
        return []
    backups = list_backups(directory)
    removed = []
    for backup in backups[: max(len(backups) - keep, 0)]:
        backup.path.unlink(missing_ok=True)
        backup.path.with_name(backup.path.name + MANIFEST_SUFFIX).unlink(missing_ok=True)
        document_backup.remove(backup.path)
        removed.append(backup.path)
    return removed
