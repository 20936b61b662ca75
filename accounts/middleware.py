import time
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django_htmx.http import HttpResponseClientRedirect

SESSION_KEY = "last_activity"
# Asking how long the session has left (the page's timeout dialog, other tabs) is not activity.
SESSION_STATUS_PATH = "/accounts/session/"
INACTIVITY_MESSAGE = "You were signed out after {duration} of inactivity. Please sign in again."


def idle_seconds_left(request: HttpRequest) -> int:
    """Whole seconds before ``request``'s session ends for inactivity (0 once it has)."""
    if not request.user.is_authenticated:
        return 0
    last_activity = request.session.get(SESSION_KEY, time.time())
    return max(0, int(settings.SESSION_IDLE_TIMEOUT - (time.time() - last_activity)))


class IdleTimeoutMiddleware:
    """Sign a user out after ``SESSION_IDLE_TIMEOUT`` seconds without a request, and say why.

    Every request but the session status is activity and is recorded, so the limit is the setting to the
    second (recording only every 30 s made it 870-900 s). That is one session UPDATE per request.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = time.time()
            last_activity = request.session.get(SESSION_KEY, now)
            if now - last_activity > settings.SESSION_IDLE_TIMEOUT:
                return self.sign_out(request)
            if request.path != SESSION_STATUS_PATH or SESSION_KEY not in request.session:
                request.session[SESSION_KEY] = now
        return self.get_response(request)

    def sign_out(self, request: HttpRequest) -> HttpResponse:
        from audit import services as audit

        audit.record_security_event(request, "accounts.session.timed_out", user=request.user)
        logout(request)
        minutes = max(1, round(settings.SESSION_IDLE_TIMEOUT / 60))
        duration = f"{minutes} minute{pluralize(minutes)}"
        # Messages live in a cookie first, so this one survives the session's end.
        messages.info(request, INACTIVITY_MESSAGE.format(duration=duration))
        if request.path.startswith(SESSION_STATUS_PATH):  # the page's own checks: it decides what to show
            return JsonResponse({"remaining": 0, "detail": "The session has ended."}, status=401)
        # Come back to the page after signing in again, unless it was a form post or an htmx fragment.
        # (request.htmx is not set yet: HtmxMiddleware runs after this one.)
        is_htmx = request.headers.get("HX-Request") == "true"
        back_to = request.path if request.method == "GET" and not is_htmx else None
        response = redirect_to_login(back_to) if back_to else redirect(settings.LOGIN_URL)
        if is_htmx:
            return HttpResponseClientRedirect(response["Location"])
        return response


class SecondFactorEnrolmentMiddleware:
    """A signed-in user whose role requires a second factor (``MFA_REQUIRED_ROLES``) and who has none reaches
    only enrolment and sign-out: pages redirect to enrolment, the API (with a session) answers 403.

    Right after the password step (and after an invitation sets a password) this is where they land.
    Bearer tokens are refused by ``accounts.authentication``; the token endpoint issues none.
    """

    ALLOWED_URL_NAMES = (
        "accounts:totp-enrol",
        "accounts:logout",
        "accounts:login",
        "accounts:session-status",
        "accounts:session-keep-alive",
        "health",
    )

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from accounts import permissions

        user = request.user
        if user.is_authenticated and permissions.must_enrol_second_factor(user) and not self._allowed(request):
            from accounts.authentication import ENROL_FIRST

            if request.path.startswith("/api/"):
                return JsonResponse({"detail": ENROL_FIRST}, status=403)
            if request.headers.get("HX-Request") == "true":
                return HttpResponseClientRedirect(reverse("accounts:totp-enrol"))
            return redirect("accounts:totp-enrol")
        return self.get_response(request)

    def _allowed(self, request: HttpRequest) -> bool:
        if request.path.startswith(settings.STATIC_URL if settings.STATIC_URL.startswith("/") else "/static/"):
            return True
        return request.path in {reverse(name) for name in self.ALLOWED_URL_NAMES}
