"""The task queue on its real machinery: Celery workers on the real Redis (db 6 unless
SPECTRUM_TEST_QUEUE_REDIS_URL says otherwise), the real SMTP server of tests/conftest.py, and, on PostgreSQL,
worker and beat processes side by side.

- In-process worker (``celery.contrib.testing.worker.start_worker``, a thread): retries with backoff, the
  failed state, administrators' emails, once per window; on SQLite and PostgreSQL alike.
- Processes (PostgreSQL only, as a worker in another process cannot see SQLite's in-memory test database): two
  workers and two beats run the nightly audit purge exactly once.
"""

import datetime
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
import redis
import time_machine
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.db import connection
from django.utils import timezone

from audit import events
from audit.models import AuditEvent
from operations import postgres, queue
from operations.beat import HeartbeatScheduler
from operations.models import Heartbeat, ScheduledRun, TaskCount, TaskFailure
from operations.verify import VerifyResult
from scheduling.models import Appointment, ServiceType
from spectrum.celery import app
from tests.factories import PatientFactory
from tests.operations import queue_tasks
from tests.operations.conftest import require_service

QUEUE_REDIS_URL = os.environ.get("SPECTRUM_TEST_QUEUE_REDIS_URL", "redis://127.0.0.1:6379/6")
CLOSED_PORT_BROKER = "redis://127.0.0.1:1/0"
BACKUP_JOB = "operations.tasks.backup_and_verify"
PURGE_JOB = "audit.tasks.purge_audit_entries"


@pytest.fixture(autouse=True)
def _clinic_clock():
    """Workers and beats in other processes live on the real clock, so these tests do too (those that need a
    fixed moment travel there themselves)."""


def use_broker(url: str, options: dict) -> None:
    """Point the app at another broker: the next publish takes a connection to it from kombu's pools (keyed
    by broker URL) instead of the one the app holds for the last broker."""
    # Celery has no public call for "forget the pool"; it builds them again on the next publish.
    app._pool = None
    app.amqp._producer_pool = None
    app.conf.update(CELERY_BROKER_URL=url, CELERY_BROKER_TRANSPORT_OPTIONS=options)


@pytest.fixture
def redis_broker() -> Iterator[redis.Redis]:
    parsed = urlparse(QUEUE_REDIS_URL)
    require_service("Redis", parsed.hostname or "127.0.0.1", parsed.port or 6379)
    client = redis.Redis.from_url(QUEUE_REDIS_URL, socket_timeout=5)
    client.flushdb()
    before = (app.conf.broker_url, dict(app.conf.broker_transport_options))
    use_broker(QUEUE_REDIS_URL, {"visibility_timeout": 3600, "socket_connect_timeout": 2})
    yield client
    use_broker(*before)
    client.flushdb()
    client.close()


@pytest.fixture
def worker(redis_broker, reference_data, worker_thread_database) -> Iterator[None]:
    """A real worker (solo pool) in a thread of this process, consuming from Redis."""
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30, loglevel="WARNING"):
        yield


def send(name: str, *args, **kwargs) -> str:
    """Publish task ``name`` to the broker (as beat or a page would), return its id."""
    with app.connection_for_write() as broker:
        return app.send_task(name, args=args, kwargs=kwargs, connection=broker).id


def wait_for(condition: Callable[[], object], *, timeout: float = 30, what: str = "the condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    pytest.fail(f"Timed out after {timeout} s waiting for {what}")


def counts(task_name: str) -> dict[str, int]:
    return dict(TaskCount.objects.filter(task_name=task_name).values_list("outcome", "count"))


# --- Retries, backoff, the failed state ----------------------------------------------------------------------


def test_a_transient_failure_is_retried_with_growing_backoff_until_it_succeeds(worker, redis_broker):
    send("tests.operations.flaky", 2)
    wait_for(lambda: counts("tests.operations.flaky").get("success") == 1, what="the third attempt to succeed")
    attempts = [float(stamp) for stamp in redis_broker.lrange(queue_tasks.ATTEMPTS, 0, -1)]
    assert len(attempts) == 3
    gaps = [later - earlier for earlier, later in zip(attempts, attempts[1:], strict=False)]
    assert 0.9 <= gaps[0] < 1.9 and 1.9 <= gaps[1] < 3.5  # backoff 1 s, then 2 s
    assert counts("tests.operations.flaky") == {"retry": 2, "success": 1}
    assert not TaskFailure.objects.exists()


def test_a_task_that_keeps_failing_gives_up_into_a_visible_failed_state(worker, redis_broker, client, admin_user):
    task_id = send("tests.operations.flaky", 99)
    wait_for(lambda: TaskFailure.objects.exists(), timeout=40, what="the task to give up")
    assert redis_broker.llen(queue_tasks.ATTEMPTS) == 4  # the first try and max_retries=3 retries, no more
    failure = TaskFailure.objects.get()
    assert (failure.task_name, failure.task_id, failure.retries) == ("tests.operations.flaky", task_id, 3)
    assert failure.error == "ConnectionError"  # a library's message may hold PHI: only the class is kept
    assert counts("tests.operations.flaky") == {"retry": 3, "failure": 1}

    client.force_login(admin_user)
    metrics = client.get("/metrics").content.decode()
    assert 'spectrum_celery_tasks_total{outcome="failure",task="tests.operations.flaky"} 1.0' in metrics
    assert 'spectrum_celery_tasks_total{outcome="retry",task="tests.operations.flaky"} 3.0' in metrics
    page = client.get("/admin/operations/taskfailure/").content.decode()
    assert "tests.operations.flaky" in page and "ConnectionError" in page


def test_a_task_no_worker_knows_is_dropped_and_the_worker_carries_on(worker):
    # Beat names tasks that other parts of Spectrum provide (e.g. the reminder sweep); a worker without them
    # logs and drops the message, and serves the next one.
    send("reminders.tasks.send_due_reminders")
    send("tests.operations.flaky", 0)
    wait_for(lambda: counts("tests.operations.flaky").get("success") == 1, what="the next task to run")


# --- Scheduled jobs: once per window, alerts by email ------------------------------------------------------------


def test_the_nightly_backup_runs_once_per_night_however_often_it_is_sent(worker, smtp_server):
    first, second = send(BACKUP_JOB), send(BACKUP_JOB)  # a duplicated beat tick
    wait_for(lambda: counts(BACKUP_JOB).get("success") == 2, timeout=120, what="both messages to be handled")
    run = ScheduledRun.objects.get(job=BACKUP_JOB)
    assert run.status == ScheduledRun.Status.DONE and run.claimant in (first, second) and run.error == ""
    assert run.window_start_at == timezone.make_aware(datetime.datetime.combine(timezone.localdate(), datetime.time()))
    assert len(list(settings.BACKUP_DIR.glob("*.spbak"))) == 1
    assert AuditEvent.objects.filter(event="operations.backup.verified").count() == 1
    assert smtp_server.envelopes == []


def test_a_backup_that_cannot_be_written_is_emailed_to_the_administrators(
    worker, smtp_server, settings, tmp_path, admin_user, nurse_user
):
    settings.BACKUP_DIR = tmp_path / "not-a-folder"
    settings.BACKUP_DIR.write_text("a file where the backup folder should be")
    task_id = send(BACKUP_JOB)
    wait_for(lambda: smtp_server.envelopes, timeout=30, what="the alert email")
    envelope = smtp_server.envelopes[0]
    assert envelope.rcpt_tos == [admin_user.email]  # administrators only
    message = smtp_server.messages[0]
    assert message["Subject"].replace("\r\n", "") == f"{settings.CLINIC_NAME}: scheduled job {BACKUP_JOB} failed"
    body = smtp_server.bodies()[0]
    assert "Error: FileExistsError" in body and task_id in body and "manage.py backup" in body
    assert str(settings.BACKUP_DIR) not in body  # an OS error's details stay in the worker's log
    # The alert goes out from the task; the failure is recorded after it returns (the task_failure signal).
    wait_for(lambda: TaskFailure.objects.exists(), what="the failure to be recorded")
    assert ScheduledRun.objects.get(job=BACKUP_JOB).status == ScheduledRun.Status.FAILED
    failure = TaskFailure.objects.get()
    assert failure.task_name == BACKUP_JOB and failure.retries == 0  # not transient: no retries


def test_a_backup_that_fails_verification_is_emailed_to_the_administrators(
    worker, smtp_server, monkeypatch, admin_user
):
    def failed_verification(*, path: Path, run_by: str = "", using: str = "default") -> VerifyResult:
        return VerifyResult(
            path=path, header={}, trailer={}, scratch="", problems=["patients_patient: checksum differs"]
        )

    monkeypatch.setattr("operations.verify.verify_backup", failed_verification)
    send(BACKUP_JOB)
    wait_for(lambda: smtp_server.envelopes, timeout=60, what="the alert email")
    body = smtp_server.bodies()[0]
    assert "BackupVerificationFailed" in body and "patients_patient: checksum differs" in body
    wait_for(lambda: TaskFailure.objects.exists(), what="the failure to be recorded")
    assert TaskFailure.objects.get().error.startswith("BackupVerificationFailed: ")


def test_the_audit_purge_runs_on_the_queue_and_by_hand(worker):
    send(PURGE_JOB)
    wait_for(lambda: counts(PURGE_JOB).get("success") == 1, what="the purge")
    assert AuditEvent.objects.filter(event=events.PURGED).count() == 1
    assert ScheduledRun.objects.get(job=PURGE_JOB).status == ScheduledRun.Status.DONE
    from django.core.management import call_command

    call_command("purge_audit")  # by hand, as before: not bound by the window
    assert AuditEvent.objects.filter(event=events.PURGED).count() == 2


# --- The once-per-window guard itself ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "window", "start"),
    [
        ("2026-03-08T23:59:00-04:00", datetime.timedelta(days=1), "2026-03-08T00:00:00-05:00"),  # DST day
        ("2026-11-01T01:30:00-05:00", datetime.timedelta(days=1), "2026-11-01T00:00:00-04:00"),
        ("2026-05-13T11:34:59-04:00", datetime.timedelta(minutes=5), "2026-05-13T11:30:00-04:00"),
    ],
)
def test_windows_start_at_the_clinics_midnight_or_on_the_minute_grid(moment, window, start):
    got = queue.window_start(datetime.datetime.fromisoformat(moment), window)
    assert got == datetime.datetime.fromisoformat(start)


@pytest.mark.django_db
def test_a_claim_is_held_by_its_task_until_done_or_its_lease_runs_out(frozen_clinic_clock):
    day, lease = datetime.timedelta(days=1), datetime.timedelta(hours=1)
    first = queue.claim_window(job="job", window=day, claimant="task-1", lease=lease)
    assert first is not None
    assert queue.claim_window(job="job", window=day, claimant="task-2", lease=lease) is None  # a second tick
    queue.finish_window(first, error=ConnectionError("down"))
    again = queue.claim_window(job="job", window=day, claimant="task-1", lease=lease)  # its own retry
    assert again is not None and again.attempts == 2 and again.status == ScheduledRun.Status.RUNNING
    frozen_clinic_clock.shift(datetime.timedelta(minutes=61))  # its worker died: the lease runs out
    taken = queue.claim_window(job="job", window=day, claimant="task-3", lease=lease)
    assert taken is not None and taken.claimant == "task-3"
    queue.finish_window(taken)
    frozen_clinic_clock.shift(datetime.timedelta(hours=2))
    assert queue.claim_window(job="job", window=day, claimant="task-3", lease=lease) is None  # done is done
    assert ScheduledRun.objects.count() == 1


# --- Health and metrics: broker, beat, workers ----------------------------------------------------------------


@pytest.fixture
def broker_down() -> Iterator[None]:
    before = (app.conf.broker_url, dict(app.conf.broker_transport_options))
    use_broker(CLOSED_PORT_BROKER, {"socket_connect_timeout": 1})
    yield
    use_broker(*before)


@pytest.mark.django_db
def test_with_the_broker_down_bookings_succeed_and_health_names_the_broker(client, staff_user, broker_down):
    queue.record_heartbeat()
    patient = PatientFactory()
    ind = ServiceType.objects.get(code="IND")
    day = timezone.localdate() + datetime.timedelta(days=(7 - timezone.localdate().weekday()) % 7 + 7)  # a Monday
    client.force_login(staff_user)
    response = client.post(
        "/appointments/new/",
        # Acknowledged: without an authorization the booking form asks first (scheduling's warning step).
        {
            "patient": patient.pk,
            "service_type": ind.pk,
            "date": day.isoformat(),
            "start_time": "10:00",
            "acknowledge_warnings": "on",
        },
    )
    assert response.status_code == 302
    assert Appointment.objects.filter(patient=patient, date=day).exists()

    health = client.get("/health/")
    assert health.status_code == 200
    body = health.json()
    assert (body["status"], body["broker"], body["beat"], body["database"]) == ("degraded", "error", "ok", "ok")
    assert body["queue"]["waiting"] is None


@pytest.mark.django_db
def test_a_stuck_beat_makes_health_degraded_and_shows_in_metrics(client, admin_user, frozen_clinic_clock):
    queue.record_heartbeat()
    assert client.get("/health/").json()["status"] == "ok"
    frozen_clinic_clock.shift(datetime.timedelta(seconds=settings.QUEUE_BEAT_STALE_SECONDS + 1))
    body = client.get("/health/").json()
    assert (body["status"], body["beat"]) == ("degraded", "error")
    assert body["queue"]["beat_last_ran_seconds_ago"] == settings.QUEUE_BEAT_STALE_SECONDS + 1
    client.force_login(admin_user)
    metrics = client.get("/metrics").content.decode()
    assert f"spectrum_beat_last_run_age_seconds {settings.QUEUE_BEAT_STALE_SECONDS + 1}.0" in metrics


@pytest.mark.django_db
def test_a_beat_that_never_ran_is_reported(client):
    body = client.get("/health/").json()
    assert (body["status"], body["beat"], body["queue"]["beat_last_ran_seconds_ago"]) == ("degraded", "error", None)


@pytest.mark.django_db
def test_tasks_waiting_too_long_mean_no_worker_takes_them(client, redis_broker):
    queue.record_heartbeat()
    with time_machine.travel(timezone.now() - datetime.timedelta(seconds=settings.QUEUE_MAX_WAIT_SECONDS + 60)):
        send("tests.operations.flaky", 0)  # nobody consumes: no worker
    send("tests.operations.flaky", 0)
    body = client.get("/health/").json()
    assert (body["status"], body["broker"], body["workers"]) == ("degraded", "ok", "error")
    assert body["queue"]["waiting"] == 2
    assert body["queue"]["oldest_waiting_seconds"] >= settings.QUEUE_MAX_WAIT_SECONDS + 60


@pytest.mark.django_db
def test_beat_records_a_heartbeat_as_it_ticks(frozen_clinic_clock):
    scheduler = HeartbeatScheduler(app=app, lazy=True)
    assert scheduler.tick() <= 15
    assert Heartbeat.objects.get(name="beat").seen_at == timezone.now()


def test_the_schedule_names_every_scheduled_job():
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert tasks == {
        "operations.tasks.backup_and_verify",
        "audit.tasks.purge_audit_entries",
        "accounts.tasks.deactivate_inactive_users",
        "reminders.tasks.send_due_reminders",
    }


# --- Processes: two workers and two beats on PostgreSQL ---------------------------------------------------------


def process_env(redis_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_FILE") and k != "PROMETHEUS_MULTIPROC_DIR"}
    env.update(
        SPECTRUM_ENV="development",
        DJANGO_SETTINGS_MODULE="tests.operations.queue_settings",
        DATABASE_URL=postgres.database_url(connection.settings_dict, connection.settings_dict["NAME"]),
        CELERY_BROKER_URL=redis_url,
        SECRET_KEY=settings.SECRET_KEY,
        FIELD_ENCRYPTION_KEY=",".join(settings.FIELD_ENCRYPTION_KEY),
        SEARCH_HASH_KEY=settings.SEARCH_HASH_KEY,
        AUDIT_CHAIN_KEY=settings.AUDIT_CHAIN_KEY,
        LOG_LEVEL="WARNING",
    )
    env.pop("REDIS_URL", None)
    return env


def celery(env: dict[str, str], log: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "spectrum", *args, "--loglevel=WARNING"],
        cwd=settings.BASE_DIR, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
    )  # fmt: skip


def stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        process.terminate()  # warm shutdown: finish the task at hand
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_workers_and_two_beats_run_the_nightly_purge_exactly_once(redis_broker, reference_data, tmp_path, client):
    env = process_env(QUEUE_REDIS_URL)
    workers = [
        celery(env, tmp_path / f"worker{n}.log", "worker", "--pool=solo", f"--hostname=w{n}@%h", "--without-mingle")
        for n in (1, 2)
    ]
    beats: list[subprocess.Popen] = []
    try:
        wait_for(lambda: len(app.control.ping(timeout=0.5)) == 2, timeout=60, what="both workers")
        beats = [
            celery(env, tmp_path / f"beat{n}.log", "beat", f"--pidfile={tmp_path / f'beat{n}.pid'}") for n in (1, 2)
        ]
        # Each beat sends the purge every second: several duplicated ticks within the night's window.
        wait_for(lambda: counts(PURGE_JOB).get("success", 0) >= 6, timeout=60, what="six purge messages handled")
    finally:
        stop(beats)
    wait_for(lambda: redis_broker.llen("celery") == 0, timeout=30, what="the queue to drain")
    stop(workers)
    logs = {path.name: path.read_text() for path in tmp_path.glob("*.log")}

    assert AuditEvent.objects.filter(event=events.PURGED).count() == 1, logs
    run = ScheduledRun.objects.get(job=PURGE_JOB)
    assert run.status == ScheduledRun.Status.DONE and run.attempts == 1
    assert counts(PURGE_JOB).get("failure") is None and not TaskFailure.objects.exists(), logs
    # Beat's heartbeat reached the database; with both beats stopped, health shows beat stuck once it is stale.
    assert (timezone.now() - Heartbeat.objects.get(name="beat").seen_at).total_seconds() < 30
    assert client.get("/health/").json()["beat"] == "ok"
    with time_machine.travel(timezone.now() + datetime.timedelta(seconds=settings.QUEUE_BEAT_STALE_SECONDS + 30)):
        body = client.get("/health/").json()
    assert (body["status"], body["beat"]) == ("degraded", "error")
