from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from operations import restore
from operations.management.commands._common import run_by
from spectrum.exceptions import DomainError


class Command(BaseCommand):
    help = (
        "Restore a backup made by `backup` into this database, in one transaction, after checking its key, "
        "checksum and schema; then verify every table. Refuses a database that holds data unless --force."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("backup", type=Path, help="The .spbak file.")
        parser.add_argument(
            "--force", action="store_true", help="Replace the data of a database that is not empty (all of it)."
        )

    def handle(self, *args, backup: Path, force: bool, **options) -> None:
        try:
            result = restore.restore_backup(path=backup, force=force, run_by=run_by())
        except DomainError as exc:
            raise CommandError(exc.message) from None
        rows = sum(table["rows"] for table in result.trailer["tables"].values())
        self.stdout.write(
            f"Restored {backup.name} (made {result.header['created_at']}, {result.header['method']}): "
            f"{len(result.trailer['tables'])} tables, {rows:,} rows; counts and checksums verified."
        )
        if result.replaced:
            self.stdout.write(f"Replaced {sum(result.replaced.values()):,} rows that were in the database before.")
        if result.undecryptable:
            self.stderr.write(
                "WARNING: encrypted fields cannot be decrypted with this FIELD_ENCRYPTION_KEY: "
                + ", ".join(result.undecryptable)
            )
