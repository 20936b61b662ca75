"""Celery beat's scheduler, with a heartbeat: ``/health/`` says how long ago beat last ran.

The schedule itself is ``CELERY_BEAT_SCHEDULE`` in settings (in code). Beat keeps it in memory: after a restart
it waits for each entry's next time (a job missed while beat was down runs at its next time, or by hand). Two
beats running by mistake are harmless: every scheduled job runs once per window (operations.queue).
"""

import logging
import time
from typing import Any

from celery.beat import Scheduler
from django.db import DatabaseError, close_old_connections, connection

from operations import queue

logger = logging.getLogger(__name__)

HEARTBEAT_EVERY_SECONDS = 15


class HeartbeatScheduler(Scheduler):
    """Beat's in-memory scheduler that records a heartbeat at most every 15 seconds as it ticks."""

    _last_heartbeat = 0.0

    def tick(self, *args: Any, **kwargs: Any) -> float:
        now = time.monotonic()
        if now - self._last_heartbeat >= HEARTBEAT_EVERY_SECONDS:
            if not connection.in_atomic_block:  # beat lives for weeks: drop a connection the database closed
                close_old_connections()
            try:
                queue.record_heartbeat()
            except DatabaseError:
                logger.warning("Beat could not record its heartbeat: database unreachable")
            else:
                self._last_heartbeat = now
        return min(super().tick(*args, **kwargs), HEARTBEAT_EVERY_SECONDS)
