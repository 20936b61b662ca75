"""Outages: without the database, 503 (JSON for the API, a styled page otherwise); without Redis, degraded service.

Outages are simulated by pointing the settings at a closed port (127.0.0.1:1), never by stopping a service.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import OperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from rest_framework.test import APIClient

from accounts.models import User
from audit.models import AuditEvent

CLOSED_PORT = "127.0.0.1:1"
BASE_DIR = Path(__file__).resolve().parents[2]
LOGIN = "/accounts/login/"
TOKEN = "/api/v1/auth/token/"
ME = "/api/v1/auth/me/"

# --- The database is unreachable ------------------------------------------------------------------------

# Run in a fresh process whose DATABASE_URL names a closed port: the test database stays untouched.
DATABASE_DOWN_SCRIPT = """
import json, django
django.setup()
from django.conf import settings
from django.test import Client
from rest_framework_simplejwt.tokens import AccessToken

settings.DEBUG = False  # the error handlers run, not the debug page
client = Client(raise_request_exception=False)
results = {}

def keep(name, response):
    results[name] = {
        "status": response.status_code,
        "content_type": response["Content-Type"],
        "retry_after": response.get("Retry-After"),
        "body": response.content.decode(),
    }

keep("health", client.get("/health/"))
keep("login", client.post("/accounts/login/", {"username": "nurse@clinic.test", "password": "x"}))
keep("token", client.post("/api/v1/auth/token/", {"email": "nurse@clinic.test", "password": "x"},
                          content_type="application/json"))
access = AccessToken()
access["user_id"] = "1"
keep("api_read", client.get("/api/v1/patients/", HTTP_AUTHORIZATION=f"Bearer {access}"))
client.cookies["sessionid"] = "a" * 32
keep("page", client.get("/patients/"))
print(json.dumps(results))
"""


@pytest.fixture(scope="module")
def database_down(tmp_path_factory) -> dict:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "spectrum.settings",
        "DATABASE_URL": f"postgres://postgres@{CLOSED_PORT}/spectrum",
        "SPECTRUM_DEV_SECRETS_FILE": str(tmp_path_factory.mktemp("secrets") / "dev-secrets.json"),
        "LOG_LEVEL": "CRITICAL",
    }
    env.pop("REDIS_URL", None)
    done = subprocess.run(
        [sys.executable, "-c", DATABASE_DOWN_SCRIPT], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_without_the_database_health_names_it_with_503(database_down):
    health = database_down["health"]
    assert health["status"] == 503
    body = json.loads(health["body"])
    assert (body["status"], body["database"], body["cache"]) == ("error", "error", "ok")
    assert body["beat"] == "error"  # unknown without the database


@pytest.mark.parametrize("request_name", ["login", "page"])
def test_without_the_database_pages_get_the_styled_503(database_down, request_name):
    response = database_down[request_name]
    assert response["status"] == 503
    assert response["content_type"].startswith("text/html")
    assert response["retry_after"] == "30"
    assert "Spectrum is temporarily unavailable" in response["body"]
    assert "Traceback" not in response["body"] and "OperationalError" not in response["body"]


@pytest.mark.parametrize("request_name", ["token", "api_read"])
def test_without_the_database_api_clients_get_json_503(database_down, request_name):
    response = database_down[request_name]
    assert response["status"] == 503
    assert response["content_type"] == "application/json"
    assert response["retry_after"] == "30"
    assert json.loads(response["body"]) == {"detail": "Spectrum is temporarily unavailable. Try again in a minute."}


# --- Redis is unreachable: Spectrum runs degraded -----------------------------------------------------


@pytest.fixture
def redis_down(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://{CLOSED_PORT}/0",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }


@pytest.mark.django_db
def test_without_redis_health_says_degraded_and_stays_in_service(client, redis_down):
    response = client.get("/health/")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["database"], body["cache"]) == ("degraded", "ok", "error")


@pytest.mark.django_db
def test_without_redis_staff_sign_in_and_work_on_pages(client, redis_down, nurse_user, password):
    response = client.post(LOGIN, {"username": nurse_user.email, "password": password})
    assert response.status_code == 302
    assert client.get("/patients/").status_code == 200
    assert AuditEvent.objects.filter(actor=nurse_user).exists()


@pytest.mark.django_db
def test_without_redis_api_clients_sign_in_read_and_write(redis_down, admin_user, password):
    client = APIClient()
    tokens = client.post(TOKEN, {"email": admin_user.email, "password": password}, format="json")
    assert tokens.status_code == 200
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens.json()['access']}")
    assert client.get(ME).json()["email"] == admin_user.email

    created = client.post(
        "/api/v1/users/",
        {"email": "new@clinic.test", "full_name": "New Nurse", "role": "nurse"},
        format="json",
    )
    assert created.status_code == 201
    assert User.objects.filter(email="new@clinic.test", role="nurse").exists()


@pytest.mark.django_db
def test_without_redis_failed_sign_ins_still_lock_the_account(client, redis_down, nurse_user, password):
    """Rate limits let requests through while Redis is down; the lockout is in the database."""
    for _ in range(5):
        client.post(LOGIN, {"username": nurse_user.email, "password": "wrong"})
    assert client.post(LOGIN, {"username": nurse_user.email, "password": password}).status_code == 423


# --- Any request that meets an unreachable dependency --------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("error", [OperationalError("connection refused"), RedisConnectionError("refused")])
def test_an_outage_met_by_a_page_is_the_styled_503(client, monkeypatch, staff_user, error):
    client.raise_request_exception = False
    client.force_login(staff_user)

    def unreachable(*args, **kwargs):
        raise error

    monkeypatch.setattr("scheduling.selectors.dashboard", unreachable)
    response = client.get("/")
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert "Spectrum is temporarily unavailable" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("error", [OperationalError("connection refused"), RedisConnectionError("refused")])
def test_an_outage_met_by_the_api_is_json_503(api_client_for, monkeypatch, nurse_user, error):
    client = api_client_for(nurse_user)
    client.raise_request_exception = False

    def unreachable(*args, **kwargs):
        raise error

    monkeypatch.setattr("accounts.api.serializers.MeSerializer.to_representation", unreachable)
    response = client.get(ME)
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert response.json() == {"detail": "Spectrum is temporarily unavailable. Try again in a minute."}


@pytest.mark.django_db
def test_other_api_errors_are_json_500_revealing_nothing(api_client_for, monkeypatch, nurse_user):
    client = api_client_for(nurse_user)
    client.raise_request_exception = False

    def broken(*args, **kwargs):
        raise RuntimeError("secret detail")

    monkeypatch.setattr("accounts.api.serializers.MeSerializer.to_representation", broken)
    response = client.get(ME)
    assert response.status_code == 500
    assert "secret detail" not in response.content.decode()
    assert response.json()["detail"]
