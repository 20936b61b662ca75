from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.models import Role, User

DEMO_PASSWORD = "Spectrum-demo-2026!"
DEMO_USERS = [
    ("admin@demo.spectrum", "Alex Admin", Role.ADMIN),
    ("doctor@demo.spectrum", "Dr. Dana Reyes", Role.DOCTOR),
    ("nurse@demo.spectrum", "Nina Patel, RN", Role.NURSE),
    ("staff@demo.spectrum", "Sam Front-Desk", Role.STAFF),
    ("auditor@demo.spectrum", "Rory Auditor", Role.READ_ONLY),
]


class Command(BaseCommand):
    help = "Load demonstration users (one per role). Development only; safe to run again."

    def handle(self, *args, **options) -> None:
        if settings.IS_PRODUCTION:
            raise CommandError("seed_demo refuses to run with SPECTRUM_ENV=production: it creates known passwords.")
        with transaction.atomic():
            for email, full_name, role in DEMO_USERS:
                user, created = User.objects.get_or_create(email=email, defaults={"full_name": full_name, "role": role})
                if created:
                    user.set_password(DEMO_PASSWORD)
                    user.save()
        self.stdout.write(f"Demo sign-ins (password for all: {DEMO_PASSWORD}):")
        for email, _, role in DEMO_USERS:
            self.stdout.write(f"  {role.label:<22} {email}")
