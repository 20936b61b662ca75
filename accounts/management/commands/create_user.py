import getpass
import os

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts import services
from accounts.models import Role


class Command(BaseCommand):
    help = (
        "Create a clinic user. The password comes from SPECTRUM_USER_PASSWORD or a prompt, "
        "never from the command line (it would land in shell history and process lists)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--email", required=True)
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--full-name", default="")

    def handle(self, *args, email: str, role: str, full_name: str, **options) -> None:
        password = os.environ.get("SPECTRUM_USER_PASSWORD")
        if not password:
            if not self.stdin_is_interactive():
                raise CommandError("Set SPECTRUM_USER_PASSWORD or run the command in a terminal to be asked.")
            password = getpass.getpass("Password: ")
            if password != getpass.getpass("Password (again): "):
                raise CommandError("The two passwords differ.")
        try:
            user = services.create_user(email=email, password=password, role=role, full_name=full_name)
        except ValidationError as exc:
            problems = "; ".join(f"{field}: {' '.join(messages)}" for field, messages in exc.message_dict.items())
            raise CommandError(f"User not created. {problems}") from None
        self.stdout.write(self.style.SUCCESS(f"Created {user.email} ({user.get_role_display()})."))

    @staticmethod
    def stdin_is_interactive() -> bool:
        import sys

        return sys.stdin.isatty()
