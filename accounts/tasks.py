"""Account upkeep on the task queue (daily on beat; by hand: ``manage.py deactivate_inactive_users``)."""

import datetime
from typing import Any

from celery import Task, shared_task

from accounts import services
from operations.alerts import AlertingTask
from operations.queue import run_once_per_window


@shared_task(bind=True, base=AlertingTask, name="accounts.tasks.deactivate_inactive_users")
@run_once_per_window(datetime.timedelta(days=1))
def deactivate_inactive_users(self: Task) -> dict[str, Any]:
    """Deactivate accounts idle for ACCOUNT_INACTIVE_DAYS; the administrators get the list by email."""
    users = services.deactivate_inactive_users()
    return {"deactivated": len(users)}  # the names go to the administrators by email, not into task results
