import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from operations import backup as backups
from operations import verify
from operations.management.commands._common import run_by
from spectrum.exceptions import DomainError


class Command(BaseCommand):
    help = (
        "Prove a backup restores: check the file, restore it into a scratch database (in memory for SQLite, a "
        "temporary database on the same PostgreSQL server) and compare every table's count and checksum."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("backup", type=Path, nargs="?", help="The .spbak file (default: the newest in BACKUP_DIR).")
        # Internal: the child process verify_backup starts, whose default database is the scratch one.
        parser.add_argument("--in-scratch", action="store_true", help="(internal)")

    def handle(self, *args, backup: Path | None, in_scratch: bool, **options) -> None:
        if backup is None:
            newest = backups.last_backup()
            if newest is None:
                raise CommandError("No backup found in BACKUP_DIR; give the file to verify.")
            backup = newest.path
        if in_scratch:
            try:
                report = verify.restore_into_scratch(backup)
            except DomainError as exc:
                self.stdout.write(json.dumps({"ok": False, "error": exc.message}))
                raise CommandError(exc.message) from None
            self.stdout.write(json.dumps(report))
            return
        try:
            result = verify.verify_backup(path=backup, run_by=run_by())
        except DomainError as exc:
            raise CommandError(f"{backup.name}: {exc.message}") from None
        rows = sum(table["rows"] for table in result.trailer["tables"].values())
        if not result.ok:
            raise CommandError(f"{backup.name} FAILED verification:\n  " + "\n  ".join(result.problems))
        self.stdout.write(
            f"{backup.name} is good: restored into {result.scratch}; {len(result.trailer['tables'])} tables, "
            f"{rows:,} rows, counts and checksums match the manifest."
        )
