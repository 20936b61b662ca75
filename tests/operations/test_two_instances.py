"""Two application instances behind a load balancer share lockouts and rate limits.

Starts two gunicorn servers (127.0.0.1 only, free ports) on one PostgreSQL database (spectrum_twoinst,
created, migrated and dropped here) and one Redis database, then shows that a lockout and a rate limit
reached through one instance hold on the other. Runs in the PostgreSQL pass; needs Redis (skipped when
unreachable, except under CI=true, where it fails).
"""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import redis
from django.conf import settings

from operations import postgres

DATABASE = "spectrum_twoinst"
PASSWORD = "Two-Instances-42!"
LOCKED, LIMITED = "locked@twoinst.test", "limited@twoinst.test"
STARTUP_SECONDS = 60
METRICS_TOKEN = "two-instances-scrape-token"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def shared_database(postgres_server):
    postgres.drop_database(postgres_server, DATABASE)
    postgres.create_database(postgres_server, DATABASE)
    yield postgres.database_url(postgres_server, DATABASE)
    postgres.drop_database(postgres_server, DATABASE)


@pytest.fixture
def shared_cache(redis_url):
    client = redis.Redis.from_url(redis_url, socket_timeout=5)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


def instance_env(database_url: str, redis_url: str, metrics_dir: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_FILE") and k != "PROMETHEUS_MULTIPROC_DIR"}
    env.update(
        SPECTRUM_ENV="development",
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        SECRET_KEY=settings.SECRET_KEY,
        FIELD_ENCRYPTION_KEY=",".join(settings.FIELD_ENCRYPTION_KEY),
        SEARCH_HASH_KEY=settings.SEARCH_HASH_KEY,
        WEB_CONCURRENCY="1",
        GUNICORN_THREADS="2",
        LOG_LEVEL="WARNING",
        METRICS_TOKEN=METRICS_TOKEN,
    )
    if metrics_dir is not None:  # each server its own (gunicorn.conf.py would share one per PORT)
        env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    return env


def manage(env: dict[str, str], *args: str) -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]


def fetch(port: int, path: str, data: dict | None = None, headers: dict | None = None) -> tuple[int, str]:
    body = json.dumps(data).encode() if data is not None else None
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", data=body, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, ""


def request(port: int, path: str, data: dict | None = None) -> int:
    return fetch(port, path, data)[0]


def token(port: int, email: str, password: str) -> int:
    return request(port, "/api/v1/auth/token/", {"email": email, "password": password})


@pytest.fixture
def instances(shared_database, shared_cache, redis_url, tmp_path):
    """Two running servers, A and B: their ports."""
    base_env = instance_env(shared_database, redis_url)
    manage(base_env, "migrate", "--noinput")
    manage(
        base_env, "shell", "-c",
        "from accounts.models import User\n"
        f"for email in ({LOCKED!r}, {LIMITED!r}):\n"
        f"    User.objects.create_user(email, {PASSWORD!r}, role='staff')",
    )  # fmt: skip
    servers, ports = [], []
    try:
        for name in ("a", "b"):
            port = free_port()
            log = (tmp_path / f"{name}.log").open("w")
            process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}",
                 "spectrum.wsgi:application"],
                cwd=settings.BASE_DIR, env=instance_env(shared_database, redis_url, tmp_path / f"metrics-{name}"),
                stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
            servers.append((process, log))
            ports.append(port)
        for port, (process, _) in zip(ports, servers, strict=True):
            deadline = time.monotonic() + STARTUP_SECONDS
            while not (_listening(port) and request(port, "/health/") == 200):
                assert process.poll() is None, (tmp_path / "a.log").read_text() + (tmp_path / "b.log").read_text()
                assert time.monotonic() < deadline, "the server did not start in time"
                time.sleep(0.2)
        yield ports
    finally:
        for process, _log in servers:
            process.terminate()
        for process, log in servers:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
            log.close()


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def test_a_lockout_and_a_rate_limit_reached_through_one_instance_hold_on_the_other(instances, shared_cache):
    a, b = instances

    # Lockout: five failed sign-ins for one account through A; B refuses even the right password.
    failures = [token(a, LOCKED, "not-the-password") for _ in range(settings.AXES_FAILURE_LIMIT)]
    assert failures[:-1] == [401] * (settings.AXES_FAILURE_LIMIT - 1) and failures[-1] in (401, 423)
    assert token(b, LOCKED, PASSWORD) == 423
    assert token(b, LIMITED, PASSWORD) == 200  # only that account is locked

    # Rate limit: ten token requests from one address through A; the eleventh, through B, is refused. The
    # limit counts requests before they are read, so these leave out the password (400, no slow hashing).
    # It counts per minute window: should the window turn between the tenth and the eleventh request, the
    # count starts again, so try once more.
    for _attempt in range(2):
        shared_cache.flushdb()  # the lockout phase's requests counted too
        assert [request(a, "/api/v1/auth/token/", {"email": LIMITED}) for _ in range(10)] == [400] * 10
        eleventh = token(b, LIMITED, PASSWORD)
        if eleventh == 429:
            break
    assert eleventh == 429
    assert request(a, "/api/v1/auth/token/", {"email": LIMITED}) == 429  # and A agrees

    # Each server's /metrics adds up its workers (gunicorn.conf.py's multiprocess directory).
    status, text = fetch(a, "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert status == 200 and 'view="api:token-obtain"' in text and "spectrum_lockouts" in text
