"""Email to the administrators when scheduled work fails (backups, their verification, the audit purge)."""

import logging
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import timezone

from operations.queue import SpectrumTask, describe

logger = logging.getLogger(__name__)


def administrator_addresses() -> list[str]:
    """Email addresses of the active administrators."""
    from accounts.models import Role, User

    return list(
        User.objects.filter(role=Role.ADMIN, is_active=True)
        .exclude(email="")
        .order_by("email")
        .values_list("email", flat=True)
    )


def email_administrators_about_failure(*, task_name: str, task_id: str, error: BaseException, retries: int) -> bool:
    """Tell the administrators that ``task_name`` gave up; ``False`` if there was nobody to tell or SMTP failed.

    The message names the job, the time and the error (identifiers only: tasks raise no PHI) and where to look.
    """
    recipients = administrator_addresses()
    if not recipients:
        logger.error("Task %s failed and there is no active administrator with an email address to tell", task_name)
        return False
    context = {
        "clinic": settings.CLINIC_NAME,
        "task_name": task_name,
        "task_id": task_id,
        "error": describe(error),
        "retries": retries,
        "failed_at": timezone.localtime(),
    }
    subject = f"{settings.CLINIC_NAME}: scheduled job {task_name} failed"
    try:
        send_mail(subject, render_to_string("emails/task_failed.txt", context), settings.DEFAULT_FROM_EMAIL, recipients)
    except (OSError, ConnectionError) as exc:  # smtplib's errors are OSErrors
        logger.error("Could not email the administrators about task %s: %s", task_name, type(exc).__name__)
        return False
    return True


class AlertingTask(SpectrumTask):
    """A ``SpectrumTask`` whose final failure (retries spent, or an error not worth retrying) is emailed to the
    administrators, besides the ``TaskFailure`` row every task leaves."""

    def on_failure(self, exc: Exception, task_id: str, args: Any, kwargs: Any, einfo: Any) -> None:
        email_administrators_about_failure(
            task_name=self.name, task_id=task_id, error=exc, retries=self.request.retries or 0
        )
