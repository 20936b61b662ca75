"""Sending SMS: one interface, a development backend (console or file) and Twilio's REST API.

Twilio is called over plain HTTPS with the standard library (no SDK to pin): POST the message to
``{TWILIO_API_BASE}/2010-04-01/Accounts/{sid}/Messages.json``. Tests point TWILIO_API_BASE at a local server.
"""

import base64
import hashlib
import hmac
import json
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone


class SmsError(Exception):
    """The provider did not take the message. ``reason`` holds no PHI; ``transient`` errors are retried."""

    def __init__(self, reason: str, *, transient: bool = False, opted_out: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.transient = transient
        self.opted_out = opted_out


def normalise_phone(raw: str) -> str:
    """A US number as E.164 (+13055550123); ValueError when it cannot be one."""
    text = (raw or "").strip()
    if text.startswith("+"):
        digits = re.sub(r"\D", "", text)
        if 8 <= len(digits) <= 15:
            return "+" + digits
        raise ValueError("not a phone number")
    digits = re.sub(r"\D", "", text)
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    if len(digits) == 10 and digits[0] not in "01":
        return "+1" + digits
    raise ValueError("not a phone number")


class SmsBackend:
    def send(self, *, to: str, body: str) -> str:
        """Send ``body`` to ``to`` (E.164); return the provider's message id or raise SmsError."""
        raise NotImplementedError


class ConsoleSmsBackend(SmsBackend):
    """Development: print the message, like Django's console email backend."""

    def send(self, *, to: str, body: str) -> str:
        sys.stdout.write(f"SMS to {to}:\n{body}\n{'-' * 40}\n")
        sys.stdout.flush()
        return ""


class FileSmsBackend(SmsBackend):
    """Development and demos: append each message as one JSON line to SMS_FILE_PATH."""

    def send(self, *, to: str, body: str) -> str:
        with Path(settings.SMS_FILE_PATH).open("a", encoding="utf-8") as outbox:
            outbox.write(json.dumps({"at": timezone.now().isoformat(), "to": to, "body": body}) + "\n")
        return ""


# Twilio error codes that say the number can never receive this message.
TWILIO_OPTED_OUT = {21610}  # the recipient replied STOP
TWILIO_BAD_NUMBER = {21211, 21214, 21217, 21401, 21407, 21408, 21612, 21614}


class TwilioSmsBackend(SmsBackend):
    def send(self, *, to: str, body: str) -> str:
        sid, token, sender = settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, settings.TWILIO_FROM_NUMBER
        if not (sid and token and sender):
            raise SmsError("SMS provider not configured (TWILIO_* settings)")
        url = f"{settings.TWILIO_API_BASE}/2010-04-01/Accounts/{urllib.parse.quote(sid)}/Messages.json"
        fields = {"To": to, "From": sender, "Body": body, "StatusCallback": status_callback_url()}
        request = urllib.request.Request(  # noqa: S310  (the base comes from settings, https in production)
            url,
            data=urllib.parse.urlencode(fields).encode(),
            method="POST",
            headers={
                "Authorization": "Basic " + base64.b64encode(f"{sid}:{token}".encode()).decode(),
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=settings.TWILIO_TIMEOUT) as response:  # noqa: S310
                answer = json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            raise _twilio_error(exc) from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise SmsError(f"SMS provider unreachable ({type(exc).__name__})", transient=True) from None
        except ValueError:
            raise SmsError("SMS provider answered something other than JSON", transient=True) from None
        return str(answer.get("sid", ""))[:64]


def _twilio_error(exc: urllib.error.HTTPError) -> SmsError:
    if exc.code == 429 or exc.code >= 500:
        return SmsError(f"SMS provider unavailable (HTTP {exc.code})", transient=True)
    try:
        code = int(json.loads(exc.read() or b"{}").get("code") or 0)
    except (ValueError, TypeError, AttributeError):
        code = 0
    if code in TWILIO_OPTED_OUT:
        return SmsError("the number has opted out of SMS (replied STOP)", opted_out=True)
    if code in TWILIO_BAD_NUMBER:
        return SmsError(f"the provider refused the phone number (error {code})")
    if exc.code in (401, 403):
        return SmsError(f"the SMS provider refused the credentials (HTTP {exc.code})")
    return SmsError(f"the SMS provider refused the message (HTTP {exc.code}, error {code or 'unknown'})")


BACKENDS: dict[str, type[SmsBackend]] = {
    "console": ConsoleSmsBackend,
    "file": FileSmsBackend,
    "twilio": TwilioSmsBackend,
}


def get_backend() -> SmsBackend:
    try:
        return BACKENDS[settings.SMS_BACKEND]()
    except KeyError:
        raise ImproperlyConfigured(f"SMS_BACKEND must be one of: {', '.join(BACKENDS)}.") from None


def status_callback_url() -> str:
    from django.urls import reverse

    return settings.SITE_URL + reverse("reminders:sms-status")


def twilio_signature(url: str, params: dict[str, str]) -> str:
    """Twilio's X-Twilio-Signature: HMAC-SHA1 of the URL and the sorted POST parameters, base64."""
    payload = url + "".join(f"{key}{params[key]}" for key in sorted(params))
    digest = hmac.new(settings.TWILIO_AUTH_TOKEN.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()
