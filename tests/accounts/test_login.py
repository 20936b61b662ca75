import time

import pytest
from django.urls import reverse

from accounts.middleware import SESSION_KEY
from audit.models import AuditEvent
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"


def test_anonymous_visitor_is_sent_to_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == f"{LOGIN}?next=/"


def test_login_page_asks_for_email_and_password(client):
    response = client.get(LOGIN)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'type="email"' in html and 'type="password"' in html
    assert "Sign in" in html


def test_login_with_email_signs_in_and_is_audited(client, nurse_user, password):
    response = client.post(LOGIN, {"username": "NURSE@clinic.test", "password": password})
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard")
    assert client.get("/").status_code == 200
    event = AuditEvent.objects.get(event="accounts.user.logged_in")
    assert event.actor == nurse_user and event.actor_role == "nurse" and event.remote_addr == "127.0.0.1"


def test_wrong_password_says_so_and_is_audited(client, nurse_user):
    response = client.post(LOGIN, {"username": nurse_user.email, "password": "wrong"})
    assert response.status_code == 200
    assert "The email or password is not correct" in response.content.decode()
    assert AuditEvent.objects.filter(event="accounts.user.login_failed", object_pk=str(nurse_user.pk)).count() == 1


def test_inactive_user_cannot_sign_in(client, password):
    user = UserFactory(is_active=False)
    response = client.post(LOGIN, {"username": user.email, "password": password})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_logout_needs_post_and_ends_session(client, staff_user):
    client.force_login(staff_user)
    assert client.get("/accounts/logout/").status_code == 405
    response = client.post("/accounts/logout/", follow=True)
    assert "You have signed out." in response.content.decode()
    assert client.get("/").status_code == 302
    assert AuditEvent.objects.filter(event="accounts.user.logged_out", actor=staff_user).exists()


def test_session_ends_with_browser_close(settings):
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE is True


def test_inactivity_signs_out_and_says_why(client, staff_user, settings):
    settings.SESSION_IDLE_TIMEOUT = 60
    client.force_login(staff_user)
    assert client.get("/").status_code == 200
    session = client.session
    session[SESSION_KEY] = time.time() - 61
    session.save()
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == f"{LOGIN}?next=/"
    page = client.get(response["Location"])
    assert "signed out after 1 minute of inactivity" in page.content.decode()
    assert client.get("/").status_code == 302  # really signed out
    assert AuditEvent.objects.filter(event="accounts.session.timed_out", actor=staff_user).exists()


def test_activity_keeps_session_alive(client, staff_user, settings):
    settings.SESSION_IDLE_TIMEOUT = 60
    client.force_login(staff_user)
    client.get("/")
    session = client.session
    session[SESSION_KEY] = time.time() - 59
    session.save()
    assert client.get("/").status_code == 200
    assert time.time() - client.session[SESSION_KEY] < 5  # the request refreshed the activity time


def test_inactivity_during_htmx_request_redirects_whole_page(client, staff_user, settings):
    settings.SESSION_IDLE_TIMEOUT = 60
    client.force_login(staff_user)
    client.get("/")
    session = client.session
    session[SESSION_KEY] = time.time() - 120
    session.save()
    response = client.get("/", headers={"HX-Request": "true"})
    assert response["HX-Redirect"].startswith(LOGIN)


@pytest.mark.parametrize(
    ("new_password", "message"),
    [
        ("Short-1a", "This password is too short. It must contain at least 12 characters."),
        ("alllowercaseletters", "must mix at least 3 of these"),
        ("123456789012345", "This password is entirely numeric."),
        ("Password1234", "This password is too common."),
    ],
)
def test_password_change_explains_policy(client, staff_user, password, new_password, message):
    client.force_login(staff_user)
    response = client.post(
        "/accounts/password/",
        {"old_password": password, "new_password1": new_password, "new_password2": new_password},
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    staff_user.refresh_from_db()
    assert staff_user.check_password(password)


def test_password_change_succeeds_and_is_audited(client, staff_user, password):
    client.force_login(staff_user)
    response = client.post(
        "/accounts/password/",
        {"old_password": password, "new_password1": "New-Strong-Pass-77", "new_password2": "New-Strong-Pass-77"},
        follow=True,
    )
    assert "Your password has been changed." in response.content.decode()
    staff_user.refresh_from_db()
    assert staff_user.check_password("New-Strong-Pass-77")
    assert AuditEvent.objects.filter(event="accounts.user.password_changed", actor=staff_user).exists()


def test_admin_login_goes_through_our_login(client):
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0] == f"{LOGIN}?next=/admin/"
