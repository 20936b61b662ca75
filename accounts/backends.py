"""The signed-in user and their permissions without three queries on every request.

Django's ModelBackend loads the session's user with one query and reads their permissions (their own, and
their groups': the role's) with two more, on every request; for a nurse searching as she types that was
three of seven queries. ``CachedPermissionsBackend`` keeps both across requests together with a version
number in the shared cache: any change to users, permissions, groups or memberships bumps the version
once its transaction commits, so the next request reads them again.

- Permission sets live in the shared cache (Redis in production), one entry per user.
- User rows live in each process's memory only: the shared cache never holds password hashes. The
  version tells every process when its copies are out of date.
- One round trip to the shared cache per request fetches the version and the user's permission set.

The version is read before the database, so a change committed in between bumps it again and the entry
is never taken for newer than it is. A change made behind Django's back (SQL typed into a console, a
queryset ``update()``) counts within ``TIMEOUT_SECONDS``.
"""

import time
import uuid
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.db import transaction

VERSION_KEY = "accounts:version"
TIMEOUT_SECONDS = 300
# This process's copies of user rows: user id -> (version, monotonic time loaded, database, column values).
_user_rows: dict[Any, tuple[str, float, str, tuple]] = {}
MAX_USER_ROWS = 5_000


class CachedPermissionsBackend(ModelBackend):
    """ModelBackend with the session's user and each user's permission set cached (see the module's docstring)."""

    def get_user(self, user_id: Any) -> Any:
        version, permissions = _version_and_permissions(user_id)
        user = _user_from_memory(user_id, version)
        if user is None:
            # Read after the version: see the module's docstring.
            user = super().get_user(user_id)
            if user is None:
                return None
            _remember_user(user, version)
        elif not self.user_can_authenticate(user):
            return None
        if permissions is not None:
            user._perm_cache = permissions
        return user

    def get_all_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            version, permissions = _version_and_permissions(user_obj.pk)
            if permissions is None:
                permissions = super().get_all_permissions(user_obj)  # sets _perm_cache
                cache.set(_permissions_key(user_obj.pk), (version, sorted(permissions)), TIMEOUT_SECONDS)
            user_obj._perm_cache = permissions
        return user_obj._perm_cache


def _permissions_key(user_id: Any) -> str:
    return f"accounts:permissions:user:{user_id}"


def _version_and_permissions(user_id: Any) -> tuple[str, set[str] | None]:
    """The current version, and the user's cached permission set if it is of that version."""
    key = _permissions_key(user_id)
    found = cache.get_many([VERSION_KEY, key])
    version = found.get(VERSION_KEY)
    if version is None:
        cache.add(VERSION_KEY, uuid.uuid4().hex, None)
        version = cache.get(VERSION_KEY)
    entry = found.get(key)
    return version, set(entry[1]) if entry is not None and entry[0] == version else None


def _user_from_memory(user_id: Any, version: str) -> Any:
    entry = _user_rows.get(user_id)
    if entry is None or entry[0] != version or time.monotonic() - entry[1] > TIMEOUT_SECONDS:
        return None
    user_model = get_user_model()
    # A new instance per request (views may change theirs), from values that are all immutable.
    return user_model.from_db(entry[2], [field.attname for field in user_model._meta.concrete_fields], entry[3])


def _remember_user(user: Any, version: str) -> None:
    if len(_user_rows) >= MAX_USER_ROWS:
        _user_rows.clear()
    values = tuple(getattr(user, field.attname) for field in user._meta.concrete_fields)
    _user_rows[user.pk] = (version, time.monotonic(), user._state.db, values)


def forget_cached_accounts() -> None:
    """Make every cached user row and permission set stale (after its transaction commits, if one is open)."""
    transaction.on_commit(lambda: cache.set(VERSION_KEY, uuid.uuid4().hex, None))


def accounts_changed(**kwargs: Any) -> None:
    """Receiver (accounts.apps): users, memberships, direct grants, groups or their grants changed."""
    forget_cached_accounts()
