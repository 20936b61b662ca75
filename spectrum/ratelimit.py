"""Rate limits: django-ratelimit's counters on the shared cache, a truthful Retry-After, and per-role limits.

django-ratelimit counts in fixed windows: a window ends at a second ``w`` (jittered per key), and a
request made at ``w`` itself still counts in it. A client told to wait ``time_left`` seconds would come
back at ``w`` and be refused again, so ``Retry-After`` is ``time_left + 1``: the first second of the
next window.

If the cache (Redis) is unreachable, requests are let through and a warning is logged: an outage of
the cache must not take sign-in and the API down with it. Sign-in guessing stays limited by the lockout,
which axes keeps in the database.
"""

import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django_ratelimit.core import get_usage

from spectrum.outages import CACHE_ERRORS

logger = logging.getLogger(__name__)

Key = Callable[[str, Any], str]


def retry_after_seconds(usage: dict[str, Any]) -> int:
    """Seconds until a refused client's next request is counted in a new window (see the module docstring)."""
    return max(1, usage["time_left"] + 1)


def count_request(request: Any, *, group: str, key: Key, rate: str) -> int | None:
    """Count ``request`` against ``rate``; ``None`` if it may proceed, else the seconds to wait (Retry-After)."""
    try:
        usage = get_usage(request, group=group, key=key, rate=rate, increment=True)
    except CACHE_ERRORS:
        logger.warning("Rate limit %s not counted: the cache is unreachable; letting the request through", group)
        return None
    if usage is None or not usage["should_limit"]:  # None: RATELIMIT_ENABLE is off
        return None
    return retry_after_seconds(usage)


def api_write_rate(user: Any) -> str:
    """The API write limit for ``user``: their own (by email), else their role's, else everyone's."""
    if user is not None and user.is_authenticated:
        by_user = settings.RATELIMIT_API_WRITE_BY_USER.get(user.email.lower())
        if by_user:
            return by_user
        by_role = settings.RATELIMIT_API_WRITE_BY_ROLE.get(user.role)
        if by_role:
            return by_role
    return settings.RATELIMIT_API_WRITE


def too_many_requests(request: HttpRequest, retry_after: int) -> HttpResponse:
    """The refusal for pages (styled) and for the API (JSON), with a Retry-After that can be obeyed."""
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse(
            {"detail": f"Too many requests. Try again in {retry_after} seconds."}, status=429
        )
    else:
        response = render(request, "errors/429.html", {"retry_after": retry_after}, status=429)
    response["Retry-After"] = str(retry_after)
    return response
