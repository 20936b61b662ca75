"""Settings for the worker and beat processes of the concurrency test: Spectrum's, with beat ticking the nightly
audit purge every second, so that two beats send it many times within one window."""

from datetime import timedelta

from spectrum.settings import *  # noqa: F403

CELERY_BEAT_SCHEDULE = {
    "audit-retention-purge": {"task": "audit.tasks.purge_audit_entries", "schedule": timedelta(seconds=1)},
}
