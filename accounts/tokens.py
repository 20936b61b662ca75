"""API tokens (djangorestframework-simplejwt): how long a sign-in lasts and how it is revoked.

- A refresh token family (the token issued at sign-in and each one its rotation issues) carries the
  time of the sign-in (``auth_time``) and is refused ``JWT_REFRESH_ABSOLUTE_HOURS`` after it, however
  often it was rotated: a stolen refresh token used regularly no longer lives forever.
- A new password, a deactivation or a role change blacklists every outstanding refresh token of that
  user (``revoke_refresh_tokens``, called by ``User.save()`` so the admin site, the API, the pages and
  management commands all go through it). Access tokens carry a hash of the password
  (``CHECK_REVOKE_TOKEN``), so they stop working at once after a new password; after a deactivation
  JWTAuthentication refuses them; after a role change they keep working with the new role's permissions.
"""

from datetime import timedelta
from typing import Any, cast

from django.conf import settings
from django.contrib.auth.models import update_last_login
from django.utils import timezone
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework_simplejwt import serializers as jwt_serializers
from rest_framework_simplejwt.exceptions import AuthenticationFailed, TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.utils import datetime_from_epoch, datetime_to_epoch, get_md5_hash_password

AUTH_TIME_CLAIM = "auth_time"
SIGN_IN_AGAIN = "This sign-in is too old to be refreshed. Sign in again."


def absolute_lifetime() -> timedelta:
    return timedelta(hours=settings.JWT_REFRESH_ABSOLUTE_HOURS)


class SignInRefreshToken(RefreshToken):
    """A refresh token that remembers when its family began, and ends at the absolute lifetime."""

    @classmethod
    def for_user(cls, user: Any) -> "SignInRefreshToken":
        token = cast("SignInRefreshToken", super().for_user(user))  # simplejwt builds ``cls()``
        token[AUTH_TIME_CLAIM] = datetime_to_epoch(token.current_time)
        return token

    def set_exp(self, claim: str = "exp", from_time: Any = None, lifetime: Any = None) -> None:
        """A rotation's new expiry never reaches past the family's absolute end."""
        super().set_exp(claim, from_time, lifetime)
        if claim == "exp" and AUTH_TIME_CLAIM in self.payload:
            self.payload[claim] = min(self.payload[claim], datetime_to_epoch(self.family_ends_at))

    @property
    def family_ends_at(self) -> Any:
        return datetime_from_epoch(self.payload[AUTH_TIME_CLAIM]) + absolute_lifetime()

    def verify(self, *args: Any, **kwargs: Any) -> None:
        super().verify(*args, **kwargs)
        # Tokens issued before auth_time existed have no known sign-in time: they sign in again too.
        if AUTH_TIME_CLAIM not in self.payload or self.family_ends_at <= self.current_time:
            raise TokenError(SIGN_IN_AGAIN)


OTP_HELP = (
    "The current code of the user's authenticator app, or one of their recovery codes: required for a user "
    "with a second factor (400 without it, 401 if wrong; wrong codes count towards the lockout). A user whose "
    "role requires a second factor and who has none gets 403: enrol one on the website first."
)


class TokenObtainPairSerializer(jwt_serializers.TokenObtainPairSerializer):
    """Email, password and, for a user with a second factor, its code (``otp``): checked before any token exists."""

    token_class = SignInRefreshToken

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["otp"] = serializers.CharField(
            required=False, allow_blank=True, write_only=True, max_length=20, trim_whitespace=True, help_text=OTP_HELP
        )

    def validate(self, attrs: dict[str, Any]) -> dict[str, str]:
        from accounts import permissions, selectors, services
        from accounts.authentication import ENROL_FIRST
        from accounts.models import User

        jwt_serializers.TokenObtainSerializer.validate(self, attrs)  # authenticates (axes counts failures)
        user = cast(User, self.user)
        if selectors.has_second_factor(user):
            code = attrs.get("otp") or ""
            if not code:
                raise serializers.ValidationError(
                    {"otp": ["This account signs in with a second factor: send the code from the authenticator app."]}
                )
            if services.verify_second_factor(user=user, code=code, request=self.context["request"]) is None:
                raise AuthenticationFailed("The one-time code is not correct.", code="otp_invalid")
        elif permissions.must_enrol_second_factor(user):
            raise PermissionDenied(ENROL_FIRST)
        refresh = cast(SignInRefreshToken, self.get_token(user))
        if api_settings.UPDATE_LAST_LOGIN:
            update_last_login(type(user), user)
        return {"refresh": str(refresh), "access": str(refresh.access_token)}


class TokenRefreshSerializer(jwt_serializers.TokenRefreshSerializer):
    token_class = SignInRefreshToken

    def validate(self, attrs: dict[str, Any]) -> dict[str, str]:
        # The blacklist is written when the password changes; the password hash in the token also
        # catches a change made behind the model's back (SQL, ``QuerySet.update``).
        from accounts.models import User

        refresh = self.token_class(attrs["refresh"])
        user_id = refresh.payload.get(api_settings.USER_ID_CLAIM)
        user = User.objects.filter(pk=user_id).first() if user_id is not None else None
        password_hash = refresh.payload.get(api_settings.REVOKE_TOKEN_CLAIM)
        if user is not None and password_hash != get_md5_hash_password(user.password):
            raise AuthenticationFailed("The password has changed since this sign-in. Sign in again.")
        return super().validate(attrs)


class TokenBlacklistSerializer(jwt_serializers.TokenBlacklistSerializer):
    token_class = SignInRefreshToken


def revoke_refresh_tokens(user: Any, *, because: list[str]) -> int:
    """Blacklist every refresh token of ``user`` that could still be used, and audit it; return how many.

    ``because`` names what changed (``password``, ``deactivated``, ``role``). Runs in the caller's
    transaction (``User.save()``), so a rolled-back change revokes nothing.
    """
    from audit import services as audit

    usable = OutstandingToken.objects.filter(
        user=user, expires_at__gt=timezone.now(), blacklistedtoken__isnull=True
    ).values_list("pk", flat=True)
    revoked = [BlacklistedToken(token_id=pk) for pk in usable]
    if revoked:
        BlacklistedToken.objects.bulk_create(revoked, ignore_conflicts=True)
        audit.record(
            event="accounts.user.tokens_revoked", target=user, data={"tokens": len(revoked), "because": because}
        )
    return len(revoked)
