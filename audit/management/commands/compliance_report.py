import datetime
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit import reports


def _date(value: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{value!r} is not a date (YYYY-MM-DD).") from None


class Command(BaseCommand):
    help = (
        "Write the compliance report for a period (clinic-local days, both included): access per user, "
        "failed sign-ins and lockouts, exports, after-hours access, anomalies. Recorded as an export."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="date_from", required=True, help="First day, YYYY-MM-DD.")
        parser.add_argument("--to", dest="date_to", required=True, help="Last day, YYYY-MM-DD.")
        parser.add_argument("--format", dest="output_format", choices=["csv", "html"], default="csv")
        parser.add_argument("--output", "-o", help="File to write (default: standard output).")

    def handle(self, *args, date_from: str, date_to: str, output_format: str, output: str | None, **options) -> None:
        try:
            report = reports.build_compliance_report(_date(date_from), _date(date_to))
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        body = reports.render_csv(report) if output_format == "csv" else reports.render_html(report)
        reports.record_export(report, export_format=output_format, actor=None, channel="command")
        if output:
            Path(output).write_text(body, encoding="utf-8")
            self.stderr.write(f"Wrote {output}.")
        else:
            self.stdout.write(body, ending="")
