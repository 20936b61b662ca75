"""Unlocks: the user list shows who is locked out and why; Unlock clears that user's lockout only, with a
reason recorded in the audit trail (page, Django admin, API)."""

import pytest
from axes.models import AccessAttempt
from django.test import Client

from accounts.models import Role
from audit.models import AuditEvent

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"


def lock_out(email: str, address: str = "10.0.0.1") -> None:
    client = Client()
    for _ in range(5):
        client.post(LOGIN, {"username": email, "password": "wrong-password"}, REMOTE_ADDR=address)


def can_sign_in(email: str, password: str, address: str = "10.0.0.1") -> bool:
    response = Client().post(LOGIN, {"username": email, "password": password}, REMOTE_ADDR=address)
    return response.status_code == 302


@pytest.fixture
def two_locked(nurse_user, staff_user, settings):
    settings.RATELIMIT_ENABLE = False
    lock_out(nurse_user.email)
    lock_out(staff_user.email)
    return nurse_user, staff_user


def test_user_list_shows_who_is_locked_out_and_why(client, admin_user, two_locked, doctor_user):
    client.force_login(admin_user)
    body = client.get("/accounts/users/").content.decode()
    assert body.count('data-testid="lockout-reason"') == 2
    assert "Locked out: 5 failed sign-ins from 10.0.0.1" in body
    assert "2 locked out" in body


def test_unlock_on_the_page_clears_only_that_users_lockout(client, admin_user, two_locked, password):
    nurse, staff = two_locked
    client.force_login(admin_user)
    response = client.post(f"/accounts/users/{nurse.pk}/unlock/", {"reason": "Called the help desk, ID checked"})
    assert response.status_code == 302
    assert not AccessAttempt.objects.filter(username=nurse.email).exists()
    assert AccessAttempt.objects.filter(username=staff.email).exists()
    assert can_sign_in(nurse.email, password)
    assert not can_sign_in(staff.email, password)
    entry = AuditEvent.objects.get(event="accounts.user.unlocked")
    assert entry.actor == admin_user and entry.object_pk == str(nurse.pk)
    assert entry.additional_data == {"reason": "Called the help desk, ID checked", "failures_cleared": 5}


def test_unlock_without_a_reason_is_refused_with_a_message(client, admin_user, two_locked):
    nurse, _ = two_locked
    client.force_login(admin_user)
    response = client.post(f"/accounts/users/{nurse.pk}/unlock/", {"reason": "  "}, follow=True)
    assert "Not unlocked" in response.content.decode()
    assert AccessAttempt.objects.filter(username=nurse.email).exists()
    assert not AuditEvent.objects.filter(event="accounts.user.unlocked").exists()


@pytest.mark.parametrize("role", [Role.DOCTOR, Role.NURSE, Role.STAFF, Role.READ_ONLY])
def test_only_administrators_unlock(client, user_for_role, role, two_locked):
    nurse, _ = two_locked
    client.force_login(user_for_role(role))
    assert client.post(f"/accounts/users/{nurse.pk}/unlock/", {"reason": "x"}).status_code == 403
    assert AccessAttempt.objects.filter(username=nurse.email).exists()


def test_unlock_unknown_user_is_404_and_get_is_405(client, admin_user):
    client.force_login(admin_user)
    assert client.post("/accounts/users/999999/unlock/", {"reason": "x"}).status_code == 404
    assert client.get(f"/accounts/users/{admin_user.pk}/unlock/").status_code == 405


def test_admin_user_list_shows_lockouts_and_unlocks_with_a_reason(client, admin_user, two_locked):
    nurse, staff = two_locked
    client.force_login(admin_user)
    changelist = client.get("/admin/accounts/user/").content.decode()
    assert "5 failed sign-ins from 10.0.0.1" in changelist
    assert f"/admin/accounts/user/{nurse.pk}/unlock/" in changelist
    form = client.get(f"/admin/accounts/user/{nurse.pk}/unlock/")
    assert form.status_code == 200 and "is locked out" in form.content.decode()
    assert client.post(f"/admin/accounts/user/{nurse.pk}/unlock/", {"reason": ""}).status_code == 400
    response = client.post(f"/admin/accounts/user/{nurse.pk}/unlock/", {"reason": "verified in person"})
    assert response.status_code == 302
    assert not AccessAttempt.objects.filter(username=nurse.email).exists()
    assert AccessAttempt.objects.filter(username=staff.email).exists()
    assert AuditEvent.objects.get(event="accounts.user.unlocked").additional_data["reason"] == "verified in person"


def test_api_unlock_with_a_reason(api_client_for, admin_user, two_locked):
    nurse, staff = two_locked
    client = api_client_for(admin_user)
    missing = client.post(f"/api/v1/users/{nurse.pk}/unlock/", {}, format="json")
    assert missing.status_code == 400 and "reason" in missing.json()
    response = client.post(f"/api/v1/users/{nurse.pk}/unlock/", {"reason": "ticket 4411"}, format="json")
    assert response.status_code == 200 and response.json() == {"cleared": 1}
    assert not AccessAttempt.objects.filter(username=nurse.email).exists()
    assert AccessAttempt.objects.filter(username=staff.email).exists()
    entry = AuditEvent.objects.get(event="accounts.user.unlocked")
    assert entry.actor == admin_user and entry.additional_data["reason"] == "ticket 4411"


def test_api_unlock_is_for_administrators(api_client_for, nurse_user, two_locked):
    nurse, _ = two_locked
    response = api_client_for(nurse_user).post(f"/api/v1/users/{nurse.pk}/unlock/", {"reason": "x"}, format="json")
    assert response.status_code == 403
    assert AccessAttempt.objects.filter(username=nurse.email).exists()
