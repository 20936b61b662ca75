import logging
import sys
from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.core.cache import cache
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone
from django.views import defaults
from django.views.decorators.http import require_GET

from spectrum import outages, ratelimit

logger = logging.getLogger(__name__)


def dashboard_schedule(request: HttpRequest) -> dict[str, Any] | None:
    """The dashboard's appointment panels, rendered, and the ids of their status forms: from the cache while
    no appointment changed (``scheduling.day_cache``: the versions, what the role decides, the clinic minute).

    Rendered without the request, so no session's CSRF token can be cached (the page adds it outside).
    """
    from accounts import permissions
    from scheduling import day_cache
    from scheduling.models import clinic_now

    if not permissions.can_view_schedule(request.user):
        return None
    now = clinic_now()
    key = ":".join(
        [
            "scheduling:dashboard",
            now.date().isoformat(),
            *day_cache.schedule_versions(),
            day_cache.row_variant(request.user),
            day_cache.clock_part(now.date(), now),
        ]
    )
    return day_cache.cached(key, lambda: _render_dashboard_schedule(request))


def _render_dashboard_schedule(request: HttpRequest) -> dict[str, Any] | None:
    from accounts import permissions
    from scheduling import rendering
    from scheduling import selectors as scheduling

    schedule = scheduling.dashboard(request.user)
    if schedule is None:
        return None
    can_mark = permissions.can_change_appointments(request.user)
    if can_mark:
        # The same status control as the day view: saved on an explicit choice, confirmed in one live region.
        rendering.prepare_rows(schedule["today"])
    entry = {
        "html": render_to_string("scheduling/_dashboard_schedule.html", {"schedule": schedule, "can_mark": can_mark}),
        "status_form_ids": [appointment.pk for appointment in schedule["today"]] if can_mark else [],
    }
    return entry


def authorization_alerts(request: HttpRequest) -> list:
    """The dashboard's authorization alerts: from the cache while no appointment, patient or authorization
    changed (the query sums units over the appointments: tens of milliseconds however few authorizations).
    Keyed by the day (expiry windows), the versions and whether the role sees deactivated patients."""
    from authorizations import selectors as authorizations
    from scheduling import day_cache

    today = timezone.localdate()
    key = ":".join(
        [
            "scheduling:authorization-alerts",
            today.isoformat(),
            *day_cache.alert_versions(),
            day_cache.row_variant(request.user),
        ]
    )
    return day_cache.cached(key, lambda: authorizations.alerts(request.user)) or []


def dashboard_notices(request: HttpRequest) -> str:
    """The dashboard's notices (reminders that failed in the last week, consents expiring within 30 days),
    rendered: from the cache while no consent and nothing a row shows of a patient changed, for at most
    ``day_cache.NOTICE_SECONDS`` (reminder results are written in bulk, which no version follows).

    Reading them was about a third of the dashboard's CPU (two queries joining patients, on every visit).
    Keyed by the clinic day, the versions and what the role decides; rendered without the request."""
    from accounts import permissions
    from consents import selectors as consents
    from reminders import selectors as reminders
    from scheduling import day_cache

    user = request.user
    sees_consents, sees_reminders = permissions.can_view_consents(user), permissions.can_view_reminder_results(user)
    if not (sees_consents or sees_reminders):
        return ""
    role_part = f"consents{int(sees_consents)}-reminders{int(sees_reminders)}-{day_cache.row_variant(user)}"
    key = ":".join(["dashboard:notices", timezone.localdate().isoformat(), *day_cache.notice_versions(), role_part])

    def render_notices() -> str:
        context = {
            "expiring_consents": consents.expiring_consents(user) if sees_consents else None,
            "reminder_failures": reminders.failures(user, days=7) if sees_reminders else None,
        }
        return render_to_string("_dashboard_notices.html", context)

    return day_cache.cached(key, render_notices, timeout=day_cache.NOTICE_SECONDS)


@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    from accounts import permissions
    from accounts import selectors as accounts

    schedule = dashboard_schedule(request)
    can_mark = schedule is not None and permissions.can_change_appointments(request.user)
    context: dict[str, Any] = {"schedule": schedule, "can_mark": can_mark}
    if permissions.can_view_authorizations(request.user):
        context["authorization_alerts"] = authorization_alerts(request)
    if permissions.can_review_access(request.user):
        context["overdue_access_review"] = accounts.overdue_access_review()
    if schedule is not None:
        context["notices"] = dashboard_notices(request)
    return render(request, "dashboard.html", context)


@login_not_required
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """Liveness and readiness for load balancers and Docker: no authentication, no PHI.

    Names each dependency that is down. Without the database Spectrum cannot serve (503); without the
    cache it serves degraded (200, ``"status": "degraded"``, see ``spectrum.outages``). The task queue:
    ``broker`` (reachable), ``beat`` (its last heartbeat is recent), ``workers`` (the oldest waiting task has
    not waited too long), with the numbers under ``queue``; any of them failing means degraded.
    """
    from operations import queue

    checks = {"database": "ok", "cache": "ok"}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        logger.warning("Health check: database unreachable")
        checks["database"] = "error"
    try:
        cache.set("health-check", "ok", 5)
        if cache.get("health-check") != "ok":
            raise RuntimeError("cache did not return the value it was given")
    except Exception:  # noqa: BLE001  (any cache failure means degraded)
        logger.warning("Health check: cache unreachable")
        checks["cache"] = "error"
    state = queue.queue_health()
    problems = state.problems
    for part in ("broker", "beat", "workers"):
        checks[part] = "error" if part in problems else "ok"
    if problems:
        logger.warning("Health check: task queue degraded (%s)", ", ".join(problems))
    body: dict[str, Any] = {
        **checks,
        "queue": {
            "waiting": state.broker.waiting,
            "oldest_waiting_seconds": _rounded(state.broker.oldest_waiting_seconds),
            "beat_last_ran_seconds_ago": _rounded(state.beat_seconds),
        },
    }
    if checks["database"] != "ok":
        return JsonResponse({"status": "error", **body}, status=503)
    degraded = any(value == "error" for value in checks.values())
    return JsonResponse({"status": "degraded" if degraded else "ok", **body})


def _rounded(seconds: float | None) -> int | None:
    return None if seconds is None else round(seconds)


@login_not_required
def rate_limited(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """django-ratelimit's refusal for its decorators (``RATELIMIT_VIEW``), which do not say when their
    window ends: 60 seconds outlasts any per-minute window. Spectrum's own limits use ``spectrum.ratelimit``.
    """
    return ratelimit.too_many_requests(request, 60)


def server_error(request: HttpRequest) -> HttpResponse:
    """``handler500``: 503 while the database or the cache is unreachable (``spectrum.outages``), else 500.

    Django calls it while handling the exception, so ``sys.exc_info()`` holds it.
    """
    dependency = outages.unavailable_dependency(sys.exc_info()[1])
    if dependency is not None:
        logger.error("The %s is unreachable: answering 503", dependency)
        return outages.service_unavailable(request)
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Something went wrong on our side. Nothing was saved."}, status=500)
    return defaults.server_error(request)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """``handler404``: API clients get JSON under /api/, as from every API view; people get the styled page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)
