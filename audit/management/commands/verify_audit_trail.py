from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit import chain
from audit.models import AuditEvent


class Command(BaseCommand):
    help = (
        "Check the audit trail's hash chain: exits 0 when every entry is as the application wrote it, and "
        "otherwise non-zero, naming the first entry changed, removed or inserted behind the application's back."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--all", action="store_true", help="List every break, not only the first.")

    def handle(self, *args, all: bool, **options) -> None:
        found = []
        for problem in chain.problems():
            found.append(problem)
            if not all:
                break
        if found:
            for problem in found[1:]:
                self.stderr.write(str(problem))
            raise CommandError(f"The audit trail was tampered with. {found[0]}")
        self.stdout.write(f"The audit trail is intact ({AuditEvent.objects.count():,} entries checked).")
