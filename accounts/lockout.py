"""Login lockout on django-axes: 5 failures lock an account from one address, 20 lock the address."""

from typing import Any

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from rest_framework import status
from rest_framework.exceptions import APIException

from accounts.models import normalize_email

LOCKED_MESSAGE = (
    "Too many failed sign-in attempts. This account is temporarily locked for {minutes} minutes; "
    "try again later or ask an administrator to unlock it."
)


def lockout_message() -> str:
    return LOCKED_MESSAGE.format(minutes=int(settings.AXES_COOLOFF_TIME.total_seconds() // 60))


class AccountLocked(APIException):
    status_code = status.HTTP_423_LOCKED
    default_code = "locked"

    def __init__(self) -> None:
        super().__init__(detail=lockout_message())


class SpectrumAxesHandler(AxesDatabaseHandler):
    """Two limits where axes knows one.

    ``AXES_LOCKOUT_PARAMETERS`` is ``[["username", "ip_address"], "ip_address"]``, so axes keeps one
    count per (account, address) pair and one per address; it would apply ``AXES_FAILURE_LIMIT`` to
    both. We lock the pair at ``AXES_FAILURE_LIMIT`` and the address only at
    ``LOCKOUT_ADDRESS_FAILURE_LIMIT``, so one person's typos never lock out a shared front-desk address.
    """

    def get_failures(self, request: HttpRequest, credentials: dict | None = None) -> int:
        pair_attempts, address_attempts = self.get_user_attempts(request, credentials)
        pair_failures = pair_attempts.aggregate(n=Sum("failures_since_start"))["n"] or 0
        address_failures = address_attempts.aggregate(n=Sum("failures_since_start"))["n"] or 0
        if address_failures >= settings.LOCKOUT_ADDRESS_FAILURE_LIMIT:
            return max(pair_failures, get_failure_limit(request, credentials))
        return pair_failures

    def reset_user_attempts(self, request: HttpRequest, credentials: dict | None = None) -> int:
        """On a successful sign-in (``AXES_RESET_ON_SUCCESS``), forget only that account's failures.

        Axes would delete every attempt matching any lockout parameter, the address's included: a
        sign-in as oneself would then clear another account's lock from the same address.
        """
        return reset_account_attempts(
            username=get_client_username(request, credentials),
            ip_address=request.axes_ip_address,  # type: ignore[attr-defined]  # set by axes' middleware
        )


def reset_account_attempts(*, username: str | None, ip_address: str) -> int:
    """Forget the failed sign-ins of one account from one address, after it signed in from there.

    Other accounts' failures stay, and so does a lock on the whole address (which refuses the sign-in
    before this runs): only the cool-off time or an administrator (``axes_reset``) clears those.
    """
    if not username:
        return 0
    deleted, _ = AccessAttempt.objects.filter(username=username, ip_address=ip_address).delete()
    return deleted


def username_from_credentials(request: HttpRequest, credentials: dict | None) -> str | None:
    """The login page posts ``username``, the token endpoint ``email``: count both as one account."""
    credentials = credentials or {}
    value = credentials.get("email") or credentials.get("username")
    if value is None:
        data = getattr(request, "data", None) or request.POST
        value = data.get("email") or data.get("username")
    return normalize_email(value) if value else None


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: Any = None
) -> HttpResponse:
    """The answer to a locked-out sign-in: JSON 423 for the API, the login page with a message otherwise."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": lockout_message()}, status=status.HTTP_423_LOCKED)
    from accounts.forms import LoginForm

    form = LoginForm(request)
    return render(
        request,
        "accounts/login.html",
        {"form": form, "locked_message": lockout_message()},
        status=status.HTTP_423_LOCKED,
    )
