"""Tables as data: read and write every table's rows the same way on SQLite and PostgreSQL.

Backups (Django method), restores and ``migrate_to_postgres`` move rows with this module. Values go
through Django's field conversions (a date is a date on both engines), except encrypted columns: they are
carried exactly as stored, as Fernet ciphertext, and never decrypted. Rows bypass ``save()`` and signals:
these are bulk copies of whole databases, recorded by one audit entry each, not changes of records.

Each row has a canonical JSON text; its SHA-256 is the row's checksum, and a table's checksum is the
SHA-256 of its rows' checksums in primary-key order (byte order for text keys). "Identical data" means
identical checksums, whichever engine holds it.
"""

import base64
import datetime
import decimal
import hashlib
import json
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.management.color import no_style
from django.db import connections, models
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.recorder import MigrationRecorder
from django.db.models.functions import Cast, Collate
from django.utils.duration import duration_iso_string
from encrypted_model_fields.fields import EncryptedMixin

BATCH_SIZE = 1000
# The schema's own bookkeeping: compared (migration state), never copied.
SCHEMA_TABLES = frozenset({"django_migrations", "sqlite_sequence"})
AUDIT_TABLE = "audit_auditevent"
# The audit trail's hash-chain head: moves with every entry, so with the entries an operation writes itself.
AUDIT_CHAIN_HEAD_TABLE = "audit_auditchainhead"


def seeded_tables() -> frozenset[str]:
    """Tables that migrations fill: a freshly migrated database has rows here and still counts as empty."""
    from documents.models import DocumentCategory
    from scheduling.models import ServiceType

    group_permissions = Group.permissions.through._meta.db_table
    # The migration that chains the audit trail writes the chain's head (at 0 on an empty trail).
    seeded = (ContentType, Permission, Group, ServiceType, DocumentCategory)
    return frozenset(model._meta.db_table for model in seeded) | {
        group_permissions,
        AUDIT_CHAIN_HEAD_TABLE,
    }


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[str, ...]
    # None: a table without a model (e.g. django-auditlog's unused ``auditlog_logentry``), copied as raw values.
    model: type[models.Model] | None = None

    @property
    def label(self) -> str:
        return self.model._meta.label_lower if self.model is not None else ""


def model_tables() -> list[Table]:
    """Every table the installed models own (many-to-many tables included), by name."""
    tables: dict[str, Table] = {}
    for model in apps.get_models(include_auto_created=True):
        opts = model._meta
        if not opts.managed or opts.proxy or opts.swapped or opts.db_table in tables:
            continue
        tables[opts.db_table] = Table(opts.db_table, tuple(f.column for f in opts.local_concrete_fields), model)
    return [tables[name] for name in sorted(tables)]


def inventory(using: str = "default") -> list[Table]:
    """The tables of database ``using`` that hold data: the models' plus any others (without a model)."""
    connection = connections[using]
    known = model_tables()
    names = {table.name for table in known}
    with connection.cursor() as cursor:
        existing = set(connection.introspection.table_names(cursor))
        missing = sorted(names - existing)
        if missing:
            raise SchemaError(
                f"The database lacks tables the code expects ({', '.join(missing[:5])}"
                f"{'…' if len(missing) > 5 else ''}): run `python manage.py migrate` on it first."
            )
        others = []
        for name in sorted(existing - names - SCHEMA_TABLES):
            columns = [column.name for column in connection.introspection.get_table_description(cursor, name)]
            others.append(Table(name, tuple(columns)))
    return sorted([*known, *others], key=lambda table: table.name)


class SchemaError(Exception):
    pass


# --- Values ---------------------------------------------------------------------------------------


def encode(value: Any) -> Any:
    """A column value as JSON: ISO text for dates and times, strings for decimals and UUIDs, base64 for bytes."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return duration_iso_string(value)
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, list | tuple):
        return [encode(item) for item in value]
    if isinstance(value, dict):
        return {str(key): encode(item) for key, item in value.items()}
    raise TypeError(f"Cannot back up a value of type {type(value).__name__}.")


def canonical(row: list[Any]) -> str:
    """The row's canonical JSON text (one line): its checksum is the SHA-256 of this."""
    return json.dumps(row, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


class TableDigest:
    """Row count and checksum of a table, fed its rows' canonical texts in key order."""

    def __init__(self) -> None:
        self.rows = 0
        self._hash = hashlib.sha256()

    def add(self, line: str) -> None:
        self.rows += 1
        self._hash.update(hashlib.sha256(line.encode()).digest())

    def summary(self) -> dict[str, Any]:
        return {"rows": self.rows, "checksum": self._hash.hexdigest()}


def _is_text_key(model: type[models.Model]) -> bool:
    return isinstance(model._meta.pk, models.CharField | models.TextField)


def read_rows(table: Table, using: str = "default", *, exclude: models.Q | None = None) -> Iterator[list[Any]]:
    """The table's rows, encoded (see ``encode``), in primary-key order; encrypted columns as stored.

    ``exclude`` leaves out matching rows (model tables only).
    """
    connection = connections[using]
    if table.model is None:
        yield from _read_raw(table, using)
        return
    fields = table.model._meta.local_concrete_fields
    columns = [Cast(f.attname, models.TextField()) if isinstance(f, EncryptedMixin) else f.attname for f in fields]
    # Byte order for text keys on both engines (SQLite's BINARY is PostgreSQL's "C"), so that two copies of a
    # table can be compared row by row in step.
    key = Collate("pk", "C") if connection.vendor == "postgresql" and _is_text_key(table.model) else "pk"
    rows = table.model._base_manager.using(using).order_by(key)
    if exclude is not None:
        rows = rows.exclude(exclude)
    rows = rows.values_list(*columns)
    for row in rows.iterator(chunk_size=2000):
        yield [encode(value) for value in row]


def _read_raw(table: Table, using: str) -> Iterator[list[Any]]:
    connection = connections[using]
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(map(quote, table.columns))} FROM {quote(table.name)} ORDER BY 1")
        while batch := cursor.fetchmany(2000):
            for row in batch:
                yield [encode(value) for value in row]


def table_summary(table: Table, using: str = "default") -> dict[str, Any]:
    digest = TableDigest()
    for row in read_rows(table, using):
        digest.add(canonical(row))
    return digest.summary()


def summaries(tables: Iterable[Table], using: str = "default") -> dict[str, dict[str, Any]]:
    return {table.name: table_summary(table, using) for table in tables}


def row_counts(tables: Iterable[Table], using: str = "default") -> dict[str, int]:
    connection = connections[using]
    quote = connection.ops.quote_name
    counts = {}
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"SELECT COUNT(*) FROM {quote(table.name)}")
            counts[table.name] = cursor.fetchone()[0]
    return counts


def clinic_data(tables: Iterable[Table], using: str = "default") -> dict[str, int]:
    """Tables holding rows that migrations did not put there: non-empty means "this database is in use"."""
    seeded = seeded_tables()
    counts = row_counts([table for table in tables if table.name not in seeded], using)
    return {name: count for name, count in counts.items() if count}


# --- Writing --------------------------------------------------------------------------------------


def _decoder(field: models.Field, connection: Any) -> Callable[[Any], Any]:
    if isinstance(field, EncryptedMixin):
        return lambda value: value  # the ciphertext, as it was stored
    return lambda value: None if value is None else field.get_db_prep_save(field.to_python(value), connection)


def insert_rows(table: Table, rows: list[list[Any]], using: str = "default") -> None:
    """Insert encoded rows (from ``read_rows``) as they are: same primary keys, no signals."""
    if not rows:
        return
    connection = connections[using]
    quote = connection.ops.quote_name
    if table.model is not None:
        decoders = [_decoder(field, connection) for field in table.model._meta.local_concrete_fields]
        params = [[decode(value) for decode, value in zip(decoders, row, strict=True)] for row in rows]
    else:
        params = rows
    placeholders = ", ".join(["%s"] * len(table.columns))
    sql = f"INSERT INTO {quote(table.name)} ({', '.join(map(quote, table.columns))}) VALUES ({placeholders})"
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def purge(tables: Iterable[Table], using: str = "default") -> None:
    """Delete every row of ``tables``, inside the caller's transaction.

    Callers record what they replaced in the audit trail. On PostgreSQL see ``emptying_statements``.
    """
    connection = connections[using]
    if not connection.in_atomic_block:
        raise RuntimeError("purge() must run inside transaction.atomic().")
    with connection.cursor() as cursor:
        for statement in emptying_statements(tables, connection.vendor, connection.ops.quote_name):
            cursor.execute(statement)


def emptying_statements(tables: Iterable[Table], vendor: str, quote: Any) -> list[str]:
    """The statements that empty ``tables`` in one transaction.

    On PostgreSQL the audit table's append-only trigger (audit migration 0006) refuses DELETE of recent
    entries, so the audit table is emptied with TRUNCATE (no row trigger fires; it needs the table owner's
    rights, as a restore does anyway), first: TRUNCATE refuses a table with foreign-key checks still
    pending in the transaction, so those are run at once before it and deferred again after it.
    """
    names = [table.name for table in tables]
    if vendor != "postgresql" or AUDIT_TABLE not in names:
        return [f"DELETE FROM {quote(name)}" for name in names]
    return [
        "SET CONSTRAINTS ALL IMMEDIATE",
        f"TRUNCATE {quote(AUDIT_TABLE)}",
        "SET CONSTRAINTS ALL DEFERRED",
        *(f"DELETE FROM {quote(name)}" for name in names if name != AUDIT_TABLE),
    ]


def reset_sequences(tables: Iterable[Table], using: str = "default") -> None:
    """Make the next generated ids follow the copied ones (PostgreSQL; SQLite follows by itself)."""
    connection = connections[using]
    models_ = [table.model for table in tables if table.model is not None]
    statements = connection.ops.sequence_reset_sql(no_style(), models_)
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def check_constraints(tables: Iterable[Table], using: str = "default") -> None:
    """Check the deferred foreign keys now, so a broken copy fails inside its transaction with a clear error."""
    connections[using].check_constraints(table_names=[table.name for table in tables])


def copy_table(
    table: Table,
    rows: Iterable[list[Any]],
    using: str,
    *,
    progress: Callable[[int], None] | None = None,
) -> TableDigest:
    """Insert ``rows`` in batches, returning their count and checksum."""
    digest = TableDigest()
    batch: list[list[Any]] = []
    for row in rows:
        digest.add(canonical(row))
        batch.append(row)
        if len(batch) >= BATCH_SIZE:
            insert_rows(table, batch, using)
            batch = []
            if progress:
                progress(digest.rows)
    insert_rows(table, batch, using)
    if progress:
        progress(digest.rows)
    return digest


# --- Schema state ---------------------------------------------------------------------------------


def migration_state(using: str = "default") -> dict[str, list[str]]:
    """Applied migrations per app (of the installed apps), as recorded in the database."""
    connection = connections[using]
    loader_apps = MigrationExecutor(connection).loader.migrated_apps
    applied = MigrationRecorder(connection).applied_migrations()
    state: dict[str, list[str]] = {}
    for app_label, name in sorted(applied):
        if app_label in loader_apps:
            state.setdefault(app_label, []).append(name)
    return state


def unapplied_migrations(using: str = "default") -> list[str]:
    """Migrations the code has and the database has not applied ("app.name")."""
    executor = MigrationExecutor(connections[using])
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{migration.app_label}.{migration.name}" for migration, backwards in plan if not backwards]


def compare_migrations(ours: dict[str, list[str]], theirs: dict[str, list[str]]) -> tuple[list[str], list[str]]:
    """(only in ``ours``, only in ``theirs``) as "app.name" lists."""
    mine = {f"{app}.{name}" for app, names in ours.items() for name in names}
    other = {f"{app}.{name}" for app, names in theirs.items() for name in names}
    return sorted(mine - other), sorted(other - mine)


# --- Encryption key check -------------------------------------------------------------------------


def undecryptable_columns(using: str = "default", *, sample: int = 1) -> list[str]:
    """Encrypted columns whose stored values this process's FIELD_ENCRYPTION_KEY cannot decrypt.

    Looks at the first ``sample`` non-empty values of each encrypted column. Never returns values.
    """
    from cryptography.fernet import InvalidToken
    from encrypted_model_fields.fields import decrypt_str

    failing = []
    for table in model_tables():
        for field in table.model._meta.local_concrete_fields:
            if not isinstance(field, EncryptedMixin):
                continue
            raw = (
                table.model._base_manager.using(using)
                .exclude(**{f"{field.attname}__isnull": True})
                .order_by("pk")
                .values_list(Cast(field.attname, models.TextField()), flat=True)[:sample]
            )
            for value in raw:
                try:
                    decrypt_str(value)
                except (InvalidToken, ValueError, TypeError):
                    failing.append(f"{table.name}.{field.column}")
                    break
    return failing
