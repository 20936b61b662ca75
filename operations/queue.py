"""The task queue's own machinery: the base task, the once-per-window guard, outcome counts, failure records,
the beat heartbeat and what the broker holds (for ``/health/`` and ``/metrics``).

- ``SpectrumTask`` (``@shared_task(base=SpectrumTask)``): acknowledged late, retried with exponential backoff
  on transient errors (database, broker, SMTP, network) up to ``TASK_MAX_RETRIES`` times, then failed.
- ``run_once_per_window(window)``: a scheduled job runs once per window of time whatever the number of beats
  that tick and workers that take the message (see ``claim_window``).
- Signal receivers (connected by ``operations.apps``): every message is stamped with the time it was sent, so
  the age of the oldest waiting one can be read from the broker; successes, failures and retries are counted
  per task in ``TaskCount``; a final failure leaves a ``TaskFailure`` row (admin, ``/metrics``).
"""

import datetime
import functools
import json
import logging
import os
import smtplib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis
from celery import Task
from celery.exceptions import Retry
from django.conf import settings
from django.db import DatabaseError, IntegrityError, InterfaceError, OperationalError, transaction
from django.db.models import F, Q
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from operations.models import Heartbeat, ScheduledRun, TaskCount, TaskFailure
from spectrum.exceptions import DomainError

logger = logging.getLogger(__name__)

SENT_AT_HEADER = "spectrum_sent_at"
BEAT = "beat"

# Worth trying again later: the database, the broker, the mail server or the network was unreachable.
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (
    OperationalError,
    InterfaceError,
    BrokerError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    smtplib.SMTPException,
    ConnectionError,
    TimeoutError,
)


class SpectrumTask(Task):
    """Spectrum's tasks: idempotent, so acknowledged late; transient errors retried with backoff, bounded."""

    acks_late = True
    reject_on_worker_lost = True
    autoretry_for = TRANSIENT_ERRORS
    retry_backoff = True
    retry_jitter = True
    max_retries = settings.TASK_MAX_RETRIES
    retry_backoff_max = settings.TASK_RETRY_BACKOFF_MAX


# --- Run once per window ---------------------------------------------------------------------------------


def window_start(moment: datetime.datetime, window: datetime.timedelta) -> datetime.datetime:
    """The start of the window holding ``moment``: the clinic's midnight for daily (or longer) windows, so that
    a nightly job's window is the clinic's night; otherwise ``moment`` rounded down to a multiple of ``window``
    since the Unix epoch (UTC)."""
    if window >= datetime.timedelta(days=1):
        local = timezone.localtime(moment)
        days = window.days
        day = local.date() - datetime.timedelta(days=local.date().toordinal() % days)
        return timezone.make_aware(datetime.datetime.combine(day, datetime.time()))
    seconds = window.total_seconds()
    stamp = moment.timestamp()
    return datetime.datetime.fromtimestamp(stamp - stamp % seconds, tz=datetime.UTC)


def claim_window(
    *, job: str, window: datetime.timedelta, claimant: str, lease: datetime.timedelta
) -> ScheduledRun | None:
    """Claim ``job``'s current window for ``claimant``; ``None`` when it is someone else's or already done.

    The first claimant inserts the unique (job, window) row; a concurrent one waits on the unique index and
    then finds it. The claim may be taken up again by the same claimant (a retry or a redelivery of the same
    message keeps its task id) or, after ``lease`` without finishing (its worker died), by another one.
    """
    now = timezone.now()
    start = window_start(now, window)
    try:
        with transaction.atomic():
            return ScheduledRun.objects.create(job=job, window_start_at=start, claimant=claimant, claimed_at=now)
    except IntegrityError:
        pass
    taken = (
        ScheduledRun.objects.filter(job=job, window_start_at=start)
        .exclude(status=ScheduledRun.Status.DONE)
        .filter(Q(claimant=claimant) | Q(claimed_at__lt=now - lease))
        .update(
            claimant=claimant, claimed_at=now, status=ScheduledRun.Status.RUNNING, attempts=F("attempts") + 1, error=""
        )
    )
    return ScheduledRun.objects.get(job=job, window_start_at=start) if taken else None


def finish_window(run: ScheduledRun, *, error: BaseException | None = None) -> None:
    """Mark the claim done, or failed with the error's class and message (its retry may take it up again)."""
    run.status = ScheduledRun.Status.FAILED if error else ScheduledRun.Status.DONE
    run.error = describe(error) if error else ""
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "error", "finished_at"])


SKIPPED = "skipped: this window's run is claimed or done"


def run_once_per_window(
    window: datetime.timedelta, *, lease: datetime.timedelta = datetime.timedelta(hours=8)
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate a bound task (``bind=True``) so that it does its work at most once per ``window``.

    Two beats ticking, a duplicated message or a second worker: whoever claims the window first runs, the others
    return ``SKIPPED``. A retry of the same task (same id) continues its own claim. Run by hand (called directly,
    outside a worker) each call claims the window under its own id, so it is skipped if beat's run is done.
    """

    def decorate(work: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(work)
        def wrapper(task: Task, *args: Any, **kwargs: Any) -> Any:
            claimant = task.request.id or f"by-hand-{uuid.uuid4()}"
            run = claim_window(job=task.name, window=window, claimant=claimant, lease=lease)
            if run is None:
                logger.info("Task %s: %s", task.name, SKIPPED)
                return SKIPPED
            try:
                result = work(task, *args, **kwargs)
            except Retry:
                raise
            except Exception as exc:
                finish_window(run, error=exc)
                raise
            finish_window(run)
            return result

        return wrapper

    return decorate


# --- Outcomes, failures, message stamps (Celery signal receivers) ----------------------------------------


def describe(error: BaseException) -> str:
    """What is kept of a task's error (``TaskFailure``, alerts, our log lines): ``ClassName: message`` for
    ``DomainError``s, whose messages are written to be shown (no PHI); the class name alone for anything else,
    whose message a library wrote and may carry PHI (an SMTP refusal names the recipients' addresses)."""
    if isinstance(error, DomainError):
        return f"{type(error).__name__}: {error.message}"[:500]
    return type(error).__name__


def count(task_name: str, outcome: str) -> None:
    """Add one to ``task_name``'s ``outcome`` count (shared by every worker through the database)."""
    try:
        with transaction.atomic():
            updated = TaskCount.objects.filter(task_name=task_name, outcome=outcome).update(count=F("count") + 1)
            if not updated:
                try:
                    with transaction.atomic():
                        TaskCount.objects.create(task_name=task_name, outcome=outcome, count=1)
                except IntegrityError:  # another worker created it meanwhile
                    TaskCount.objects.filter(task_name=task_name, outcome=outcome).update(count=F("count") + 1)
    except DatabaseError:
        logger.warning("Could not count a %s of task %s: database unreachable", outcome, task_name)


def stamp_sent_at(headers: dict[str, Any] | None = None, **kwargs: Any) -> None:
    """``before_task_publish``: the send time goes with the message, for the oldest waiting task's age."""
    if headers is not None:
        headers[SENT_AT_HEADER] = time.time()


def on_success(sender: Task | None = None, **kwargs: Any) -> None:
    if sender is not None:
        count(sender.name, TaskCount.Outcome.SUCCESS)


def on_retry(sender: Task | None = None, **kwargs: Any) -> None:
    if sender is not None:
        count(sender.name, TaskCount.Outcome.RETRY)


def on_failure(
    sender: Task | None = None, task_id: str | None = None, exception: BaseException | None = None, **kwargs: Any
) -> None:
    """A final failure: counted, kept as a ``TaskFailure`` row, and logged (class and message only)."""
    if sender is None:
        return
    count(sender.name, TaskCount.Outcome.FAILURE)
    error = describe(exception) if exception else "unknown error"
    logger.error("Task %s (%s) failed: %s", sender.name, task_id, error)
    try:
        TaskFailure.objects.create(
            task_name=sender.name,
            task_id=task_id or "",
            failed_at=timezone.now(),
            retries=sender.request.retries or 0,
            error=error,
        )
    except DatabaseError:
        logger.warning("Could not record the failure of task %s: database unreachable", sender.name)


def connect_signals() -> None:
    from celery import signals

    signals.before_task_publish.connect(stamp_sent_at, dispatch_uid="operations.queue.stamp_sent_at")
    signals.task_success.connect(on_success, dispatch_uid="operations.queue.on_success")
    signals.task_retry.connect(on_retry, dispatch_uid="operations.queue.on_retry")
    signals.task_failure.connect(on_failure, dispatch_uid="operations.queue.on_failure")


# --- Beat heartbeat ----------------------------------------------------------------------------------------


def record_heartbeat(name: str = BEAT) -> None:
    """Note that ``name`` is alive now."""
    Heartbeat.objects.update_or_create(name=name, defaults={"seen_at": timezone.now()})


def seconds_since_heartbeat(name: str = BEAT) -> float | None:
    """Seconds since ``name`` last showed it was alive; ``None`` if it never did."""
    seen_at = Heartbeat.objects.filter(name=name).values_list("seen_at", flat=True).first()
    return None if seen_at is None else max(0.0, (timezone.now() - seen_at).total_seconds())


# --- What the broker holds ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BrokerStatus:
    reachable: bool
    waiting: int | None = None  # messages in the default queue (None: unknown)
    oldest_waiting_seconds: float | None = None  # None: nothing waiting, or unknown


def _age(raw: bytes | str | None, now: float) -> float | None:
    if raw is None:
        return None
    try:
        sent_at = json.loads(raw).get("headers", {}).get(SENT_AT_HEADER)
    except (ValueError, AttributeError):
        return None
    return max(0.0, now - float(sent_at)) if sent_at is not None else None


def broker_status() -> BrokerStatus:
    """Whether the broker answers, how many tasks wait in the default queue, and how long the oldest has waited.

    Fast when the broker is down (connection timeouts of a second or two); reads only message headers.
    """
    from spectrum.celery import app

    url: str = app.conf.broker_url or ""
    queue: str = app.conf.task_default_queue
    now = time.time()
    if url.startswith(("redis://", "rediss://", "unix://")):
        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
        try:
            client.ping()
            waiting = int(client.llen(queue))
            # kombu pushes on the left and pops on the right: the oldest message is the last element.
            oldest = client.lindex(queue, -1)
        except redis.exceptions.RedisError:
            return BrokerStatus(reachable=False)
        finally:
            client.close()
        return BrokerStatus(reachable=True, waiting=waiting, oldest_waiting_seconds=_age(oldest, now))
    if url.startswith("filesystem://"):
        folder = Path(app.conf.broker_transport_options.get("data_folder_in", ""))
        if not (folder.is_dir() and os.access(folder, os.W_OK)):
            return BrokerStatus(reachable=False)
        files = sorted(folder.glob(f"*.{queue}.msg"), key=lambda path: path.stat().st_mtime)
        oldest_age = None
        if files:
            try:
                oldest_age = _age(files[0].read_bytes(), now)
            except OSError:  # taken by a worker meanwhile
                oldest_age = None
        return BrokerStatus(reachable=True, waiting=len(files), oldest_waiting_seconds=oldest_age)
    try:
        with app.connection_for_read() as connection:
            connection.ensure_connection(max_retries=1, timeout=2)
    except Exception:  # noqa: BLE001  (any failure to connect means unreachable)
        return BrokerStatus(reachable=False)
    return BrokerStatus(reachable=True)


@dataclass(frozen=True)
class QueueHealth:
    broker: BrokerStatus
    beat_seconds: float | None  # since beat's last heartbeat (None: never, or unknown)

    @property
    def problems(self) -> list[str]:
        found = []
        if not self.broker.reachable:
            found.append("broker")
        if self.beat_seconds is None or self.beat_seconds > settings.QUEUE_BEAT_STALE_SECONDS:
            found.append("beat")
        if (self.broker.oldest_waiting_seconds or 0) > settings.QUEUE_MAX_WAIT_SECONDS:
            found.append("workers")
        return found


def queue_health() -> QueueHealth:
    """The broker's state and beat's last heartbeat, for ``/health/`` (the database may be down: then unknown)."""
    try:
        beat = seconds_since_heartbeat()
    except DatabaseError:
        beat = None
    return QueueHealth(broker=broker_status(), beat_seconds=beat)
