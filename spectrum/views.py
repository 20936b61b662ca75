import logging
from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import redirect_to_login
from django.core.cache import cache
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)


@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    from accounts import permissions
    from authorizations import selectors as authorizations
    from scheduling import selectors as scheduling

    context: dict[str, Any] = {"schedule": scheduling.dashboard(request.user)}
    if permissions.can_view_authorizations(request.user):
        context["authorization_alerts"] = authorizations.alerts(request.user)
    return render(request, "dashboard.html", context)


@login_not_required
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """Liveness and readiness for load balancers and Docker: no authentication, no PHI."""
    checks = {"database": "ok", "cache": "ok"}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        logger.exception("Health check: database unreachable")
        checks["database"] = "error"
    try:
        cache.set("health-check", "ok", 5)
        if cache.get("health-check") != "ok":
            raise RuntimeError("cache did not return the value it was given")
    except Exception:  # noqa: BLE001  (any cache failure means "not ready")
        logger.exception("Health check: cache unreachable")
        checks["cache"] = "error"
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse({"status": "ok" if healthy else "error", **checks}, status=200 if healthy else 503)


@login_not_required
def rate_limited(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """django-ratelimit's refusal (``RATELIMIT_VIEW``): 429 with Retry-After, as a page or as JSON."""
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse({"detail": "Too many requests. Wait a minute and try again."}, status=429)
    else:
        response = render(request, "errors/429.html", status=429)
    response["Retry-After"] = "60"
    return response


@login_not_required
def admin_login(request: HttpRequest) -> HttpResponse:
    """Send the admin site's sign-in to ours, so it shares the lockout, the rate limit and the audit trail."""
    return redirect_to_login(request.GET.get("next") or reverse("admin:index"))
