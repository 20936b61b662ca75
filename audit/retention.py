"""Retention: the one way audit entries are ever deleted.

HIPAA asks for six years of documentation, so nothing younger can be purged. On PostgreSQL the
append-only trigger (migration 0003) refuses DELETE unless the transaction has set
``spectrum.audit_purge = 'on'`` (``SET LOCAL``: it ends with the transaction), which only this does.
"""

from dataclasses import dataclass
from typing import Any

from dateutil.relativedelta import relativedelta
from django.db import connection, transaction
from django.utils import timezone

from audit import events
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
    deleted = _delete(old)
    entry = audit.record(
        event=events.PURGED,
        target_model=AuditEvent,
        action=AuditEvent.Action.DELETE,
        data={
            "older_than_years": older_than_years,
            "cutoff": cutoff.isoformat(),
            "deleted": deleted,
            "run_by": run_by,
        },
    )
    return PurgeResult(cutoff=cutoff, deleted=deleted, entry=entry)


def _delete(entries) -> int:
    """Delete with the trigger's permission, for this statement only (it would last until COMMIT otherwise)."""
    if connection.vendor != "postgresql":
        return entries.delete()[0]
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL spectrum.audit_purge = 'on'")
        deleted = entries.delete()[0]
        cursor.execute("SET LOCAL spectrum.audit_purge = 'off'")
    return deleted
