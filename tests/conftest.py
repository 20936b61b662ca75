"""Personas (one user per role, plus anonymous), test-only settings and the test clock."""

import datetime
import email
import os
import socket
import zoneinfo

import pytest
import time_machine
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.models import Role
from tests.factories import PASSWORD, UserFactory

ROLES = [Role.ADMIN, Role.DOCTOR, Role.NURSE, Role.STAFF, Role.READ_ONLY]


# Tests that depend on today or the time of day run on a fixed clinic clock: a Wednesday 11:30 in the
# clinic's time zone, unless SPECTRUM_TEST_NOW (an ISO date-time on the clinic's wall clock, e.g.
# 2026-03-08T08:00) moves the whole process's clock there. CI re-runs scheduling and authorizations at
# other hours and on DST mornings this way: the tests must pass at any time of day.
DEFAULT_TEST_NOW = "2026-05-13T11:30"


def clinic_test_now() -> datetime.datetime:
    """The aware date-time the clinic's clock shows in tests (SPECTRUM_TEST_NOW or the default)."""
    from django.conf import settings

    moment = datetime.datetime.fromisoformat(os.environ.get("SPECTRUM_TEST_NOW") or DEFAULT_TEST_NOW)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zoneinfo.ZoneInfo(settings.TIME_ZONE))
    return moment


def pytest_configure(config):
    if os.environ.get("SPECTRUM_TEST_NOW"):
        # Ticking: the whole process (tests that do not freeze the clock included) lives at that moment.
        config._spectrum_clock = time_machine.travel(clinic_test_now(), tick=True)
        config._spectrum_clock.start()


def pytest_unconfigure(config):
    clock = getattr(config, "_spectrum_clock", None)
    if clock is not None:
        clock.stop()


@pytest.fixture
def frozen_clinic_clock():
    """Stop the clock at ``clinic_test_now()`` for one test; areas that depend on today use it autouse."""
    with time_machine.travel(clinic_test_now(), tick=False) as traveller:
        yield traveller


@pytest.fixture
def ticking_clinic_clock():
    """Start the clock at ``clinic_test_now()`` and let it run: for areas whose data is dated from today
    but which also wait on real time (servers starting, threads, subprocesses)."""
    with time_machine.travel(clinic_test_now(), tick=True) as traveller:
        yield traveller


def pytest_collection_modifyitems(config, items):
    """``@pytest.mark.postgres_only`` tests are skipped on SQLite (they run in CI's PostgreSQL pass)."""
    from django.db import connection

    if connection.vendor == "postgresql":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL=postgres://…)")
    for item in items:
        if item.get_closest_marker("postgres_only"):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """On PostgreSQL the test sessions commit without waiting for the disk (``synchronous_commit=off``).

    Transactional tests commit and flush every table many times; waiting for each commit to reach the disk
    was a large share of the PostgreSQL pass. A crash could lose the last commits of a throwaway test
    database, nothing more; production settings are untouched.
    """
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.postgresql":
        options = database.setdefault("OPTIONS", {})
        options["options"] = f"{options.get('options', '')} -c synchronous_commit=off".strip()


@pytest.fixture(autouse=True, scope="session")
def _private_task_queue(tmp_path_factory):
    """The suite never shares a broker with a developer's `make run` (the .queue folder) or with Redis: its
    own empty folder broker. Tests that run real workers switch to Redis (tests/operations/test_task_queue.py)."""
    from spectrum.celery import app

    folder = tmp_path_factory.mktemp("queue")
    for name in ("messages", "control"):
        (folder / name).mkdir()
    # The app reads Django's settings with the CELERY_ namespace: its keys carry the prefix.
    app.conf.update(
        CELERY_BROKER_URL="filesystem://",
        CELERY_BROKER_TRANSPORT_OPTIONS={
            "data_folder_in": str(folder / "messages"),
            "data_folder_out": str(folder / "messages"),
            "control_folder": str(folder / "control"),
            "store_processed": False,
        },
    )


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path_factory):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Uploaded documents go to a fresh folder per test, never into the project's DOCUMENTS_ROOT.
    settings.STORAGES = {
        **settings.STORAGES,
        "documents": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path_factory.mktemp("documents")), "base_url": None},
        },
    }


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate-limit counters live in the cache: no test inherits another's."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _still_ratelimit_clock(monkeypatch):
    """django-ratelimit counts in fixed one-minute windows. Should one turn while a test makes its ten
    requests, the count starts again and the eleventh is let through, so its clock stands still."""
    import time
    from types import SimpleNamespace

    import django_ratelimit.core

    now = int(time.time())
    monkeypatch.setattr(django_ratelimit.core, "time", SimpleNamespace(time=lambda: now))


class ReceivedMail:
    """What the loopback SMTP server received: ``messages`` (email.message.Message) and envelopes."""

    def __init__(self):
        self.envelopes: list = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's handler hook
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    @property
    def messages(self):
        return [email.message_from_bytes(envelope.original_content) for envelope in self.envelopes]

    def bodies(self) -> list[str]:
        """Every message's text parts, decoded, one string per message."""
        texts = []
        for message in self.messages:
            parts = [part for part in message.walk() if part.get_content_maintype() == "text"]
            texts.append(
                "\n".join(part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8") for part in parts)
            )
        return texts


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server (aiosmtpd) on a free loopback port; Django's SMTP backend sends to it."""
    from aiosmtpd.controller import Controller

    with socket.socket() as probe:  # aiosmtpd checks readiness by connecting, so it needs a real port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    received = ReceivedMail()
    controller = Controller(received, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    yield received
    controller.stop()


@pytest.fixture
def worker_thread_database(transactional_db):
    """Lets this thread read while a worker thread of this process writes to the same test database.

    On SQLite the test database is one in-memory database in shared-cache mode, where a read that meets another
    connection's write fails at once with "database table is locked" (the busy timeout does not apply to
    shared-cache table locks). Reading without table locks (``read_uncommitted``) removes the collision both
    ways; on PostgreSQL, readers never block writers and nothing changes.
    """
    from django.db import connection

    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA read_uncommitted = 1")
    yield
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA read_uncommitted = 0")


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def admin_user(db):
    return UserFactory(email="admin@clinic.test", full_name="Ada Admin", role=Role.ADMIN)


@pytest.fixture
def doctor_user(db):
    return UserFactory(email="doctor@clinic.test", full_name="Dora Doctor", role=Role.DOCTOR)


@pytest.fixture
def nurse_user(db):
    return UserFactory(email="nurse@clinic.test", full_name="Nell Nurse", role=Role.NURSE)


@pytest.fixture
def staff_user(db):
    return UserFactory(email="staff@clinic.test", full_name="Stan Staff", role=Role.STAFF)


@pytest.fixture
def read_only_user(db):
    return UserFactory(email="auditor@clinic.test", full_name="Rita Readonly", role=Role.READ_ONLY)


@pytest.fixture
def user_for_role(db):
    """``user_for_role("nurse")`` -> a user with that role."""

    def make(role: str):
        return UserFactory(email=f"{role}@clinic.test", role=role)

    return make


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def api_client_for(db):
    """``api_client_for(user)`` -> an APIClient authenticated with a real JWT access token for ``user``, signed
    in just now (its ``auth_time`` allows what needs a recent sign-in for REAUTH_MAX_AGE_SECONDS)."""
    from accounts.tokens import SignInRefreshToken

    def make(user) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {SignInRefreshToken.for_user(user).access_token}")
        return client

    return make


@pytest.fixture
def reference_data(transactional_db):
    """The rows data migrations create (role groups, service types), restored for transactional tests.

    pytest-django runs transactional tests last; those that flush without serialized rollback empty
    every table, data migrations' rows included, for whichever transactional test comes next.
    """
    import importlib

    from django.apps import apps

    from accounts.permissions import sync_role_groups

    for module, function in (
        ("scheduling.migrations.0002_service_types_and_roles", "create"),
        ("scheduling.migrations.0004_authorization_defaults", "forward"),
        ("groups.migrations.0002_group_capacity_and_roles", "forward"),
        ("documents.migrations.0002_seed_categories_and_roles", "seed"),
    ):
        getattr(importlib.import_module(module), function)(apps, None)
    sync_role_groups()
