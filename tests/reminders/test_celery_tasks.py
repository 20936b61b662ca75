"""The agreed tasks on a real Celery worker and the real Redis (database 7: this branch's), not eager mode:
messages are serialised, acknowledged late, and a duplicated task sends nothing twice.

The project's Celery app (spectrum/celery.py, beat's schedule) comes from the queue branch; this test
builds a minimal app of its own so the tasks are exercised as shared tasks on any app.
"""

import datetime
import os
import time
import uuid

import pytest
from celery import Celery
from celery.contrib.testing.worker import start_worker

from reminders import tasks
from reminders.models import Reminder
from tests.reminders.conftest import TODAY

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.usefixtures("reference_data", "worker_thread_database"),
]

REDIS_URL = os.environ.get("REMINDERS_TEST_REDIS_URL", "redis://127.0.0.1:6379/7")
FRIDAY = TODAY + datetime.timedelta(days=2)


@pytest.fixture(autouse=True)
def _clinic_clock(ticking_clinic_clock):
    """A worker waits on real time: the clock runs (from the clinic's test moment)."""
    return ticking_clinic_clock


@pytest.fixture
def celery_app():
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip(f"Redis not reachable at {REDIS_URL}")
    app = Celery("spectrum-reminders-test", broker=REDIS_URL)
    queue = f"reminders-test-{uuid.uuid4().hex}"  # parallel runs do not share a queue
    app.conf.update(
        task_default_queue=queue, task_acks_late=True, worker_prefetch_multiplier=1, broker_connection_retry=False,
        broker_connection_retry_on_startup=False, worker_hijack_root_logger=False,
    )  # fmt: skip
    app.set_current()
    app.set_default()
    with start_worker(app, pool="solo", concurrency=1, perform_ping_check=False, shutdown_timeout=10):
        yield app
    redis.Redis.from_url(REDIS_URL).delete(queue)


def wait_for(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError("timed out")


def test_sweep_task_fans_out_to_send_tasks_on_a_real_worker(celery_app, smtp_server, email_patient, book):
    appointment = book(email_patient, FRIDAY, "10:00")
    tasks.send_due_reminders.delay()
    tasks.send_due_reminders.delay()  # a duplicated beat tick
    wait_for(lambda: Reminder.objects.filter(appointment=appointment, status="sent").exists())
    time.sleep(1)  # let any duplicate run to its end
    assert len(smtp_server.envelopes) == 1
    reminder = Reminder.objects.get(appointment=appointment, status="sent")
    tasks.send_reminder.delay(reminder.pk)  # a redelivered message for a sent reminder does nothing
    time.sleep(1)
    assert len(smtp_server.envelopes) == 1


def test_tasks_are_late_acknowledged_and_bounded():
    for task in (tasks.send_due_reminders, tasks.send_reminder):
        assert task.acks_late is True
        assert task.max_retries == 5
