"""``dbstatus``: is the database reachable, migrated, readable with our key, and backed up recently?"""

import datetime
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import DatabaseError, connections

from operations import backup, conf, tables


@dataclass
class StatusReport:
    facts: dict[str, Any] = field(default_factory=dict)
    row_counts: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    connected: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems


def database_status(using: str = "default", *, backup_dir: Path | None = None) -> StatusReport:
    """Everything ``dbstatus`` shows; ``problems`` lists what is wrong, in words an operator can act on."""
    report = StatusReport()
    connection = connections[using]
    report.facts["engine"] = connection.vendor
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        report.problems.append(f"cannot connect to the database ({type(exc).__name__}: {str(exc).strip()[:200]})")
        return report
    report.connected = True
    report.facts["version"] = _version(connection)
    report.facts["database"] = _name(connection)
    report.facts["size_bytes"] = _size(connection)

    pending = tables.unapplied_migrations(using)
    report.facts["unapplied_migrations"] = pending
    if pending:
        report.problems.append(
            f"{len(pending)} migrations not applied (e.g. {pending[0]}): run `python manage.py migrate`"
        )
    try:
        inventory = tables.inventory(using)
    except tables.SchemaError as exc:
        report.problems.append(str(exc))
    else:
        report.row_counts = tables.row_counts(inventory, using)
        undecryptable = tables.undecryptable_columns(using)
        if undecryptable:
            report.problems.append(
                "encrypted fields cannot be decrypted with FIELD_ENCRYPTION_KEY: " + ", ".join(undecryptable[:5])
            )

    directory = Path(backup_dir or conf.backup_dir())
    last = backup.last_backup(directory)
    max_age = datetime.timedelta(hours=conf.backup_max_age_hours())
    report.facts["backup_dir"] = str(directory)
    if last is None:
        report.facts["last_backup"] = None
        report.problems.append(f"no backup in {directory}: run `python manage.py backup`")
    else:
        hours = last.age.total_seconds() / 3600
        report.facts["last_backup"] = {
            "file": last.path.name,
            "created_at": last.created_at.isoformat(),
            "age_hours": round(hours, 1),
        }
        if last.age > max_age:
            report.problems.append(
                f"the last backup is {hours:.0f} hours old (BACKUP_MAX_AGE_HOURS={conf.backup_max_age_hours()})"
            )
    return report


def _version(connection: Any) -> str:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            return f"PostgreSQL {cursor.fetchone()[0]}"
    return f"SQLite {sqlite3.sqlite_version}"


def _name(connection: Any) -> str:
    name = str(connection.settings_dict.get("NAME") or "")
    if connection.vendor == "postgresql":
        host = connection.settings_dict.get("HOST") or "local socket"
        return f"{name} on {host}"
    return name


def _size(connection: Any) -> int | None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_database_size(current_database())")
            return int(cursor.fetchone()[0])
    name = str(connection.settings_dict.get("NAME") or "")
    path = Path(name)
    if not name or name == ":memory:" or not path.is_file():
        return None
    return sum(p.stat().st_size for p in (path, Path(f"{name}-wal"), Path(f"{name}-shm")) if p.is_file())
