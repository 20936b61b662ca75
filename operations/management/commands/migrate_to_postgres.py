from django.core.management.base import BaseCommand, CommandError, CommandParser

from operations import transfer
from operations.management.commands._common import run_by
from spectrum.exceptions import DomainError


class Command(BaseCommand):
    help = (
        "Copy every table of an SQLite database into an empty, migrated PostgreSQL database (same ids, sequences "
        "reset), in batches, then verify every row. Safe to run again: an identical target is reported and left "
        "alone; a target with other data is refused unless --force."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="source", required=True, help="sqlite:///path/to/db.sqlite3")
        parser.add_argument("--to", dest="target", required=True, help="postgres://user:password@host:5432/name")
        parser.add_argument("--dry-run", action="store_true", help="Show what would be copied; change nothing.")
        parser.add_argument(
            "--force", action="store_true", help="Replace the data of a target that holds other data than the source."
        )

    def handle(self, *args, source: str, target: str, dry_run: bool, force: bool, **options) -> None:
        try:
            result = transfer.migrate_to_postgres(
                source_url=source, target_url=target, dry_run=dry_run, force=force, run_by=run_by(), say=self.say
            )
        except DomainError as exc:
            raise CommandError(exc.message) from None
        if result.state == "already-copied":
            self.stdout.write(
                f"The target already holds exactly the source's data ({len(result.tables)} tables, {result.rows:,} "
                "rows, every table's checksum matches): nothing to do."
            )
            return
        if result.state == "dry-run":
            self.stdout.write("Dry run: nothing was changed. Would copy:")
        for name, rows in result.tables.items():
            if result.state == "dry-run":
                self.stdout.write(f"  {name}: {rows:,} rows")
        for name, reason in result.skipped.items():
            self.stdout.write(f"  {name}: skipped ({reason})")
        if result.replaced:
            verb = "Would replace" if result.state == "dry-run" else "Replaced"
            self.stdout.write(f"{verb} {sum(result.replaced.values()):,} rows the target held (--force).")
        if result.state == "copied":
            self.stdout.write(
                f"Copied {len(result.tables)} tables, {result.rows:,} rows; every row verified identical. Point "
                "DATABASE_URL at the PostgreSQL database (with the same FIELD_ENCRYPTION_KEY and SEARCH_HASH_KEY)."
            )
        else:
            self.stdout.write(f"Total: {len(result.tables)} tables, {result.rows:,} rows.")

    def say(self, message: str) -> None:
        self.stdout.write(message)
