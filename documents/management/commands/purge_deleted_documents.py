import datetime

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from documents import services


class Command(BaseCommand):
    help = (
        "Remove the stored files of documents deleted more than DOCUMENT_RETENTION_DAYS ago (their rows and "
        "audit entries stay). Run it daily, e.g. from cron."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--older-than-days", type=int, default=None, help="Default: DOCUMENT_RETENTION_DAYS (six years)."
        )

    def handle(self, *args, older_than_days: int | None, **options) -> None:
        days = settings.DOCUMENT_RETENTION_DAYS if older_than_days is None else older_than_days
        if days < 0:
            raise CommandError("--older-than-days cannot be negative.")
        purged = services.purge_deleted_documents(older_than=datetime.timedelta(days=days))
        self.stdout.write(f"Removed the files of {purged} deleted document{'s' if purged != 1 else ''}.")
