"""Django's ModelBackend, with each user's permission set kept in Django's cache between requests.

Every page and API call asks permission predicates, and Django's backend reads the user's permissions
again for each request: two queries, and for an administrator (whose role grants every permission) several
hundred rows turned into strings, about a quarter of a simple page's CPU time. The set is the same from
one request to the next until a grant changes, so it is cached (Redis in production) under the user's id
and a **grants version** that every change of who holds what replaces (``accounts.signals``: a role
change, group membership, a group's or a user's permissions, through the admin, the API, a service or
``sync_role_permissions``). Grants changed in raw SQL are seen within ``PERMISSIONS_SECONDS``.

What is not cached: the user row itself (read every request, so a deactivation counts from the next one,
however it was made) and ``is_active``, checked before the set is consulted. Without Redis the set is read
from the database as Django does (degraded, not down: ``spectrum.outages``).
"""

import contextlib
import uuid
from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.db import transaction

from spectrum.outages import CACHE_ERRORS

GRANTS_VERSION = "accounts:grants-version"
PERMISSIONS_SECONDS = 5 * 60


def grants_changed() -> None:
    """Someone's permissions may have changed: every cached permission set is read again.

    Now, and again after the commit: a request that read the old grants between the first change and the
    commit may have cached them under the new version; the second change drops that.
    """
    _new_grants_version()
    transaction.on_commit(_new_grants_version)


def _new_grants_version() -> None:
    with contextlib.suppress(*CACHE_ERRORS):
        cache.set(GRANTS_VERSION, uuid.uuid4().hex, None)


def _grants_version() -> str:
    return str(cache.get_or_set(GRANTS_VERSION, lambda: uuid.uuid4().hex, None))


class CachedPermissionsBackend(ModelBackend):
    def get_all_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        # Kept on the user object too: a request asks several predicates of the same user.
        if not hasattr(user_obj, "_cached_permission_set"):
            user_obj._cached_permission_set = self._permission_set(user_obj)
        return user_obj._cached_permission_set

    def _permission_set(self, user_obj: Any) -> set[str]:
        try:
            key = f"accounts:permissions:{user_obj.pk}:{_grants_version()}"
            permissions = cache.get(key)
        except CACHE_ERRORS:
            return super().get_all_permissions(user_obj)
        if permissions is None:
            permissions = super().get_all_permissions(user_obj)
            with contextlib.suppress(*CACHE_ERRORS):
                cache.set(key, permissions, PERMISSIONS_SECONDS)
        return set(permissions)
