"""Creating and changing user accounts, their second factor and API keys: one path for the admin site, the API,
the pages and the command line."""

import base64
import datetime
import hmac
import secrets
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import permissions, selectors
from accounts.models import APIKey, RecoveryCode, Role, User, hash_secret, normalize_email
from audit import events
from audit import services as audit
from spectrum.exceptions import DomainError


@transaction.atomic
def create_user(
    *, email: str, password: str, role: str, full_name: str = "", is_active: bool = True, actor: User | None = None
) -> User:
    """Create a user (active unless said otherwise) after checking the email is free, the role exists and
    the password passes the policy.

    Raises ``ValidationError`` with per-field messages.
    """
    email = normalize_email(email)
    errors: dict[str, list[str]] = {}
    if role not in Role.values:
        errors["role"] = [f"Choose one of: {', '.join(Role.values)}."]
    if User.objects.filter(email=email).exists():
        errors["email"] = ["A user with this email already exists."]
    candidate = User(
        email=email, full_name=full_name.strip(), role=role if role in Role.values else Role.STAFF, is_active=is_active
    )
    try:
        validate_password(password, user=candidate)
    except ValidationError as exc:
        errors["password"] = list(exc.messages)
    if errors:
        raise ValidationError(errors)
    candidate.set_password(password)
    candidate.full_clean(exclude=["password"])
    candidate.save()
    return candidate


@transaction.atomic
def update_user(*, user: User, actor: User | None = None, password: str | None = None, **changes: Any) -> User:
    """Change a user's name, email, role or active flag, and optionally set a new password."""
    if "email" in changes:
        changes["email"] = normalize_email(changes["email"])
        if User.objects.filter(email=changes["email"]).exclude(pk=user.pk).exists():
            raise ValidationError({"email": ["A user with this email already exists."]})
    if "role" in changes and changes["role"] not in Role.values:
        raise ValidationError({"role": [f"Choose one of: {', '.join(Role.values)}."]})
    if actor is not None and user.pk == actor.pk and changes.get("is_active") is False:
        raise ValidationError({"is_active": ["You cannot deactivate your own account."]})
    for field, value in changes.items():
        setattr(user, field, value)
    if password:
        try:
            validate_password(password, user=user)
        except ValidationError as exc:
            raise ValidationError({"password": list(exc.messages)}) from None
        user.set_password(password)
    user.save()
    return user


# --- Second factor ------------------------------------------------------------------------------------

RECOVERY_CODE_COUNT = 10
# Recovery codes: 10 characters of an alphabet without look-alikes (about 50 bits), shown as xxxxx-xxxxx.
RECOVERY_CODE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


class SecondFactorError(DomainError):
    """A code was wrong or the enrolment cannot go on; the message is for the user."""


def normalize_code(code: str) -> str:
    """Codes as typed: spaces and hyphens dropped, letters lower-cased (``12 34 56``, ``ABCDE-FGHJK``)."""
    return "".join(character for character in (code or "").lower() if character not in " -")


def _new_recovery_code() -> str:
    raw = "".join(secrets.choice(RECOVERY_CODE_ALPHABET) for _ in range(10))
    return f"{raw[:5]}-{raw[5:]}"


def _replace_recovery_codes(user: User) -> list[str]:
    RecoveryCode.objects.filter(user=user).delete()
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    for code in codes:
        RecoveryCode.objects.create(user=user, code_hash=hash_secret(normalize_code(code)))
    return codes


@transaction.atomic
def pending_totp_device(*, user: User) -> TOTPDevice:
    """The authenticator device ``user`` is enrolling: its secret is shown until a code confirms it.

    Reloading the page keeps the same secret (the app may already hold it); a confirmed device is untouched.
    """
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
    return device


def confirm_totp_enrolment(*, user: User, device: TOTPDevice, code: str) -> list[str]:
    """Confirm ``device`` with a code it produced, make it the user's second factor, and return new recovery
    codes (shown once; only their hashes are kept). An earlier device and earlier codes stop working.

    Raises ``SecondFactorError`` if the code is wrong (django-otp throttles repeated wrong codes).
    """
    if device.user_id != user.pk or device.confirmed:
        raise SecondFactorError("This enrolment has ended. Start again from the Security page.")
    # Outside the transaction: django-otp records a wrong code (its throttle) and that must stay.
    if not device.verify_token(normalize_code(code)):
        raise SecondFactorError("That code is not correct. Enter the 6 digits your app shows now.")
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        codes = _replace_recovery_codes(user)
        audit.record(event=events.SECOND_FACTOR_ENROLLED, target=user, actor=user, data={"method": "totp"})
    return codes


def verify_second_factor(*, user: User, code: str, request: Any) -> str | None:
    """Check the second step of a sign-in (or a re-authentication): a code from the authenticator app, or an
    unused recovery code, which is then used up. Returns ``"totp"`` or ``"recovery"``, or None.

    A wrong code counts as a failed sign-in: django-axes adds it to the account's lockout count (its
    ``user_login_failed`` receiver) and the audit trail records it, as for a wrong password.
    """
    code = normalize_code(code)
    device = selectors.totp_device_of(user)
    if device is not None and code.isdigit() and len(code) == device.digits and device.verify_token(code):
        return "totp"
    if code and use_recovery_code(user=user, code=code):
        return "recovery"
    user_login_failed.send(sender=__name__, credentials={"username": user.email}, request=request)
    return None


@transaction.atomic
def use_recovery_code(*, user: User, code: str) -> bool:
    """Spend one of ``user``'s recovery codes; False if it is not theirs or already used (single use, even
    when two requests race: the update matches the unused row once)."""
    # The row lock makes a racing second request wait, then see the code used (PostgreSQL re-checks the filter).
    unused = selectors.unused_recovery_codes(user).select_for_update()
    recovery_code = unused.filter(code_hash=hash_secret(normalize_code(code))).first()
    if recovery_code is None:
        return False
    recovery_code.used_at = timezone.now()
    recovery_code.save(update_fields=["used_at"])
    left = selectors.unused_recovery_codes(user).count()
    audit.record(event=events.RECOVERY_CODE_USED, target=user, actor=user, data={"codes_left": left})
    return True


@transaction.atomic
def regenerate_recovery_codes(*, user: User) -> list[str]:
    """New recovery codes for a user with a second factor (shown once); the old ones stop working."""
    if not selectors.has_second_factor(user):
        raise SecondFactorError("Set up an authenticator app first.")
    codes = _replace_recovery_codes(user)
    audit.record(event=events.RECOVERY_CODES_REGENERATED, target=user, actor=user)
    return codes


@transaction.atomic
def reset_second_factor(*, actor: User, user: User, reason: str) -> None:
    """Remove ``user``'s authenticator and recovery codes (lost phone): they enrol again at their next sign-in
    if their role requires it. Administrators only; the reason is recorded, the secret never shown."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": ["Say why the second factor is reset (it is recorded)."]})
    if not permissions.can_reset_second_factor(actor, user):
        raise PermissionDenied("Only administrators can reset another user's second factor.")
    had_factor = selectors.has_second_factor(user)
    TOTPDevice.objects.filter(user=user).delete()
    RecoveryCode.objects.filter(user=user).delete()
    audit.record(
        event=events.SECOND_FACTOR_RESET, target=user, actor=actor, data={"reason": reason, "had_factor": had_factor}
    )


# --- API keys -------------------------------------------------------------------------------------------

API_KEY_MAX_DAYS = 366


@transaction.atomic
def create_api_key(*, actor: User, name: str, role: str, expires_at: datetime.datetime) -> tuple[APIKey, str]:
    """Create an API key acting with ``role`` until ``expires_at``; returns the key and its secret, which is
    shown once (only a hash is kept). Raises ``ValidationError`` with per-field messages."""
    name = (name or "").strip()
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = ["Name the key after the script that uses it."]
    elif APIKey.objects.filter(name__iexact=name, revoked_at__isnull=True).exists():
        errors["name"] = ["A key with this name exists; revoke it first or choose another name."]
    if role not in Role.values:
        errors["role"] = [f"Choose one of: {', '.join(Role.values)}."]
    now = timezone.now()
    if expires_at <= now:
        errors["expires_at"] = ["The expiry must be in the future."]
    elif expires_at > now + datetime.timedelta(days=API_KEY_MAX_DAYS):
        errors["expires_at"] = [f"A key lasts at most {API_KEY_MAX_DAYS} days; create a new one then."]
    if errors:
        raise ValidationError(errors)
    prefix = secrets.token_hex(APIKey.PREFIX_LENGTH // 2)
    secret = f"{prefix}.{secrets.token_urlsafe(32)}"
    account = User(
        email=f"api-key-{prefix}@api-keys.invalid", full_name=f"API key: {name}"[:150], role=role,
        is_api_key_account=True,
    )  # fmt: skip
    account.set_unusable_password()
    account.save()
    key = APIKey.objects.create(
        name=name, prefix=prefix, key_hash=hash_secret(secret), account=account, created_by=actor, expires_at=expires_at
    )
    audit.record(
        event=events.API_KEY_CREATED, target=key, actor=actor,
        data={"name": name, "role": role, "expires_at": expires_at.isoformat()},
    )  # fmt: skip
    return key, secret


@transaction.atomic
def revoke_api_key(*, actor: User, key: APIKey) -> APIKey:
    """Revoke ``key`` at once: its account is deactivated, so no request authenticates with it again."""
    if key.revoked_at is not None:
        raise DomainError("This key is already revoked.")
    key.revoked_at = timezone.now()
    key.revoked_by = actor
    key.save(update_fields=["revoked_at", "revoked_by"])
    key.account.is_active = False
    key.account.save()
    audit.record(event=events.API_KEY_REVOKED, target=key, actor=actor, data={"name": key.name})
    return key


def authenticate_api_key(*, secret: str, request: Any) -> APIKey | None:
    """The usable key whose secret this is, with its last use updated and the request recorded under the
    key's account (the audit trail's actor is "API key: <name>"); None for an unknown, expired or revoked key
    (a known key refused is recorded too)."""
    prefix = secret.split(".", 1)[0]
    key = APIKey.objects.select_related("account").filter(prefix=prefix).first() if prefix else None
    if key is None or not hmac.compare_digest(key.key_hash, hash_secret(secret)):
        return None
    now = timezone.now()
    route = request.resolver_match.view_name if getattr(request, "resolver_match", None) else ""
    data = {"method": request.method, "path": request.path, "route": route}
    with transaction.atomic():
        if not key.is_usable(now):
            why = "revoked" if key.revoked_at else "expired" if key.expires_at <= now else "inactive"
            audit.record(event=events.API_KEY_REFUSED, target=key, actor=key.account, data={**data, "why": why})
            return None
        key.last_used_at = now
        key.save(update_fields=["last_used_at"])
        audit.record(event=events.API_KEY_USED, target=key, actor=key.account, data=data)
    return key


def totp_secret(device: TOTPDevice) -> str:
    """The secret of a device being enrolled, as authenticator apps take it when typed (base32)."""
    return base64.b32encode(device.bin_key).decode()
