import os
from pathlib import Path

from django.apps import AppConfig


class OperationsConfig(AppConfig):
    name = "operations"
    verbose_name = "Data operations"

    def ready(self) -> None:
        # gunicorn.conf.py sets PROMETHEUS_MULTIPROC_DIR for its workers; a management command run with the
        # same environment (e.g. in the container) must not fail on a directory that is not there yet.
        if directory := os.environ.get("PROMETHEUS_MULTIPROC_DIR", "").strip():
            Path(directory).mkdir(mode=0o700, parents=True, exist_ok=True)
        from operations import metrics

        metrics.count_database_queries()
