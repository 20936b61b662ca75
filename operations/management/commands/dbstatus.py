import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from operations import status


class Command(BaseCommand):
    help = (
        "Database engine, version, size, row counts, migration state, encryption key, last backup and its age. "
        "Exits 1 when something is wrong (listed on standard error), 2 when the database cannot be reached."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="One JSON object, for monitoring scripts.")

    def handle(self, *args, **options) -> None:
        report = status.database_status()
        if options["json"]:
            self.stdout.write(
                json.dumps({**report.facts, "row_counts": report.row_counts, "problems": report.problems})
            )
        else:
            self._print(report)
        if not report.connected:
            raise CommandError("; ".join(report.problems), returncode=2)
        if report.problems:
            raise CommandError("Problems:\n  " + "\n  ".join(report.problems))

    def _print(self, report: status.StatusReport) -> None:
        facts = report.facts
        write = self.stdout.write
        write(f"Engine:      {facts.get('version', facts['engine'])}")
        if not report.connected:
            write("Connection:  FAILED")
            return
        write(f"Database:    {facts['database']}")
        size = facts.get("size_bytes")
        write(f"Size:        {size / 1_048_576:.1f} MiB" if size is not None else "Size:        unknown")
        write("Connection:  ok")
        pending = facts["unapplied_migrations"]
        write(f"Migrations:  {'all applied' if not pending else f'{len(pending)} NOT APPLIED'}")
        last = facts.get("last_backup")
        if last:
            write(f"Last backup: {last['file']} ({last['age_hours']} hours ago, in {facts['backup_dir']})")
        else:
            write(f"Last backup: none in {facts['backup_dir']}")
        if report.row_counts:
            write("Rows:")
            width = max(len(name) for name in report.row_counts)
            for name, count in report.row_counts.items():
                write(f"  {name:<{width}}  {count:>12,}")
        write("Status:      " + ("OK" if report.ok else f"{len(report.problems)} PROBLEM(S)"))
