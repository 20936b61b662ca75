from django.core.management.base import BaseCommand

from reminders import services


class Command(BaseCommand):
    help = "Run one reminder sweep in this process (what Celery beat schedules every minute)."

    def handle(self, *args, **options) -> None:
        result = services.sweep()
        self.stdout.write(
            f"Reminders: {result.created} derived, {result.cancelled} no longer needed, "
            f"{len(result.claimed)} processed, {result.abandoned} interrupted sends marked failed."
        )
