from datetime import timedelta

import pytest
import time_machine
from axes.models import AccessAttempt
from django.core.management import call_command

from audit.models import AuditEvent
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
TOKEN = "/api/v1/auth/token/"


def fail_login(client, email, times, address="10.0.0.1"):
    responses = []
    for _ in range(times):
        responses.append(client.post(LOGIN, {"username": email, "password": "wrong-password"}, REMOTE_ADDR=address))
    return responses


def test_five_failures_lock_the_account_from_that_address(client, nurse_user, password):
    responses = fail_login(client, nurse_user.email, 5)
    assert [r.status_code for r in responses[:4]] == [200] * 4
    locked = responses[4]
    assert locked.status_code == 423
    assert "temporarily locked" in locked.content.decode()
    # Even the right password is refused while locked.
    response = client.post(LOGIN, {"username": nurse_user.email, "password": password}, REMOTE_ADDR="10.0.0.1")
    assert response.status_code == 423
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(event="accounts.user.locked_out", object_pk=str(nurse_user.pk)).exists()


def test_lock_is_per_account_and_address(client, nurse_user, staff_user, password):
    fail_login(client, nurse_user.email, 5)
    # Same account from another address: not locked.
    response = client.post(LOGIN, {"username": nurse_user.email, "password": password}, REMOTE_ADDR="10.0.0.2")
    assert response.status_code == 302
    # Another account from the locked address: not locked.
    other = client.__class__()
    response = other.post(LOGIN, {"username": staff_user.email, "password": password}, REMOTE_ADDR="10.0.0.1")
    assert response.status_code == 302


def test_twenty_failures_from_one_address_lock_the_address(client, settings, password):
    settings.RATELIMIT_ENABLE = False  # the per-address rate limit (10/min) would answer first
    users = [UserFactory() for _ in range(5)]
    for user in users[:4]:
        fail_login(client, user.email, 4, address="10.9.9.9")  # 16 failures, no account locked
    fail_login(client, "nobody@clinic.test", 4, address="10.9.9.9")  # 20
    response = client.post(LOGIN, {"username": users[4].email, "password": password}, REMOTE_ADDR="10.9.9.9")
    assert response.status_code == 423
    elsewhere = client.post(LOGIN, {"username": users[4].email, "password": password}, REMOTE_ADDR="10.9.9.8")
    assert elsewhere.status_code == 302


def test_locked_api_client_gets_423_json(api_client, nurse_user, password):
    statuses = []
    for _ in range(5):
        response = api_client.post(TOKEN, {"email": nurse_user.email, "password": "nope"}, format="json")
        statuses.append(response.status_code)
    assert statuses == [401, 401, 401, 401, 423]
    response = api_client.post(TOKEN, {"email": nurse_user.email, "password": password}, format="json")
    assert response.status_code == 423
    assert "temporarily locked" in response.json()["detail"]


def test_api_and_login_page_share_the_lockout(client, api_client, nurse_user, password):
    fail_login(client, nurse_user.email, 3, address="127.0.0.1")
    for _ in range(2):
        api_client.post(TOKEN, {"email": nurse_user.email, "password": "nope"}, format="json")
    response = api_client.post(TOKEN, {"email": nurse_user.email, "password": password}, format="json")
    assert response.status_code == 423


def test_admin_can_unlock_with_axes_reset(client, nurse_user, password):
    fail_login(client, nurse_user.email, 5)
    assert AccessAttempt.objects.exists()
    call_command("axes_reset")
    response = client.post(LOGIN, {"username": nurse_user.email, "password": password}, REMOTE_ADDR="10.0.0.1")
    assert response.status_code == 302


def test_admin_can_see_and_delete_attempts_in_admin(client, admin_user, nurse_user):
    fail_login(client.__class__(), nurse_user.email, 5)
    client.force_login(admin_user)
    response = client.get("/admin/axes/accessattempt/")
    assert response.status_code == 200
    assert nurse_user.email in response.content.decode()


def test_proxy_address_is_read_from_forwarded_header(client, settings, nurse_user, password):
    """Behind one proxy, two users' failures from different clients never share a lock."""
    settings.TRUSTED_PROXY_COUNT = 1
    for _ in range(5):
        client.post(
            LOGIN,
            {"username": nurse_user.email, "password": "bad"},
            REMOTE_ADDR="192.0.2.1",
            HTTP_X_FORWARDED_FOR="203.0.113.5",
        )
    response = client.post(
        LOGIN,
        {"username": nurse_user.email, "password": password},
        REMOTE_ADDR="192.0.2.1",
        HTTP_X_FORWARDED_FOR="203.0.113.6",
    )
    assert response.status_code == 302
    assert AccessAttempt.objects.get().ip_address == "203.0.113.5"


# --- A success resets only the account that signed in ---------------------------------------------------


def test_signing_in_as_oneself_leaves_another_account_s_lock_at_that_address(client, nurse_user, staff_user, password):
    """The attack: lock B, sign in as A from the same address, guess B again. B must stay locked."""
    fail_login(client, nurse_user.email, 5)
    signed_in = client.__class__().post(
        LOGIN, {"username": staff_user.email, "password": password}, REMOTE_ADDR="10.0.0.1"
    )
    assert signed_in.status_code == 302

    response = client.post(LOGIN, {"username": nurse_user.email, "password": password}, REMOTE_ADDR="10.0.0.1")
    assert response.status_code == 423
    assert AccessAttempt.objects.filter(username=nurse_user.email, ip_address="10.0.0.1").exists()


def test_signing_in_at_the_token_endpoint_leaves_another_account_s_lock_at_that_address(
    api_client, nurse_user, staff_user, password
):
    for _ in range(5):
        api_client.post(TOKEN, {"email": nurse_user.email, "password": "nope"}, format="json")
    signed_in = api_client.post(TOKEN, {"email": staff_user.email, "password": password}, format="json")
    assert signed_in.status_code == 200

    response = api_client.post(TOKEN, {"email": nurse_user.email, "password": password}, format="json")
    assert response.status_code == 423
    assert AccessAttempt.objects.filter(username=nurse_user.email).exists()


def test_four_guesses_between_own_sign_ins_still_lock_the_other_account(
    client, settings, nurse_user, staff_user, password
):
    """Guessing four at a time and signing in as oneself in between no longer resets the count."""
    settings.RATELIMIT_ENABLE = False  # the per-address rate limit (10/min) would answer first
    for _ in range(2):
        fail_login(client, nurse_user.email, 4)
        client.__class__().post(LOGIN, {"username": staff_user.email, "password": password}, REMOTE_ADDR="10.0.0.1")
    response = client.post(LOGIN, {"username": nurse_user.email, "password": password}, REMOTE_ADDR="10.0.0.1")
    assert response.status_code == 423


@pytest.mark.parametrize("endpoint", ["page", "api"])
def test_a_success_forgets_the_account_s_own_failures(client, api_client, nurse_user, password, endpoint):
    fail_login(client, nurse_user.email, 4)
    if endpoint == "page":
        response = client.post(LOGIN, {"username": nurse_user.email, "password": password}, REMOTE_ADDR="10.0.0.1")
        assert response.status_code == 302
    else:
        response = api_client.post(
            TOKEN, {"email": nurse_user.email, "password": password}, format="json", REMOTE_ADDR="10.0.0.1"
        )
        assert response.status_code == 200
    assert not AccessAttempt.objects.filter(username=nurse_user.email).exists()
    # Four more typos are allowed again before the fifth locks.
    assert [r.status_code for r in fail_login(client.__class__(), nurse_user.email, 4)] == [200] * 4


def test_an_address_lock_is_cleared_by_time_not_by_a_success(client, settings, password):
    settings.RATELIMIT_ENABLE = False
    users = [UserFactory() for _ in range(6)]
    with time_machine.travel("2026-03-02 15:00 +00:00", tick=False) as clock:
        for user in users[:5]:
            fail_login(client, user.email, 4, address="10.9.9.9")  # 20 failures, no account locked
        refused = client.post(LOGIN, {"username": users[5].email, "password": password}, REMOTE_ADDR="10.9.9.9")
        assert refused.status_code == 423
        failed = AccessAttempt.objects.filter(ip_address="10.9.9.9", username__in=[u.email for u in users[:5]])
        assert failed.count() == 5

        clock.shift(settings.AXES_COOLOFF_TIME + timedelta(seconds=1))
        response = client.post(LOGIN, {"username": users[5].email, "password": password}, REMOTE_ADDR="10.9.9.9")
        assert response.status_code == 302
