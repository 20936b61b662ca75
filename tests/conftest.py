"""Personas (one user per role, plus anonymous) and test-only settings."""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.models import Role
from tests.factories import PASSWORD, UserFactory

ROLES = [Role.ADMIN, Role.DOCTOR, Role.NURSE, Role.STAFF, Role.READ_ONLY]


def pytest_collection_modifyitems(config, items):
    """``@pytest.mark.postgres_only`` tests are skipped on SQLite (they run in CI's PostgreSQL pass)."""
    from django.db import connection

    if connection.vendor == "postgresql":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL=postgres://…)")
    for item in items:
        if item.get_closest_marker("postgres_only"):
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _test_settings(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


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
    """``api_client_for(user)`` -> an APIClient authenticated with a real JWT access token for ``user``."""
    from rest_framework_simplejwt.tokens import RefreshToken

    def make(user) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
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
    ):
        getattr(importlib.import_module(module), function)(apps, None)
    sync_role_groups()
