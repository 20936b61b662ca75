# The Celery app is created with Django, so that `shared_task`s bind to it (spectrum/celery.py).
from spectrum.celery import app as celery_app

__all__ = ("celery_app",)
