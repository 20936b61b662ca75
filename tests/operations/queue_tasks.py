"""Tasks that exist only for the task-queue tests: a job that fails transiently a given number of times."""

import time

import redis
from celery import shared_task

from operations.queue import SpectrumTask
from spectrum.celery import app

ATTEMPTS = "spectrum-test:attempts"


def attempts_client() -> redis.Redis:
    return redis.Redis.from_url(app.conf.broker_url, socket_timeout=5)


@shared_task(
    bind=True,
    base=SpectrumTask,
    name="tests.operations.flaky",
    max_retries=3,
    retry_backoff=1,
    retry_backoff_max=4,
    retry_jitter=False,
)
def flaky(self, failures: int) -> str:
    """Fails with a connection error (transient) on its first ``failures`` attempts; each attempt is noted."""
    client = attempts_client()
    client.rpush(ATTEMPTS, time.time())
    client.close()
    if self.request.retries < failures:
        raise ConnectionError("the provider did not answer (simulated)")
    return "done"
