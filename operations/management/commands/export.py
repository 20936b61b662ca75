import os
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import User, normalize_email
from operations import exports
from spectrum.exceptions import DomainError


class Command(BaseCommand):
    help = (
        "Export patients, appointments or authorizations as CSV, JSON or XLSX, with the list pages' filters, to a "
        "file or standard output. Acts as an administrator named with --user; recorded in the audit trail."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--what", choices=exports.WHATS, required=True)
        parser.add_argument("--format", choices=exports.FORMATS, default="csv", dest="export_format")
        parser.add_argument("--output", type=Path, help="Write here (mode 600) instead of standard output.")
        parser.add_argument(
            "--user", required=True, help="Email of the administrator the export is made as (and recorded for)."
        )
        parser.add_argument("--search", help="Patients: the list's search text.")
        parser.add_argument(
            "--status",
            help="Patients: active (default), inactive or all. Appointments and authorizations: their status.",
        )
        parser.add_argument(
            "--date-from",
            help="YYYY-MM-DD. Patients: registered on or after; appointments: date; "
            "authorizations: window ending on or after.",
        )
        parser.add_argument("--date-to", help="YYYY-MM-DD, the end of the same range.")
        parser.add_argument("--patient", help="Appointments and authorizations: one patient (id or patient number).")
        parser.add_argument(
            "--filter",
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help="Any other filter of the list page or API, e.g. --filter city=Miami --filter service_type=2.",
        )

    def handle(self, *args, what: str, export_format: str, output: Path | None, user: str, **options: Any) -> None:
        actor = User.objects.filter(email=normalize_email(user), is_active=True).first()
        if actor is None:
            raise CommandError(f"No active user {user}.")
        params = self._params(what, options)
        if output is None and export_format == "xlsx" and sys.stdout.isatty():
            raise CommandError("XLSX is binary: give --output FILE or redirect standard output.")
        try:
            if output is None:
                self.stdout.flush()
                result = exports.export(
                    user=actor, what=what, export_format=export_format, params=params, out=sys.stdout.buffer,
                    channel="command",
                )  # fmt: skip
                sys.stdout.buffer.flush()
            else:
                fd = _create_private(output)
                with os.fdopen(fd, "wb") as out:
                    result = exports.export(
                        user=actor, what=what, export_format=export_format, params=params, out=out, channel="command"
                    )
        except DomainError as exc:
            raise CommandError(exc.message) from None
        except BrokenPipeError:
            # The reader stopped early (`| head`): what was written is recorded; keep Python quiet at exit.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise CommandError("Standard output was closed before the export ended.") from None
        # The summary goes to standard error, so that standard output holds the export alone.
        where = str(output) if output else "standard output"
        self.stderr.write(
            f"Exported {result.count:,} {what} as {export_format} to {where} (recorded in the audit trail)."
        )

    def _params(self, what: str, options: dict[str, Any]) -> dict[str, Any]:
        params: dict[str, Any] = {}
        for item in options["filter"]:
            name, sep, value = item.partition("=")
            if not sep:
                raise CommandError(f"--filter takes NAME=VALUE, not {item!r}.")
            params[name.strip()] = value.strip()
        if options["search"]:
            params["search"] = options["search"]
        if options["status"]:
            if what == "patients":
                mapping = {"active": "true", "inactive": "false", "all": "all"}
                if options["status"] not in mapping:
                    raise CommandError("--status for patients is active, inactive or all.")
                params["is_active"] = mapping[options["status"]]
            else:
                params["status"] = options["status"]
        if options["date_from"]:
            params["date_from"] = options["date_from"]
        if options["date_to"]:
            params["date_to"] = options["date_to"]
        if options["patient"]:
            params["patient"] = options["patient"]
        return params


def _create_private(path: Path) -> int:
    """Open ``path`` for writing, readable by its owner only: an export holds PHI."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    return fd
