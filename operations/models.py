from django.db import models


class DataOperation(models.Model):
    """No table: the holder of the data-operation permissions, which the role matrix grants (admin only).

    ``operations.export_data``: download or export patients, appointments and authorizations.
    ``operations.view_metrics``: read ``/metrics`` with a session (scrapers use ``METRICS_TOKEN``).
    """

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("export_data", "Can export patients, appointments and authorizations"),
            ("view_metrics", "Can read the Prometheus metrics"),
        ]

    def __str__(self) -> str:
        return "data operation"


class ScheduledRun(models.Model):
    """One scheduled job's claim on one window (``operations.queue.run_once_per_window``).

    The unique (job, window) row is what makes a job run once per window, however many beats tick or workers
    take the message: the first to insert it runs the job, the others find it and skip.
    """

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    job = models.CharField(max_length=200)
    window_start_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    # The Celery task id holding the claim: its own retries (same id) may take it up again.
    claimant = models.CharField(max_length=255)
    claimed_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=1)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "window_start_at"], name="scheduled_run_once_per_window")]
        ordering = ["-window_start_at", "job"]

    def __str__(self) -> str:
        return f"{self.job} @ {self.window_start_at:%Y-%m-%d %H:%M} ({self.status})"


class TaskFailure(models.Model):
    """A task that gave up (its retries spent, or an error not worth retrying): the visible failed state.

    ``error`` holds the exception's class, and the message only for ``DomainError``s (``operations.queue.describe``).
    """

    task_name = models.CharField(max_length=200, db_index=True)
    task_id = models.CharField(max_length=255)
    failed_at = models.DateTimeField(db_index=True)
    retries = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=1000)

    class Meta:
        ordering = ["-failed_at"]

    def __str__(self) -> str:
        return f"{self.task_name} failed at {self.failed_at:%Y-%m-%d %H:%M}"


class TaskCount(models.Model):
    """Outcomes per task (success, failure, retry), counted in the database so that every worker on every
    machine adds to the same numbers, which ``/metrics`` exports."""

    class Outcome(models.TextChoices):
        SUCCESS = "success", "Success"
        FAILURE = "failure", "Failure"
        RETRY = "retry", "Retry"

    task_name = models.CharField(max_length=200)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    count = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["task_name", "outcome"], name="task_count_per_outcome")]

    def __str__(self) -> str:
        return f"{self.task_name} {self.outcome}: {self.count}"


class Heartbeat(models.Model):
    """When a long-running part last showed it was alive (``beat``: the Celery beat scheduler)."""

    name = models.CharField(max_length=50, unique=True)
    seen_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} seen at {self.seen_at:%Y-%m-%d %H:%M:%S}"
