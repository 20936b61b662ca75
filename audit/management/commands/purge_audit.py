import getpass

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from audit.retention import MIN_RETENTION_YEARS, RetentionError, purge_entries


class Command(BaseCommand):
    help = (
        f"Delete audit entries older than N years (never fewer than {MIN_RETENTION_YEARS}); the purge itself "
        "is recorded in the trail. The only way entries are deleted."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--older-than-years", type=int, default=MIN_RETENTION_YEARS, dest="years")
        parser.add_argument("--dry-run", action="store_true", help="Only count what would be deleted.")

    def handle(self, *args, years: int, dry_run: bool, **options) -> None:
        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            user = ""
        try:
            result = purge_entries(older_than_years=years, dry_run=dry_run, run_by=user)
        except RetentionError as exc:
            raise CommandError(str(exc)) from None
        verb = "Would delete" if dry_run else "Deleted"
        self.stdout.write(
            f"{verb} {result.deleted} audit entries older than {timezone.localtime(result.cutoff):%Y-%m-%d %H:%M %Z}."
        )
