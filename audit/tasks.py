"""The audit trail's retention purge on the task queue (nightly; by hand: ``manage.py purge_audit``)."""

import datetime
from typing import Any

from celery import Task, shared_task

from audit.retention import MIN_RETENTION_YEARS, purge_entries
from operations.alerts import AlertingTask
from operations.queue import run_once_per_window


@shared_task(bind=True, base=AlertingTask, name="audit.tasks.purge_audit_entries")
@run_once_per_window(datetime.timedelta(days=1))
def purge_audit_entries(self: Task, older_than_years: int = MIN_RETENTION_YEARS) -> dict[str, Any]:
    """Delete audit entries past retention (the purge records itself in the trail); failures reach the admins."""
    result = purge_entries(older_than_years=older_than_years, run_by="celery")
    return {"deleted": result.deleted}
