"""Retention: the one way audit entries are ever deleted.

HIPAA asks for six years of documentation, so nothing younger can be purged. On PostgreSQL the
append-only trigger refuses to delete any younger entry whoever asks, and the deletion itself goes through
``audit_purge_entries(years)``, a SECURITY DEFINER function that refuses fewer than six (migration 0006):
the application's role needs no DELETE on the table.

The purge leaves holes in the hash chain (``audit.chain``); its own entry records them (the anchor), so
``verify_audit_trail`` still passes afterwards.
"""

from dataclasses import dataclass
from typing import Any

from dateutil.relativedelta import relativedelta
from django.db import connection, transaction
from django.utils import timezone

from audit import chain, events
from audit import services as audit
from audit.models import AuditEvent

MIN_RETENTION_YEARS = 6


class RetentionError(ValueError):
    pass


@dataclass(frozen=True)
class PurgeResult:
    cutoff: Any
    deleted: int
    entry: AuditEvent | None


@transaction.atomic
def purge_entries(*, older_than_years: int, dry_run: bool = False, run_by: str = "") -> PurgeResult:
    """Delete entries older than ``older_than_years`` (at least six) and record the purge as an entry.

    With ``dry_run`` nothing is deleted or recorded; the count says what would go.
    """
    if older_than_years < MIN_RETENTION_YEARS:
        raise RetentionError(
            f"Audit entries are kept at least {MIN_RETENTION_YEARS} years; refusing to purge entries younger "
            f"than that ({older_than_years} given)."
        )
    cutoff = timezone.now() - relativedelta(years=older_than_years)
    old = AuditEvent.objects.filter(timestamp__lt=cutoff)
    if dry_run:
        return PurgeResult(cutoff=cutoff, deleted=old.count(), entry=None)
    previous_anchor = chain.latest_anchor()
    removed = _delete(old, older_than_years)
    anchor = chain.anchor_after_purge(previous_anchor, removed)
    deleted = len(removed)
    entry = audit.record(
        event=events.PURGED,
        target_model=AuditEvent,
        action=AuditEvent.Action.DELETE,
        data={
            "older_than_years": older_than_years,
            "cutoff": cutoff.isoformat(),
            "deleted": deleted,
            "run_by": run_by,
            **anchor.as_data(),
        },
    )
    return PurgeResult(cutoff=cutoff, deleted=deleted, entry=entry)


def _delete(entries, older_than_years: int) -> list[tuple[int, str]]:
    """Delete ``entries`` (those older than ``older_than_years``); the chain numbers and hashes of what went."""
    if connection.vendor != "postgresql":
        removed = [(seq, digest) for seq, digest in entries.values_list("chain_seq", "chain_hash") if seq is not None]
        entries.delete()
        return removed
    with connection.cursor() as cursor:
        cursor.execute("SELECT seq, hash FROM audit_purge_entries(%s)", [older_than_years])
        return [(seq, digest) for seq, digest in cursor.fetchall() if seq is not None]
