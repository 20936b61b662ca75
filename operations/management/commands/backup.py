from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from operations import backup
from operations.management.commands._common import run_by
from spectrum.exceptions import DomainError


class Command(BaseCommand):
    help = (
        "Write an encrypted, compressed backup of the whole database into BACKUP_DIR (pg_dump on PostgreSQL when "
        "available, else Django), print its path, and keep only the newest BACKUP_RETENTION backups."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dir", type=Path, help="Write here instead of BACKUP_DIR.")
        parser.add_argument("--method", choices=backup.METHODS, default="auto", help="Default: auto.")

    def handle(self, *args, dir: Path | None, method: str, **options) -> None:
        try:
            result = backup.create_backup(directory=dir, method=method, run_by=run_by())
        except DomainError as exc:
            raise CommandError(exc.message) from None
        manifest = result.manifest
        rows = sum(table["rows"] for table in manifest["tables"].values())
        size = result.path.stat().st_size
        self.stdout.write(
            f"Backup written ({manifest['method']}, {len(manifest['tables'])} tables, {rows:,} rows, "
            f"{size / 1_048_576:.1f} MiB):"
        )
        self.stdout.write(str(result.path))
        for path in result.pruned:
            self.stdout.write(f"Removed old backup {path.name} (BACKUP_RETENTION).")
