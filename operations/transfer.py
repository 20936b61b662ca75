"""Moving an installation from SQLite to PostgreSQL: every table copied as it is, then proven identical.

The target must be an empty PostgreSQL database migrated by the same version of Spectrum (the command
says how). Rows are copied with their ids, encrypted columns as stored ciphertext (so the same
FIELD_ENCRYPTION_KEY reads them), in batches inside one transaction on the target, which also resets the
sequences and, before committing, compares every row of every table with the source (per-row checksums,
in key order). Anything wrong rolls the target back to empty.

Running it again is safe: a target that already holds exactly the source's data is reported as such
(verified, nothing written); a target holding anything else is refused unless ``force``, which replaces
its data (the audit table's purge guard is passed deliberately and the replacement is recorded).
"""

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import zip_longest
from pathlib import Path
from typing import Any

import dj_database_url
from django.contrib.contenttypes.models import ContentType
from django.db import connections, transaction
from django.db.models import Q
from django.db.utils import load_backend

from audit.models import AuditEvent
from operations import tables
from operations.models import DataOperation
from spectrum.exceptions import DomainError

SOURCE, TARGET = "migration_source", "migration_target"
DATABASE_MIGRATED = "operations.database.migrated"


class TransferError(DomainError):
    pass


@dataclass
class TransferResult:
    tables: dict[str, int] = field(default_factory=dict)  # rows per table in the source
    skipped: dict[str, str] = field(default_factory=dict)  # table -> why it was not copied
    state: str = ""  # "copied", "already-copied", "dry-run"
    replaced: dict[str, int] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return sum(self.tables.values())


@contextlib.contextmanager
def extra_database(alias: str, config: dict[str, Any]) -> Iterator[str]:
    """Make ``config`` usable as ``connections[alias]`` (ORM ``using=alias``) for the duration, in this thread.

    The connection is registered directly, not added to settings.DATABASES: nothing else (request cleanup,
    checks, the test runner's database isolation) should treat it as one of the application's databases.
    """
    settings_dict = connections.configure_settings({"default": connections.settings["default"], alias: config})[alias]
    connections[alias] = load_backend(settings_dict["ENGINE"]).DatabaseWrapper(settings_dict, alias)
    try:
        yield alias
    finally:
        with contextlib.suppress(Exception):
            connections[alias].close()
        with contextlib.suppress(AttributeError):
            del connections[alias]


def parse_urls(source_url: str, target_url: str) -> tuple[dict[str, Any], dict[str, Any]]:
    if not source_url.startswith("sqlite:///"):
        raise TransferError("--from must be an SQLite database URL: sqlite:///path/to/db.sqlite3")
    source = dj_database_url.parse(source_url)
    if not Path(source["NAME"]).is_file():
        raise TransferError(f"No SQLite database at {source['NAME']}.")
    if not target_url.startswith(("postgres://", "postgresql://", "pgsql://")):
        raise TransferError("--to must be a PostgreSQL database URL: postgres://user:password@host:5432/name")
    target = dj_database_url.parse(target_url)
    return source, target


def migrate_to_postgres(
    *,
    source_url: str,
    target_url: str,
    dry_run: bool = False,
    force: bool = False,
    run_by: str = "",
    say: Callable[[str], None] = lambda message: None,
) -> TransferResult:
    """Copy the SQLite database at ``source_url`` into the PostgreSQL database at ``target_url``."""
    source_config, target_config = parse_urls(source_url, target_url)
    with extra_database(SOURCE, source_config), extra_database(TARGET, target_config):
        _check_schemas(source_url, target_url)
        source_tables = tables.inventory(SOURCE)
        target_tables = {table.name: table for table in tables.inventory(TARGET)}
        result = TransferResult()
        plan = []
        with transaction.atomic(using=SOURCE):  # one consistent state of the source throughout
            counts = tables.row_counts(source_tables, SOURCE)
            for table in source_tables:
                if table.name not in target_tables:
                    if counts[table.name]:
                        raise TransferError(
                            f"The source's table {table.name} holds {counts[table.name]} rows and the target has no "
                            "such table."
                        )
                    result.skipped[table.name] = "empty, and not in the target"
                    continue
                if table.model is None and not counts[table.name]:
                    # e.g. auditlog_logentry: django-auditlog's own table, unused since audit.AuditEvent replaced it.
                    result.skipped[table.name] = "empty table without a model (unused)"
                    continue
                plan.append((table, target_tables[table.name]))
                result.tables[table.name] = counts[table.name]
            undecryptable = tables.undecryptable_columns(SOURCE)
            if undecryptable:
                raise TransferError(
                    "The source's encrypted fields cannot be decrypted with the FIELD_ENCRYPTION_KEY this command "
                    f"runs with ({', '.join(undecryptable[:3])}). Run it with the keys the SQLite installation uses "
                    "(its .dev-secrets.json or environment), and give the PostgreSQL installation the same keys."
                )
            existing = tables.clinic_data(list(target_tables.values()), TARGET)
            if existing:
                differing = _differences(plan)
                if not differing:
                    result.state = "already-copied"
                    return result
                if not force:
                    names = ", ".join(differing[:4]) + ("…" if len(differing) > 4 else "")
                    raise TransferError(
                        f"The target database already holds data that differs from the source ({names}). "
                        "Use --force to replace all of it with the source's data."
                    )
                result.replaced = existing
            if dry_run:
                result.state = "dry-run"
                return result
            with transaction.atomic(using=TARGET):
                tables.purge(list(target_tables.values()), TARGET)
                for source_table, target_table in plan:
                    total = counts[source_table.name]

                    def progress(done: int, name: str = source_table.name, total: int = total) -> None:
                        if done == total or done % (tables.BATCH_SIZE * 10) == 0:
                            say(f"  {name}: {done:,}/{total:,}")

                    tables.copy_table(target_table, _reordered(source_table, target_table), TARGET, progress=progress)
                tables.reset_sequences([target for _, target in plan], TARGET)
                tables.check_constraints([target for _, target in plan], TARGET)
                say("Verifying every row…")
                mismatches = _differences(plan, row_by_row=True)
                if mismatches:
                    raise TransferError(
                        "The copy differs from the source, nothing was committed: " + "; ".join(mismatches[:5])
                    )
                _record(result, force=force, run_by=run_by, source_url=source_url)
            result.state = "copied"
            return result


def _check_schemas(source_url: str, target_url: str) -> None:
    pending = tables.unapplied_migrations(SOURCE)
    if pending:
        raise TransferError(
            f"The SQLite database is not fully migrated ({len(pending)} pending, e.g. {pending[0]}). Migrate it "
            f"first with this version: DATABASE_URL={source_url} python manage.py migrate"
        )
    pending = tables.unapplied_migrations(TARGET)
    if pending:
        raise TransferError(
            f"The PostgreSQL database is not fully migrated ({len(pending)} pending, e.g. {pending[0]}). Create its "
            "tables first: DATABASE_URL=postgres://… python manage.py migrate"
        )
    only_source, only_target = tables.compare_migrations(tables.migration_state(SOURCE), tables.migration_state(TARGET))
    if only_source or only_target:
        raise TransferError(
            "The two databases have different migrations applied: " + ", ".join(only_source + only_target)[:300]
        )


def _reordered(source: tables.Table, target: tables.Table, exclude: Q | None = None) -> Iterator[list[Any]]:
    """The source's rows in the target's column order (tables without a model list columns per engine)."""
    if source.columns == target.columns:
        yield from tables.read_rows(source, SOURCE, exclude=exclude)
        return
    order = [source.columns.index(column) for column in target.columns]
    for row in tables.read_rows(source, SOURCE, exclude=exclude):
        yield [row[index] for index in order]


def _own_entries(table: tables.Table) -> Q | None:
    """The entries this command adds to the target's audit trail: not part of "the same data" when comparing."""
    if table.name == tables.AUDIT_CHAIN_HEAD_TABLE:
        return Q(pk__isnull=False)  # moved past this command's entry: compared through the entries instead
    return Q(event=DATABASE_MIGRATED) if table.name == tables.AUDIT_TABLE else None


def _differences(plan: list[tuple[tables.Table, tables.Table]], *, row_by_row: bool = False) -> list[str]:
    """Tables whose rows differ between source and target; with ``row_by_row`` the first differing keys."""
    problems = []
    for source_table, target_table in plan:
        ignored = _own_entries(target_table)
        source_rows = _reordered(source_table, target_table, ignored)
        target_rows = tables.read_rows(target_table, TARGET, exclude=ignored)
        if not row_by_row:
            source, target = tables.TableDigest(), tables.TableDigest()
            for row in source_rows:
                source.add(tables.canonical(row))
            for row in target_rows:
                target.add(tables.canonical(row))
            if source.summary() != target.summary():
                problems.append(source_table.name)
            continue
        differing = []
        for ours, theirs in zip_longest(source_rows, target_rows):
            if ours is None or theirs is None or tables.canonical(ours) != tables.canonical(theirs):
                differing.append(str((ours or theirs)[_key_index(target_table)]))  # the key, never the content
                if len(differing) >= 3:
                    break
        if differing:
            problems.append(f"{source_table.name} (rows with key {', '.join(differing)})")
    return problems


def _key_index(table: tables.Table) -> int:
    return table.columns.index(table.model._meta.pk.column) if table.model is not None else 0


def _record(result: TransferResult, *, force: bool, run_by: str, source_url: str) -> None:
    """The audit entry, in the target's own trail (audit.services.record writes to the default database)."""
    ContentType.objects.clear_cache()  # the target's content types are the source's, with the source's ids
    AuditEvent(
        event=DATABASE_MIGRATED,
        action=AuditEvent.Action.ACCESS,
        content_type=ContentType.objects.db_manager(TARGET).get_for_model(DataOperation),
        object_pk="",
        object_repr="",
        additional_data={
            "from": f"sqlite:///…/{Path(dj_database_url.parse(source_url)['NAME']).name}",
            "tables": len(result.tables),
            "rows": result.rows,
            "forced": force,
            "replaced_rows": sum(result.replaced.values()),
            "run_by": run_by,
        },
    ).save(using=TARGET)
