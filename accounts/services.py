"""Creating and changing user accounts: one path for the admin site, the API, the pages and the command line."""

import datetime
import hashlib
import logging
import secrets
import threading
from typing import Any
from urllib.parse import urljoin

from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts import emails
from accounts.models import AccessReview, Invitation, Role, User, normalize_email
from accounts.selectors import Quarter
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
