"""Proving a backup: restore it into a scratch database and compare every table's rows with its manifest.

The scratch database is a separate process's default database, so nothing of the real one is touched:
an in-memory SQLite database (no plaintext on disk), or on PostgreSQL a temporary database created on
the same server and dropped afterwards. The child runs ``verify_backup --in-scratch``: migrate, restore
(which itself checks counts, checksums and that the encrypted fields decrypt), report as JSON.
"""

import json
import os
import secrets
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connections

from audit import services as audit
from documents import backup as document_backup
from operations import archive, conf, postgres, restore, tables
from operations.models import DataOperation

BACKUP_VERIFIED = "operations.backup.verified"
SCRATCH_PREFIX = "spectrum_verify_"
SCRATCH_MARKER = "SPECTRUM_VERIFY_SCRATCH"
TIMEOUT_SECONDS = 6 * 60 * 60


@dataclass
class VerifyResult:
    path: Path
    header: dict[str, Any]
    trailer: dict[str, Any]
    scratch: str
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_backup(*, path: Path, using: str = "default", run_by: str = "") -> VerifyResult:
    """Check the file, restore it into a scratch database, compare; record the outcome in the audit trail."""
    header, trailer = restore.read_manifest(path)  # a damaged or altered file fails here, touching nothing
    connection = connections[using]
    if header["method"] == "pg_dump" and connection.vendor != "postgresql":
        raise restore.RestoreRefused("A pg_dump backup can only be verified with PostgreSQL as the database.")
    result = VerifyResult(path=Path(path), header=header, trailer=trailer, scratch="")
    try:
        document_backup.check_documents(Path(path), header.get("documents"))
    except document_backup.DocumentBackupError as exc:
        result.problems.append(str(exc))
    if connection.vendor == "postgresql":
        name = f"{SCRATCH_PREFIX}{os.getpid()}_{secrets.token_hex(4)}"
        result.scratch = f"a temporary PostgreSQL database ({name})"
        postgres.create_database(connection.settings_dict, name)
        try:
            _run_child(result, postgres.database_url(connection.settings_dict, name))
        finally:
            postgres.drop_database(connection.settings_dict, name)
    else:
        result.scratch = "an in-memory SQLite database"
        _run_child(result, "sqlite://:memory:")
    if not result.problems:
        for name, wanted in trailer["tables"].items():
            found = result.tables.get(name)
            if found != wanted:
                result.problems.append(f"{name}: scratch copy has {found}, the manifest says {wanted}")
    audit.record(
        event=BACKUP_VERIFIED,
        target_model=DataOperation,
        data={
            "file": Path(path).name,
            "backup_created_at": header["created_at"],
            "ok": result.ok,
            "tables": len(trailer["tables"]),
            "rows": sum(table["rows"] for table in trailer["tables"].values()),
            "run_by": run_by,
        },
    )
    return result


def _run_child(result: VerifyResult, database_url: str) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        SCRATCH_MARKER: "1",
        # The same keys as this process, whichever way it got them (environment, files, development file).
        "SECRET_KEY": settings.SECRET_KEY,
        "FIELD_ENCRYPTION_KEY": ",".join(settings.FIELD_ENCRYPTION_KEY),
        "SEARCH_HASH_KEY": settings.SEARCH_HASH_KEY,
        "BACKUP_ENCRYPTION_KEY": ",".join(conf.backup_keys()),
    }
    for name in ("DATABASE_URL", "SECRET_KEY", "FIELD_ENCRYPTION_KEY", "SEARCH_HASH_KEY", "BACKUP_ENCRYPTION_KEY"):
        env.pop(f"{name}_FILE", None)
    manage = str(Path(settings.BASE_DIR) / "manage.py")
    command = [sys.executable, manage, "verify_backup", "--in-scratch", str(result.path.resolve())]
    completed = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False, cwd=settings.BASE_DIR
    )
    report = _last_json_line(completed.stdout)
    if completed.returncode != 0 or report is None:
        message = (report or {}).get("error") or _last_line(completed.stderr) or f"exit {completed.returncode}"
        result.problems.append(f"Restoring into the scratch database failed: {message}")
        return
    result.tables = report["tables"]


def _last_json_line(text: str) -> dict[str, Any] | None:
    for line in reversed(text.strip().splitlines()):
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                return None
    return None


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return postgres.mask_values(lines[-1])[:500] if lines else ""


def restore_into_scratch(path: Path) -> dict[str, Any]:
    """The child's side: this process's database must be a scratch database. Migrate, restore, report."""
    from django.core.management import call_command

    connection = connections["default"]
    name = str(connection.settings_dict.get("NAME") or "")
    is_scratch = (connection.vendor == "sqlite" and name == ":memory:") or name.startswith(SCRATCH_PREFIX)
    if os.environ.get(SCRATCH_MARKER) != "1" or not is_scratch:
        raise archive.BackupError("--in-scratch is for verify_backup's own scratch database only.")
    call_command("migrate", interactive=False, verbosity=0)
    # The documents' files were checked by the parent; the scratch copy leaves the real storage alone.
    outcome = restore.restore_backup(path=path, record=False, restore_documents=False)
    inventory = tables.inventory()
    return {
        "ok": True,
        "tables": {
            name: summary for name, summary in tables.summaries(inventory).items() if name in outcome.trailer["tables"]
        },
    }
