"""Confirm/cancel links: a signed token naming one reminder and its nonce; expiry and single use are
checked against the reminder row (services.read_link)."""

from django.core import signing

SALT = "reminders.link"


def make_token(reminder_id: int, nonce: str) -> str:
    return signing.dumps({"r": reminder_id, "n": nonce}, salt=SALT, compress=False)


def read_token(token: str, *, max_age_seconds: int) -> tuple[int, str]:
    """(reminder id, nonce); raises signing.SignatureExpired or signing.BadSignature."""
    payload = signing.loads(token, salt=SALT, max_age=max_age_seconds)
    if not isinstance(payload, dict) or not isinstance(payload.get("r"), int) or not isinstance(payload.get("n"), str):
        raise signing.BadSignature("malformed")
    return payload["r"], payload["n"]
