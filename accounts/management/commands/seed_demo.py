import time

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
    help = (
        "Load demonstration data: one user per role and synthetic patients. Development only; running it "
        "again adds only what is missing."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--patients", type=int, default=200, help="make sure at least this many patients exist (default 200)"
        )

    def handle(self, *args, patients: int, **options) -> None:
        if settings.IS_PRODUCTION:
            raise CommandError("seed_demo refuses to run with SPECTRUM_ENV=production: it creates known passwords.")
        with transaction.atomic():
            for email, full_name, role in DEMO_USERS:
                user, created = User.objects.get_or_create(email=email, defaults={"full_name": full_name, "role": role})
                if created:
                    user.set_password(DEMO_PASSWORD)
                    user.save()
        self.load_patients(patients)
        self.load_schedule()
        self.stdout.write(f"Demo sign-ins (password for all: {DEMO_PASSWORD}):")
        for email, _, role in DEMO_USERS:
            self.stdout.write(f"  {role.label:<22} {email}")

    def load_patients(self, wanted: int) -> None:
        from patients import demo
        from patients.models import Patient

        missing = wanted - Patient.objects.count()
        if missing <= 0:
            return
        started = time.monotonic()

        def progress(done: int) -> None:
            if done % 50_000 == 0 or done == missing:
                rate = done / max(time.monotonic() - started, 0.001)
                self.stdout.write(f"  patients: {done:,}/{missing:,} ({rate:,.0f}/s)")

        demo.load(missing, progress=progress)
        self.stdout.write(f"Added {missing:,} synthetic patients.")

    def load_schedule(self) -> None:
        from scheduling import demo

        users = {user.role: user for user in User.objects.filter(email__in=[email for email, _, _ in DEMO_USERS])}
        made = demo.load(actor=users[Role.ADMIN], doctor=users[Role.DOCTOR], nurse=users[Role.NURSE])
        if made:
            self.stdout.write(f"Added a demo schedule of {made:,} appointments.")
        from groups import demo as group_demo

        enrolled = group_demo.load(actor=users[Role.ADMIN], doctor=users[Role.DOCTOR], nurse=users[Role.NURSE])
        if enrolled:
            self.stdout.write(f"Added the PSR AM and PM groups with {enrolled} enrolled patients.")
        from authorizations import demo as authorization_demo

        covered = authorization_demo.load(actor=users[Role.DOCTOR])
        if covered:
            self.stdout.write(f"Added {covered} insurance authorizations.")
