"""Enrolling a user in TOTP from the tests, and computing their codes the way an authenticator app does."""

import datetime

import pyotp

from accounts import services

LOGIN = "/accounts/login/"
VERIFY = "/accounts/login/code/"
TOKEN = "/api/v1/auth/token/"
STEP = datetime.timedelta(seconds=30)


def enrol(user) -> tuple[pyotp.TOTP, list[str]]:
    """Enrol ``user`` in TOTP; returns their "app" (pyotp on the shown secret) and their recovery codes."""
    device = services.pending_totp_device(user=user)
    app = pyotp.TOTP(services.totp_secret(device))
    codes = services.confirm_totp_enrolment(user=user, device=device, code=app.now())
    return app, codes
