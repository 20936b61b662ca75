"""The idle limit is the setting to the second; asking how long is left is not activity; keep-alive is."""

import pytest

pytestmark = pytest.mark.django_db

STATUS = "/accounts/session/"
KEEP_ALIVE = "/accounts/session/keep-alive/"


@pytest.fixture
def clock(frozen_clinic_clock):
    """The clinic's test clock, stopped: the tests move it by exact seconds."""
    return frozen_clinic_clock


def test_every_request_is_activity_so_the_limit_is_exact(client, staff_user, settings, clock):
    settings.SESSION_IDLE_TIMEOUT = 900
    client.force_login(staff_user)
    assert client.get("/").status_code == 200
    clock.shift(29)  # used to be ignored: activity was written only every 30 s
    assert client.get("/").status_code == 200
    clock.shift(900)
    assert client.get("/").status_code == 200  # 900 s after the last request: still in
    clock.shift(900.5)
    assert client.get("/").status_code == 302  # just over the setting: out


def test_status_reports_time_left_and_is_not_activity(client, staff_user, settings, clock):
    settings.SESSION_IDLE_TIMEOUT = 300
    client.force_login(staff_user)
    client.get("/")
    clock.shift(200)
    status = client.get(STATUS)
    assert status.status_code == 200
    assert status.json()["remaining"] == 100 and status.json()["csrf_token"]
    clock.shift(101)
    ended = client.get(STATUS)
    assert ended.status_code == 401 and ended.json()["remaining"] == 0
    assert client.get("/").status_code == 302


def test_keep_alive_is_activity(client, staff_user, settings, clock):
    settings.SESSION_IDLE_TIMEOUT = 300
    client.force_login(staff_user)
    client.get("/")
    clock.shift(290)
    assert client.post(KEEP_ALIVE).json()["remaining"] == 300
    clock.shift(290)
    assert client.get(STATUS).json()["remaining"] == 10
    assert client.get("/").status_code == 200


def test_keep_alive_needs_post_and_a_session(client, staff_user):
    assert client.post(KEEP_ALIVE).status_code == 302  # anonymous: to sign-in
    client.force_login(staff_user)
    assert client.get(KEEP_ALIVE).status_code == 405


def test_pages_carry_the_warning_lead_and_the_dialogs(client, staff_user, settings):
    settings.SESSION_IDLE_TIMEOUT = 900
    settings.SESSION_TIMEOUT_WARNING = 120
    client.force_login(staff_user)
    body = client.get("/").content.decode()
    assert 'data-idle-timeout="900"' in body and 'data-idle-warning="120"' in body
    assert "Stay signed in" in body and "has not been saved" in body
    assert "/static/js/session_timeout.js" in body
    settings.SESSION_IDLE_TIMEOUT = 60
    assert 'data-idle-warning="30"' in client.get("/").content.decode()  # at most half the timeout
