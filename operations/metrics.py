"""Prometheus metrics for ``GET /metrics``.

- Requests per view, latencies, response codes: django-prometheus's middleware (settings.MIDDLEWARE).
- Database queries: every connection counts its statements and their durations into django-prometheus's
  ``django_db_execute_total`` / ``django_db_query_duration_seconds`` / ``django_db_errors_total`` through a
  Django execute wrapper (no database backend swap needed).
- Ours, computed at each scrape: unexpired sessions, current lockouts, the last backup's age; the task queue
  (broker up, tasks waiting, the oldest one's wait, seconds since beat last ran) and task outcomes per task
  (successes, failures, retries: counted in the database by every worker, operations.queue).

Several gunicorn workers: set ``PROMETHEUS_MULTIPROC_DIR`` (gunicorn.conf.py does) so that the counters of
all workers are added up; the view reads them through prometheus_client's multiprocess collector.
"""

import datetime
import math
import os
from collections.abc import Iterator
from typing import Any

import prometheus_client
from django.conf import settings
from django.db.backends.signals import connection_created
from django.db.models import Sum
from django.utils import timezone
from django_prometheus.db.metrics import errors_total, execute_total, query_duration_seconds
from prometheus_client import multiprocess
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector


def _count_query(execute: Any, sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
    connection = context["connection"]
    labels = (connection.alias, connection.vendor)
    execute_total.labels(*labels).inc(len(params) if many and hasattr(params, "__len__") else 1)
    with query_duration_seconds.labels(*labels).time():
        try:
            return execute(sql, params, many, context)
        except Exception as exc:
            errors_total.labels(*labels, type(exc).__name__).inc()
            raise


def _instrument(sender: Any, connection: Any, **kwargs: Any) -> None:
    if _count_query not in connection.execute_wrappers:
        connection.execute_wrappers.append(_count_query)


def count_database_queries() -> None:
    connection_created.connect(_instrument, dispatch_uid="operations.metrics.count_database_queries")


class SpectrumCollector(Collector):
    """Gauges read from the database and BACKUP_DIR when scraped (cheap: two counts and a directory listing)."""

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        from axes.models import AccessAttempt
        from django.contrib.sessions.models import Session

        from operations import backup

        now = timezone.now()
        yield GaugeMetricFamily(
            "spectrum_active_sessions",
            "Unexpired sign-in sessions (browsers; API tokens are not sessions).",
            value=Session.objects.filter(expire_date__gt=now).count(),
        )
        recent = AccessAttempt.objects.filter(attempt_time__gte=now - settings.AXES_COOLOFF_TIME)
        accounts = recent.filter(failures_since_start__gte=settings.AXES_FAILURE_LIMIT).count()
        addresses = (
            recent.values("ip_address")
            .annotate(failures=Sum("failures_since_start"))
            .filter(failures__gte=settings.LOCKOUT_ADDRESS_FAILURE_LIMIT)
            .count()
        )
        lockouts = GaugeMetricFamily(
            "spectrum_lockouts", "Sign-in lockouts in force (django-axes), by kind.", labels=["kind"]
        )
        lockouts.add_metric(["account"], accounts)
        lockouts.add_metric(["address"], addresses)
        yield lockouts
        last = backup.last_backup()
        yield GaugeMetricFamily(
            "spectrum_backup_age_seconds",
            "Seconds since the newest backup in BACKUP_DIR was made (+Inf: none).",
            value=last.age.total_seconds() if last else math.inf,
        )
        yield GaugeMetricFamily(
            "spectrum_backup_last_timestamp_seconds",
            "When the newest backup was made (Unix time; 0: none).",
            value=last.created_at.timestamp() if last else 0,
        )
        yield GaugeMetricFamily(
            "spectrum_backup_max_age_seconds",
            "BACKUP_MAX_AGE_HOURS in seconds: alert when the backup age exceeds it.",
            value=datetime.timedelta(hours=settings.BACKUP_MAX_AGE_HOURS).total_seconds(),
        )
        yield from queue_metrics()


def queue_metrics() -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
    """The task queue's state from the broker and beat's heartbeat, and the outcome counts per task."""
    from operations import queue
    from operations.models import TaskCount

    state = queue.queue_health()
    yield GaugeMetricFamily(
        "spectrum_queue_broker_up", "1 when the task queue's broker answers, else 0.", value=int(state.broker.reachable)
    )
    yield GaugeMetricFamily(
        "spectrum_queue_length",
        "Tasks waiting in the default queue (NaN: broker unreachable).",
        value=math.nan if state.broker.waiting is None else state.broker.waiting,
    )
    yield GaugeMetricFamily(
        "spectrum_queue_oldest_task_age_seconds",
        "How long the oldest waiting task has waited (0: none waiting; NaN: broker unreachable).",
        value=state.broker.oldest_waiting_seconds or 0 if state.broker.reachable else math.nan,
    )
    yield GaugeMetricFamily(
        "spectrum_beat_last_run_age_seconds",
        "Seconds since Celery beat's last heartbeat (+Inf: never). Alert above QUEUE_BEAT_STALE_SECONDS.",
        value=math.inf if state.beat_seconds is None else state.beat_seconds,
    )
    outcomes = CounterMetricFamily(
        "spectrum_celery_tasks", "Task outcomes: success, failure (gave up), retry.", labels=["task", "outcome"]
    )
    for task_name, outcome, total in TaskCount.objects.order_by("task_name", "outcome").values_list(
        "task_name", "outcome", "count"
    ):
        outcomes.add_metric([task_name, outcome], total)
    yield outcomes


def exposition() -> bytes:
    """The metrics page in Prometheus text format."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = prometheus_client.CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = prometheus_client.REGISTRY
    ours = prometheus_client.CollectorRegistry()
    ours.register(SpectrumCollector())
    return prometheus_client.generate_latest(registry) + prometheus_client.generate_latest(ours)


CONTENT_TYPE = prometheus_client.CONTENT_TYPE_LATEST
