"""Re-authentication before dangerous actions ("sudo mode", as in healthchecks and GitHub).

The rule is ``accounts.permissions.is_recently_authenticated``: the user signed in or re-entered their
password (or a second-factor code) within ``REAUTH_MAX_AGE_SECONDS``. Apply it with:

- ``@reauth_required`` on a function view, ``ReauthRequiredMixin`` on a class-based view, or
  ``reauth_response(request)`` inside a view that needs it only sometimes (the admin's role change);
- ``require_recent_authentication(request)`` in an API view: 403 ``reauthentication_required``.

A page answers with the password form in place, at the same address. For a POST the form carries the
fields that were posted, so after the password the action goes on with what the user typed (nothing of
it is kept on the server); a GET (a download) continues at the same address.
"""

import functools
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from rest_framework import status
from rest_framework.exceptions import APIException

from accounts import permissions, services
from accounts.forms import ReauthForm
from audit import events
from audit import services as audit

REAUTH_FIELDS = ("reauth_password", "reauth_code", "reauth_submit")
# Never carried back into the re-posted form.
NOT_CARRIED = ("csrfmiddlewaretoken", *REAUTH_FIELDS)


def mark_authenticated(request: HttpRequest) -> None:
    """Start the sudo window: the session's user proved who they are just now."""
    request.session[permissions.REAUTH_SESSION_KEY] = time.time()


@receiver(user_logged_in)
def start_sudo_window(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """Signing in (password, and the code if the user has a second factor) counts as re-authenticating."""
    if request is not None and hasattr(request, "session"):
        mark_authenticated(request)


def _proves_identity(request: HttpRequest, form: ReauthForm) -> bool:
    user = request.user
    password = form.cleaned_data.get("reauth_password")
    if password:
        # Through authenticate(): a wrong password counts towards the lockout, as on the login page.
        return authenticate(request, username=user.email, password=password) is not None  # type: ignore[union-attr]
    code = form.cleaned_data.get("reauth_code") or ""
    return services.verify_second_factor(user=user, code=code, request=request) is not None  # type: ignore[arg-type]


def reauth_response(request: HttpRequest) -> HttpResponse | None:
    """None if the request may go on (recent sign-in, or it carries the right password now); else the page
    asking for the password, with the original POST's fields carried along."""
    if permissions.is_recently_authenticated(request):
        return None
    form = ReauthForm()
    if request.method == "POST" and any(field in request.POST for field in REAUTH_FIELDS):
        form = ReauthForm(request.POST)
        if form.is_valid() and _proves_identity(request, form):
            mark_authenticated(request)
            audit.record_security_event(request, events.REAUTHENTICATED, user=request.user)
            posted = request.POST.copy()
            for field in REAUTH_FIELDS:
                posted.pop(field, None)
            request.POST = posted  # type: ignore[assignment]  # the view sees what was posted, minus the password
            return None
        if form.is_valid():
            form.add_error(None, "That is not correct. Try again.")
    if request.method == "POST":
        # Back to the same address with the same fields: the view then runs as if posted once.
        action = request.get_full_path()
        carried = [
            (name, value) for name, values in request.POST.lists() if name not in NOT_CARRIED for value in values
        ]
    else:
        # A download or a page: the password goes to the re-authentication page, which comes back here.
        action = reverse("accounts:reauth")
        carried = [("next", request.get_full_path())]
    context = {
        "form": form,
        "carried_fields": carried,
        "action": action,
        "minutes": max(1, round(settings.REAUTH_MAX_AGE_SECONDS / 60)),
    }
    # 403: the action did not happen (yet); the page itself explains what to do.
    return render(request, "accounts/reauth.html", context, status=status.HTTP_403_FORBIDDEN)


def reauth_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Decorate a view that must not run without a recent sign-in (see the module docstring)."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = reauth_response(request)
        if response is not None:
            return response
        return view(request, *args, **kwargs)

    return wrapped


class ReauthRequiredMixin:
    """``reauth_required`` for class-based views (every method)."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = reauth_response(request)
        if response is not None:
            return response
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]


class ReauthenticationRequired(APIException):
    status_code = status.HTTP_403_FORBIDDEN
    default_code = "reauthentication_required"
    default_detail = (
        "This needs a recent sign-in: get a new token from /api/v1/auth/token/ (within the last "
        "REAUTH_MAX_AGE_SECONDS) and repeat the request. API keys cannot do this."
    )


def require_recent_authentication(request: Any) -> None:
    """For API views: raise 403 ``reauthentication_required`` unless the token's sign-in (``auth_time``) or
    the session's re-authentication is recent."""
    if not permissions.is_recently_authenticated(request):
        raise ReauthenticationRequired()
