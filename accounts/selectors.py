"""Reads about accounts' second factors and API keys."""

from django.db.models import QuerySet
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import APIKey, RecoveryCode, User


def totp_device_of(user: User) -> TOTPDevice | None:
    """The user's confirmed authenticator (TOTP) device, if they enrolled one."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def has_second_factor(user: User) -> bool:
    """Whether ``user`` signs in with a second factor (a confirmed authenticator app)."""
    return bool(user.pk) and TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def unused_recovery_codes(user: User) -> QuerySet[RecoveryCode]:
    """The recovery codes ``user`` has not used yet."""
    return RecoveryCode.objects.filter(user=user, used_at__isnull=True)


def api_keys() -> QuerySet[APIKey]:
    """Every API key, newest first, with the accounts (role) and people shown beside them."""
    return APIKey.objects.select_related("account", "created_by", "revoked_by").order_by("-created_at")
