"""What Spectrum answers while the database or the cache (Redis) is unreachable.

- Database down: every page and API call that needs it answers 503 with ``Retry-After``: JSON
  ``{"detail": ...}`` for the API, the styled "temporarily unavailable" page otherwise. Writes run in
  transactions, so nothing is half-written. ``/health/`` answers 503 and names the database.
- Cache down: Spectrum keeps working, degraded. Sessions and lockouts live in the database; rate limits
  let requests through (``spectrum.ratelimit``) until the cache is back. ``/health/`` answers 200 with
  ``"status": "degraded"`` and names the cache, so load balancers keep sending traffic.

Django turns any exception, wherever it is raised (middleware included), into the ``handler500`` view,
which is why the answer is chosen there (``spectrum.views.server_error``) rather than in a middleware.
"""

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

DATABASE_ERRORS: tuple[type[Exception], ...] = (OperationalError, InterfaceError)
CACHE_ERRORS: tuple[type[Exception], ...] = (RedisConnectionError, RedisTimeoutError)
RETRY_AFTER_SECONDS = 30
UNAVAILABLE_MESSAGE = "Spectrum is temporarily unavailable. Try again in a minute."


def unavailable_dependency(exc: BaseException | None) -> str | None:
    """``"database"`` or ``"cache"`` if ``exc`` means that dependency is unreachable, else ``None``."""
    if isinstance(exc, DATABASE_ERRORS):
        return "database"
    if isinstance(exc, CACHE_ERRORS):
        return "cache"
    return None


def service_unavailable(request: HttpRequest) -> HttpResponse:
    """503 for the API (JSON) or a page. Rendered without the request: its user and session need the database."""
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse({"detail": UNAVAILABLE_MESSAGE}, status=503)
    else:
        response = HttpResponse(loader.render_to_string("503.html"), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
