"""Permission checks without two queries on every request.

Django's ModelBackend reads a user's permissions (their own, and their groups': the role's) with two
queries, once per request, and nearly every request checks a permission: for a nurse searching as she
types that was two of six queries. ``CachedPermissionsBackend`` keeps each user's permission set in the
cache (Redis in production) together with a version number; any change to permissions, groups or
memberships bumps the version once its transaction commits, so the next request reads them again.
A user's ``is_active`` and ``is_superuser`` come with the user row, as before; only the set is cached.
"""

import uuid
from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.db import transaction

VERSION_KEY = "accounts:permissions:version"
# An upper bound on staleness if permissions change behind Django's back (SQL typed into a console).
TIMEOUT_SECONDS = 300


class CachedPermissionsBackend(ModelBackend):
    """ModelBackend with each user's permission set cached across requests (see the module's docstring)."""

    def get_all_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            user_key = f"accounts:permissions:user:{user_obj.pk}"
            found = cache.get_many([VERSION_KEY, user_key])
            version = found.get(VERSION_KEY)
            if version is None:
                cache.add(VERSION_KEY, uuid.uuid4().hex, None)
                version = cache.get(VERSION_KEY)
            entry = found.get(user_key)
            if entry is not None and entry[0] == version:
                user_obj._perm_cache = set(entry[1])
            else:
                # The version was read before the database: a change committed in between bumps it again,
                # so this entry is never taken for newer than it is.
                user_obj._perm_cache = super().get_all_permissions(user_obj)
                cache.set(user_key, (version, sorted(user_obj._perm_cache)), TIMEOUT_SECONDS)
        return user_obj._perm_cache


def forget_all_permissions() -> None:
    """Make every cached permission set stale (after its transaction commits, if one is open)."""
    transaction.on_commit(lambda: cache.set(VERSION_KEY, uuid.uuid4().hex, None))


def permissions_changed(**kwargs: Any) -> None:
    """Receiver (accounts.apps): memberships, direct grants, groups or their grants changed."""
    forget_all_permissions()
