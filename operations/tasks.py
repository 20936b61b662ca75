"""Scheduled data operations on the task queue: the nightly encrypted backup and its verification.

Also runnable by hand as ever: ``manage.py backup`` then ``manage.py verify_backup``.
"""

import datetime
from typing import Any

from celery import Task, shared_task

from operations import backup, verify
from operations.alerts import AlertingTask
from operations.queue import run_once_per_window
from spectrum.exceptions import DomainError

RUN_BY = "celery"


class BackupVerificationFailed(DomainError):
    pass


@shared_task(bind=True, base=AlertingTask, name="operations.tasks.backup_and_verify")
@run_once_per_window(datetime.timedelta(days=1))
def backup_and_verify(self: Task) -> dict[str, Any]:
    """Write an encrypted backup, then prove it restores; a failure of either is emailed to the administrators."""
    result = backup.create_backup(run_by=RUN_BY)
    verified = verify.verify_backup(path=result.path, run_by=RUN_BY)
    if not verified.ok:
        raise BackupVerificationFailed(f"{result.path.name} failed verification: " + "; ".join(verified.problems))
    return {"backup": result.path.name, "verified": True, "pruned": len(result.pruned)}
