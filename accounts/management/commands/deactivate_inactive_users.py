"""Deactivate accounts without a sign-in for ACCOUNT_INACTIVE_DAYS and email the administrators the list.

Celery beat runs it daily as ``accounts.tasks.deactivate_inactive_users``; this command is the same by hand.
"""

from django.core.management.base import BaseCommand

from accounts import services


class Command(BaseCommand):
    help = "Deactivate accounts with no sign-in for ACCOUNT_INACTIVE_DAYS days and email the administrators."

    def handle(self, *args, **options) -> None:
        users = services.deactivate_inactive_users()
        self.stdout.write(f"Deactivated {len(users)} inactive account{'s' if len(users) != 1 else ''}.")
        for user in users:
            self.stdout.write(f"  {user.email}")
