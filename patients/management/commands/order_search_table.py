import time

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from patients.models import PatientSearchEntry


class Command(BaseCommand):
    help = (
        "Rewrite the patient search table in name order (PostgreSQL), so that searching for a common name reads "
        "fewer pages (a quarter for 'mart'). Run it nightly; the table is locked while it is rewritten."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--lock-timeout", type=int, default=10, help="Give up if the table cannot be locked within N seconds."
        )
        parser.add_argument("--database", default="default")

    def handle(self, *args, lock_timeout: int, database: str, **options) -> None:
        started = time.monotonic()
        try:
            rewritten = PatientSearchEntry.rewrite_in_name_order(using=database, lock_timeout_seconds=lock_timeout)
        except DatabaseError as exc:
            raise CommandError(f"The search table was left as it was: {exc}".strip()) from None
        if rewritten:
            self.stdout.write(f"Rewrote the patient search table in name order in {time.monotonic() - started:.1f} s.")
        else:
            self.stdout.write("Nothing to do: only PostgreSQL reads the search table.")
