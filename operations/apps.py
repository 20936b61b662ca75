import os
from pathlib import Path

from django.apps import AppConfig
from django.conf import settings


class OperationsConfig(AppConfig):
    name = "operations"
    verbose_name = "Data operations"

    def ready(self) -> None:
        # gunicorn.conf.py sets PROMETHEUS_MULTIPROC_DIR for its workers; a management command run with the
        # same environment (e.g. in the container) must not fail on a directory that is not there yet.
        if directory := os.environ.get("PROMETHEUS_MULTIPROC_DIR", "").strip():
            Path(directory).mkdir(mode=0o700, parents=True, exist_ok=True)
        # The development broker is a folder (settings.CELERY_BROKER_URL): web, worker and beat all find it.
        for key in ("data_folder_in", "control_folder"):
            if folder := settings.CELERY_BROKER_TRANSPORT_OPTIONS.get(key):
                Path(str(folder)).mkdir(mode=0o700, parents=True, exist_ok=True)
        from operations import metrics, queue

        metrics.count_database_queries()
        queue.connect_signals()
