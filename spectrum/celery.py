"""The Celery application: Spectrum's task queue (scheduled work, and the reminders' sends).

Configured from Django settings (``CELERY_*``, spectrum/settings.py) and finds the ``tasks`` module of
every installed app. The worker and beat are started with ``celery -A spectrum worker`` / ``beat`` (README,
"Task queue"). The signal receivers that count tasks, record failures and stamp messages with their send time
live in ``operations.queue`` and are connected by ``operations.apps``.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spectrum.settings")

app = Celery("spectrum")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
