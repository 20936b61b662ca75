"""Rate limits: a client that waits Retry-After seconds is let through; bulk clients get their own write limits."""

import time
from datetime import timedelta

import django_ratelimit.core
import pytest
import time_machine
from django.core.exceptions import ImproperlyConfigured

from spectrum.settings import env_rates

pytestmark = pytest.mark.django_db

ME = "/api/v1/auth/me/"
TOKEN = "/api/v1/auth/token/"
LOGIN = "/accounts/login/"
# Several moments, so the windows' per-key jitter puts "now" at different places in the window.
MOMENTS = ["2026-03-02 14:00:00 +00:00", "2026-03-02 14:00:37 +00:00", "2026-03-03 09:13:59 +00:00"]


@pytest.fixture(autouse=True)
def _ratelimit_on_the_frozen_clock(monkeypatch):
    """conftest stands django-ratelimit's clock still; these tests move it with time-machine instead."""
    monkeypatch.setattr(django_ratelimit.core, "time", time)


def obeys_retry_after(clock, send, refused) -> None:
    """Wait one second less than told: still refused; wait what was told: let through."""
    retry_after = int(refused["Retry-After"])
    assert 1 <= retry_after <= 60
    clock.shift(timedelta(seconds=retry_after - 1))
    assert send().status_code == 429
    clock.shift(timedelta(seconds=1))
    assert send().status_code != 429


@pytest.mark.parametrize("moment", MOMENTS)
def test_an_api_client_that_waits_retry_after_is_let_through(settings, api_client_for, nurse_user, moment):
    settings.RATELIMIT_API_READ = "3/m"
    with time_machine.travel(moment, tick=False) as clock:
        client = api_client_for(nurse_user)  # a token issued at the frozen time
        assert [client.get(ME).status_code for _ in range(3)] == [200] * 3
        refused = client.get(ME)
        assert refused.status_code == 429
        assert refused.json()["detail"]
        obeys_retry_after(clock, lambda: client.get(ME), refused)


@pytest.mark.parametrize("moment", MOMENTS)
def test_a_browser_that_waits_retry_after_may_sign_in_again(client, settings, moment):
    settings.RATELIMIT_LOGIN = "2/m"

    def attempt():
        return client.post(LOGIN, {"username": "someone@clinic.test", "password": "wrong"})

    with time_machine.travel(moment, tick=False) as clock:
        assert [attempt().status_code for _ in range(2)] == [200, 200]
        refused = attempt()
        assert refused.status_code == 429
        assert f"wait {refused['Retry-After']} second" in refused.content.decode()
        obeys_retry_after(clock, attempt, refused)


def test_a_token_client_that_waits_retry_after_may_sign_in_again(api_client, settings):
    settings.RATELIMIT_LOGIN = "2/m"

    def attempt():
        return api_client.post(TOKEN, {"email": "someone@clinic.test", "password": "wrong"}, format="json")

    with time_machine.travel(MOMENTS[1], tick=False) as clock:
        assert [attempt().status_code for _ in range(2)] == [401, 401]
        refused = attempt()
        assert refused.status_code == 429
        obeys_retry_after(clock, attempt, refused)


def rename(client, user, name):
    return client.patch(f"/api/v1/users/{user.pk}/", {"full_name": name}, format="json").status_code


def test_the_api_write_limit_can_be_raised_for_a_role(settings, api_client_for, admin_user, staff_user):
    settings.RATELIMIT_API_WRITE = "1/m"
    settings.RATELIMIT_API_WRITE_BY_ROLE = {"admin": "3/m"}
    client = api_client_for(admin_user)
    assert [rename(client, staff_user, f"S{i}") for i in range(4)] == [200, 200, 200, 429]


def test_a_user_s_own_write_limit_wins_over_the_role_s(settings, api_client_for, admin_user, staff_user):
    settings.RATELIMIT_API_WRITE = "1/m"
    settings.RATELIMIT_API_WRITE_BY_ROLE = {"admin": "3/m"}
    settings.RATELIMIT_API_WRITE_BY_USER = {admin_user.email: "5/m"}
    client = api_client_for(admin_user)
    assert [rename(client, staff_user, f"S{i}") for i in range(6)] == [200] * 5 + [429]


def test_write_limits_are_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("RATELIMIT_API_WRITE_BY_ROLE", "admin=600/m, Importer@Clinic.org = 5000/h")
    assert env_rates("RATELIMIT_API_WRITE_BY_ROLE") == {"admin": "600/m", "importer@clinic.org": "5000/h"}
    monkeypatch.setenv("RATELIMIT_API_WRITE_BY_ROLE", "admin=lots")
    with pytest.raises(ImproperlyConfigured, match="RATELIMIT_API_WRITE_BY_ROLE"):
        env_rates("RATELIMIT_API_WRITE_BY_ROLE")
