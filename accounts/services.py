"""Creating and changing user accounts, their second factor and API keys: one path for the admin site, the API,
the pages and the command line."""

import base64
import datetime
import hashlib
import hmac
import logging
import secrets
import threading
from typing import Any
from urllib.parse import urljoin

from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.signals import user_login_failed
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import emails, permissions, selectors
from accounts.models import AccessReview, APIKey, Invitation, RecoveryCode, Role, User, hash_secret, normalize_email
from accounts.selectors import Quarter
from audit import events
from audit import services as audit
from spectrum.exceptions import DomainError

logger = logging.getLogger(__name__)


class AccountError(DomainError):
    """An account operation that cannot be done (shown to the administrator as it is)."""


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


# --- Invitations ------------------------------------------------------------------------------------------


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _invitation_link(base_url: str, token: str) -> str:
    return urljoin(base_url, reverse("accounts:invitation-accept", args=[token]))


def _check_new_user(*, email: str, role: str) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not email:
        errors["email"] = ["Enter an email address."]
    elif User.objects.filter(email=email).exists():
        errors["email"] = ["A user with this email already exists."]
    if role not in Role.values:
        errors["role"] = [f"Choose one of: {', '.join(Role.values)}."]
    return errors


@transaction.atomic
def invite_user(
    *, email: str, full_name: str, role: str, actor: User | None, base_url: str, is_active: bool = True
) -> Invitation:
    """Create a user without a password and email them a link to set their own (``INVITATION_EXPIRY_HOURS``).

    Raises ``ValidationError`` with per-field messages. The email is sent once the transaction commits, so
    a rolled-back invitation sends nothing; an SMTP failure is logged and the invitation can be resent.
    An account created inactive (``is_active=False``, e.g. someone who starts later) gets no email yet:
    once it is activated, an administrator resends the invitation.
    """
    email = normalize_email(email)
    errors = _check_new_user(email=email, role=role)
    if errors:
        raise ValidationError(errors)
    user = User(email=email, full_name=full_name.strip(), role=role, is_active=is_active)
    user.set_unusable_password()
    user.full_clean(exclude=["password"])
    user.save()
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    invitation = Invitation.objects.create(
        user=user,
        token_hash=_token_hash(token),
        invited_by=actor if actor is not None and actor.is_authenticated else None,
        created_at=now,
        sent_at=now,
        expires_at=now + datetime.timedelta(hours=settings.INVITATION_EXPIRY_HOURS),
        times_sent=1 if is_active else 0,
    )
    if is_active:
        audit.record(event="accounts.invitation.sent", target=user, actor=actor, data={"role": role, "resent": False})
        _send_invitation(invitation, token=token, base_url=base_url)
    return invitation


@transaction.atomic
def resend_invitation(*, invitation: Invitation, actor: User, base_url: str) -> Invitation:
    """Send a new link (the old one stops working) with a fresh expiry."""
    invitation = Invitation.objects.select_for_update().select_related("user").get(pk=invitation.pk)
    if not invitation.is_open:
        raise AccountError("This invitation was already accepted or revoked.")
    if not invitation.user.is_active:
        raise AccountError("This account is deactivated: activate it before sending the invitation.")
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    invitation.token_hash = _token_hash(token)
    invitation.sent_at = now
    invitation.expires_at = now + datetime.timedelta(hours=settings.INVITATION_EXPIRY_HOURS)
    invitation.times_sent += 1
    invitation.save(update_fields=["token_hash", "sent_at", "expires_at", "times_sent"])
    audit.record(event="accounts.invitation.sent", target=invitation.user, actor=actor, data={"resent": True})
    _send_invitation(invitation, token=token, base_url=base_url)
    return invitation


@transaction.atomic
def revoke_invitation(*, invitation: Invitation, actor: User) -> Invitation:
    """End an unaccepted invitation; the account it created (never used) is deactivated."""
    invitation = Invitation.objects.select_for_update().select_related("user").get(pk=invitation.pk)
    if not invitation.is_open:
        raise AccountError("This invitation was already accepted or revoked.")
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    user = invitation.user
    user.is_active = False
    user.save()
    audit.record(event="accounts.invitation.revoked", target=user, actor=actor)
    return invitation


def invitation_for_token(token: str) -> Invitation | None:
    """The pending (open and unexpired) invitation whose link carries ``token``, or None."""
    invitation = Invitation.objects.select_related("user").filter(token_hash=_token_hash(token or "")).first()
    if invitation is None or invitation.status != Invitation.Status.PENDING or not invitation.user.is_active:
        return None
    return invitation


@transaction.atomic
def accept_invitation(*, invitation: Invitation, password: str) -> User:
    """Set the invited user's own password (the password policy applies) and close the invitation.

    Raises ``ValidationError`` ({"password": [...]}) for a password the policy refuses, and ``AccountError``
    when the invitation was used, revoked or expired meanwhile.
    """
    invitation = Invitation.objects.select_for_update().select_related("user").get(pk=invitation.pk)
    if invitation.status != Invitation.Status.PENDING:
        raise AccountError("This invitation link has expired or was already used. Ask an administrator for a new one.")
    user = invitation.user
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        raise ValidationError({"password": list(exc.messages)}) from None
    user.set_password(password)
    user.save()
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at"])
    audit.record(event="accounts.invitation.accepted", target=user, actor=user)
    return user


def _send_invitation(invitation: Invitation, *, token: str, base_url: str) -> None:
    user = invitation.user
    context = {
        "user": user,
        "link": _invitation_link(base_url, token),
        "expires_at": invitation.expires_at,
        "clinic_name": settings.CLINIC_NAME,
    }
    transaction.on_commit(lambda: emails.send("invitation", to=[user.email], context=context))


# --- Password reset ---------------------------------------------------------------------------------------


def request_password_reset(*, email: str, request: Any, send: bool = True) -> User | None:
    """ "Forgot your password?": email a single-use link (``PASSWORD_RESET_TIMEOUT``) if ``email`` is an
    active account with a password, and audit the request; return the account, or None.

    The same work happens whether or not the address is known: the email is built for every request (for an
    unknown address, for a stand-in account) and sent from a background thread, so neither the SMTP
    conversation nor its absence shows in the response time. ``send=False`` (the account's own rate limit
    was reached) builds it and sends nothing. The typed address is not audited (it may be anyone's).
    """
    email = normalize_email(email)
    user = User.objects.filter(email=email, is_active=True).first()
    if user is not None and not user.has_usable_password():
        user = None  # an invited user who has not accepted yet: their invitation is the way in
    recipient = user or User(pk=0, email=email, password="!")
    context = {
        "user": recipient,
        "uid": urlsafe_base64_encode(force_bytes(recipient.pk)),
        "token": default_token_generator.make_token(recipient),
        "domain": request.get_host(),
        "site_name": settings.CLINIC_NAME,
        "protocol": "https" if request.is_secure() else "http",
        "valid_minutes": settings.PASSWORD_RESET_TIMEOUT // 60,
    }
    message = emails.build("password_reset", to=[recipient.email], context=context)
    if user is not None and send:
        threading.Thread(target=emails.deliver, args=("password_reset", message), daemon=True).start()
    audit.record_security_event(
        request,
        "accounts.user.password_reset_requested",
        user=user,
        data={"known_account": user is not None, "email_sent": user is not None and send},
    )
    return user


def record_password_reset(*, user: User, request: Any) -> None:
    """Audit a password set through a reset link."""
    audit.record_security_event(request, "accounts.user.password_reset", user=user)


# --- Lockouts ---------------------------------------------------------------------------------------------


@transaction.atomic
def unlock_user(*, user: User, actor: User, reason: str) -> int:
    """Clear ``user``'s failed sign-ins (django-axes), from every address, and nobody else's.

    A lock on a whole address (``LOCKOUT_ADDRESS_FAILURE_LIMIT``) drops by this user's failures only.
    Returns how many records were cleared; raises ``ValidationError`` without a reason.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": ["Say why this user is unlocked (it goes into the audit trail)."]})
    attempts = AccessAttempt.objects.filter(username=user.email)
    failures = sum(attempts.values_list("failures_since_start", flat=True))
    cleared, _ = attempts.delete()
    audit.record(
        event="accounts.user.unlocked",
        target=user,
        actor=actor,
        action=audit.Action.UPDATE,
        data={"reason": reason[:500], "failures_cleared": failures},
    )
    return cleared


# --- Automatic deactivation -------------------------------------------------------------------------------


@transaction.atomic
def deactivate_inactive_users(*, now: datetime.datetime | None = None) -> list[User]:
    """Deactivate every active user without a sign-in for ``ACCOUNT_INACTIVE_DAYS`` and email the administrators.

    A user who never signed in counts from when the account was made (``date_joined``). Each deactivation
    ends the user's sessions and tokens (``User.save``) and is audited; the email leaves after the commit.
    """
    from accounts import selectors

    now = now or timezone.now()
    users = list(selectors.inactive_users(now=now).select_for_update())
    for user in users:
        user.is_active = False
        user.save()
        audit.record(
            event="accounts.user.deactivated_inactive",
            target=user,
            action=audit.Action.UPDATE,
            data={"inactive_days": settings.ACCOUNT_INACTIVE_DAYS},
        )
    if users:
        recipients = list(
            User.objects.filter(role=Role.ADMIN, is_active=True).values_list("email", flat=True).order_by("email")
        )
        context = {
            "users": [
                {"name": user.get_full_name(), "email": user.email, "last_login": user.last_login} for user in users
            ],
            "days": settings.ACCOUNT_INACTIVE_DAYS,
            "clinic_name": settings.CLINIC_NAME,
        }
        if recipients:
            transaction.on_commit(lambda: emails.send("inactive_users", to=recipients, context=context))
    return users


# --- Access reviews ---------------------------------------------------------------------------------------


@transaction.atomic
def confirm_access_review(*, quarter: Quarter, actor: User) -> AccessReview:
    """Record that ``actor`` reviewed and confirmed the quarter's access report (once per quarter)."""
    from accounts import selectors

    if AccessReview.objects.filter(period_start=quarter.start).exists():
        raise AccountError(f"The access review for {quarter.label} is already confirmed.")
    if quarter.end >= timezone.localdate():
        raise AccountError("A quarter's access review can be confirmed once the quarter has ended.")
    review = AccessReview.objects.create(
        period_start=quarter.start,
        period_end=quarter.end,
        confirmed_by=actor,
        active_users=selectors.active_users().count(),
    )
    audit.record(event="accounts.access_review.confirmed", target=review, actor=actor, data={"quarter": quarter.label})
    return review
