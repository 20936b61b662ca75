import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.db import OperationalError

pytestmark = pytest.mark.django_db

PROJECT = Path(__file__).resolve().parents[2]


def production_env(**overrides: str) -> dict[str, str]:
    # Only the deployment's variables: nothing a test run sets for itself (e.g. DJANGO_ALLOW_ASYNC_UNSAFE).
    test_only = {"DATABASE_URL", "DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {k: v for k, v in os.environ.items() if k not in test_only}
    env.update(
        SPECTRUM_ENV="production",
        SECRET_KEY="x" * 20 + Fernet.generate_key().decode(),
        FIELD_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        SEARCH_HASH_KEY="search-hash-key-for-tests",
        AUDIT_CHAIN_KEY="audit-chain-key-for-tests",
        ALLOWED_HOSTS="spectrum.example.org",
        REDIS_URL="redis://127.0.0.1:6379/0",
        EMAIL_HOST="smtp.example.org",
        SPECTRUM_DEV_SECRETS_FILE="/nonexistent/never-used.json",
    )
    env.update(overrides)
    return {k: v for k, v in env.items() if v is not None}


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=PROJECT, env=env, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_is_clean_with_production_settings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env())
    assert result.returncode == 0, result.stderr + result.stdout
    assert "System check identified no issues" in result.stdout


@pytest.mark.parametrize(
    "missing",
    ["SECRET_KEY", "FIELD_ENCRYPTION_KEY", "SEARCH_HASH_KEY", "AUDIT_CHAIN_KEY", "ALLOWED_HOSTS", "REDIS_URL"],
)
def test_production_refuses_to_start_without(missing):
    env = production_env()
    del env[missing]
    result = manage("check", env=env)
    assert result.returncode != 0
    assert f"{missing} is not set" in result.stderr


def test_production_reads_secrets_from_files(tmp_path):
    secret_file = tmp_path / "secret_key"
    secret_file.write_text(Fernet.generate_key().decode() + "-file-secret")
    env = production_env(SECRET_KEY=None, SECRET_KEY_FILE=str(secret_file))
    env.pop("SECRET_KEY", None)
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stderr


def test_authenticated_pages_are_not_cached_and_carry_security_headers(client, staff_user):
    client.force_login(staff_user)
    response = client.get("/")
    assert "no-store" in response["Cache-Control"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response["X-Request-ID"]


def test_api_answers_are_not_cached(api_client_for, staff_user):
    response = api_client_for(staff_user).get("/api/v1/auth/me/")
    assert "no-store" in response["Cache-Control"]


def test_pages_have_no_inline_scripts(client, staff_user):
    client.force_login(staff_user)
    html = client.get("/").content.decode()
    for chunk in html.split("<script")[1:]:
        assert chunk.lstrip().startswith(("src=", 'src="', "defer src")) or " src=" in chunk.split(">")[0]
    assert " style=" not in html


def test_csrf_is_enforced_on_login(db):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    response = client.post("/accounts/login/", {"username": "a@b.test", "password": "x"})
    assert response.status_code == 403
    assert "This form has expired" in response.content.decode()


def test_health_ok(client, db):
    from operations import queue

    queue.record_heartbeat()  # beat ran just now
    response = client.get("/health/")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "cache": "ok",
        "broker": "ok",
        "beat": "ok",
        "workers": "ok",
        "queue": {"waiting": 0, "oldest_waiting_seconds": None, "beat_last_ran_seconds_ago": 0},
    }


def test_health_reports_database_failure_with_503(client, monkeypatch):
    def broken_cursor(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr("spectrum.views.connection.cursor", broken_cursor)
    response = client.get("/health/")
    assert response.status_code == 503
    assert response.json()["database"] == "error"
    assert response.json()["status"] == "error"


def test_error_pages_are_styled_and_reveal_nothing(client, staff_user, settings):
    settings.DEBUG = False
    client.force_login(staff_user)
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "We couldn't find that page" in html and "Traceback" not in html and "urlpatterns" not in html


def test_403_page_is_styled(client, staff_user):
    client.force_login(staff_user)
    response = client.get("/admin/accounts/user/")  # staff have no admin access
    assert response.status_code in (302, 403)


def test_500_page_reveals_nothing(client, staff_user, settings, monkeypatch):
    settings.DEBUG = False
    client.raise_request_exception = False
    client.force_login(staff_user)

    def explode(request):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr("spectrum.views.render", lambda *a, **k: explode(None))
    response = client.get("/")
    assert response.status_code == 500
    html = response.content.decode()
    assert "Something went wrong on our side" in html
    assert "secret internal detail" not in html


def test_api_schema_and_swagger_ui_work_offline(client, staff_user):
    assert client.get("/api/docs/").status_code == 302  # sign in first
    client.force_login(staff_user)
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/auth/token/" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()


def test_query_strings_are_stripped_from_request_logs():
    import logging

    from spectrum.logging import StripQueryStringFilter

    record = logging.LogRecord(
        "django.server", logging.INFO, "", 0, '"%s" %s', ("GET /patients/?search=smith HTTP/1.1", 200), None
    )
    StripQueryStringFilter().filter(record)
    assert "smith" not in record.getMessage()
    assert "/patients/?…" in record.getMessage()
