"""Accounts without a sign-in for ACCOUNT_INACTIVE_DAYS are deactivated by `manage.py
deactivate_inactive_users`, and the administrators get the list by email (real SMTP)."""

import datetime

import pytest
import time_machine
from django.core.management import call_command

from accounts import services
from accounts.models import Role, User
from audit.models import AuditEvent
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 5, 13, 15, 30, tzinfo=datetime.UTC)


def days_ago(days: int, hours: int = 0) -> datetime.datetime:
    return NOW - datetime.timedelta(days=days, hours=hours)


@pytest.fixture
def people(admin_user):
    admin_user.last_login = days_ago(1)
    admin_user.save(update_fields=["last_login"])
    return {
        "stale": UserFactory(email="stale@clinic.test", last_login=days_ago(90, hours=1)),
        "recent": UserFactory(email="recent@clinic.test", last_login=days_ago(89)),
        "never_old": UserFactory(email="never@clinic.test", last_login=None, date_joined=days_ago(120)),
        "never_new": UserFactory(email="new@clinic.test", last_login=None, date_joined=days_ago(10)),
        "already_off": UserFactory(email="off@clinic.test", last_login=days_ago(400), is_active=False),
    }


def test_command_deactivates_accounts_idle_past_the_limit_and_emails_administrators(
    people, admin_user, smtp_server, settings, django_capture_on_commit_callbacks
):
    settings.ACCOUNT_INACTIVE_DAYS = 90
    second_admin = UserFactory(email="admin2@clinic.test", role=Role.ADMIN, last_login=days_ago(2))
    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        call_command("deactivate_inactive_users")
    active = dict(User.objects.values_list("email", "is_active"))
    assert active["stale@clinic.test"] is False and active["never@clinic.test"] is False
    assert active["recent@clinic.test"] is True and active["new@clinic.test"] is True
    assert active[admin_user.email] is True and active[second_admin.email] is True
    entries = AuditEvent.objects.filter(event="accounts.user.deactivated_inactive")
    assert sorted(entries.values_list("object_repr", flat=True)) == sorted(
        [str(people["stale"]), str(people["never_old"])]
    )
    assert len(smtp_server.envelopes) == 1
    assert sorted(smtp_server.envelopes[0].rcpt_tos) == sorted([admin_user.email, second_admin.email])
    body = smtp_server.bodies()[0]
    assert "stale@clinic.test" in body and "never@clinic.test" in body and "recent@clinic.test" not in body
    assert "2 accounts deactivated after 90 days" in smtp_server.messages[0]["Subject"]


def test_the_limit_follows_the_setting(people, settings):
    settings.ACCOUNT_INACTIVE_DAYS = 30
    with time_machine.travel(NOW, tick=False):
        deactivated = services.deactivate_inactive_users()
    assert {u.email for u in deactivated} == {"stale@clinic.test", "recent@clinic.test", "never@clinic.test"}


def test_nothing_to_do_sends_no_email(admin_user, smtp_server, django_capture_on_commit_callbacks):
    admin_user.last_login = days_ago(1)
    admin_user.save(update_fields=["last_login"])
    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        assert services.deactivate_inactive_users() == []
    assert smtp_server.envelopes == []


def test_deactivation_ends_the_users_api_sign_ins(people):
    from rest_framework_simplejwt.token_blacklist.models import OutstandingToken
    from rest_framework_simplejwt.tokens import RefreshToken

    RefreshToken.for_user(people["stale"])
    with time_machine.travel(NOW, tick=False):
        services.deactivate_inactive_users()
    assert not OutstandingToken.objects.filter(user=people["stale"], blacklistedtoken__isnull=True).exists()
