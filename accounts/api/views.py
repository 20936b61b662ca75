from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import AuthenticationFailed, PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt import views as jwt_views

from accounts import permissions, services
from accounts.api.serializers import (
    MeSerializer,
    SecondFactorResetInputSerializer,
    UnlockResultSerializer,
    UnlockUserInputSerializer,
    UserSerializer,
)
from accounts.filters import UserFilter
from accounts.lockout import AccountLocked, reset_account_attempts
from accounts.models import User
from accounts.permissions import IsAuthenticatedActive, UserPermissions, can_unlock_users
from accounts.reauth import require_recent_authentication
from accounts.tokens import SignInRefreshToken
from audit import services as audit
from spectrum.api import LoginRateThrottle
from spectrum.net import client_ip


class TokenObtainView(jwt_views.TokenObtainPairView):
    """Exchange email and password for an access and a refresh token.

    Failures count towards the same lockout as the login page; a locked account gets 423.
    """

    throttle_classes = [LoginRateThrottle]

    def post(self, request: Request, *args, **kwargs) -> Response:
        try:
            response = super().post(request, *args, **kwargs)
        except AuthenticationFailed:
            # Axes flags the DRF request it was given; its middleware only sees the Django request below.
            if getattr(request, "axes_locked_out", False):
                raise AccountLocked() from None
            raise
        user = User.objects.get(email=request.data.get("email", "").strip().lower())
        # As the login page does (AXES_RESET_ON_SUCCESS): this account's failures from this address only.
        reset_account_attempts(username=user.email, ip_address=client_ip(request))
        audit.record_security_event(request._request, "accounts.token.issued", user=user)
        return response


class TokenRefreshView(jwt_views.TokenRefreshView):
    """Exchange a refresh token for a new pair; the old refresh token is blacklisted (rotation)."""

    throttle_classes = [LoginRateThrottle]

    def post(self, request: Request, *args, **kwargs) -> Response:
        response = super().post(request, *args, **kwargs)
        user_id = SignInRefreshToken(response.data["refresh"], verify=False).payload.get("user_id")
        audit.record_security_event(
            request._request, "accounts.token.refreshed", user=User.objects.filter(pk=user_id).first()
        )
        return response


class TokenRevokeView(jwt_views.TokenBlacklistView):
    """Sign out of the API: blacklist the given refresh token."""

    throttle_classes = [LoginRateThrottle]

    def post(self, request: Request, *args, **kwargs) -> Response:
        # The parent answers a body that is not an object, or has no token, with 400 and a bad token with 401.
        response = super().post(request, *args, **kwargs)
        # Blacklisted just now, so read without verifying again (the signature was checked above).
        user_id = SignInRefreshToken(request.data["refresh"], verify=False).payload.get("user_id")
        audit.record_security_event(
            request._request, "accounts.token.revoked", user=User.objects.filter(pk=user_id).first()
        )
        response.status_code = 204
        response.data = None
        return response


class MeView(APIView):
    permission_classes = [IsAuthenticatedActive]

    @extend_schema(responses=MeSerializer)
    def get(self, request: Request) -> Response:
        return Response(MeSerializer(request.user).data)


class UserViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Staff accounts, for administrators. Deactivate with ``is_active: false``; users are never deleted.

    Creating a user sends them an invitation by email (``INVITATION_EXPIRY_HOURS``); they set their own
    password. No request takes a password.
    """

    serializer_class = UserSerializer
    permission_classes = [UserPermissions]
    filterset_class = UserFilter
    ordering_fields = ["email", "full_name", "role", "date_joined", "last_login"]
    ordering = ["full_name", "email"]

    def get_queryset(self):
        # API keys' accounts are not people: they are listed on the API keys page.
        return User.objects.filter(is_api_key_account=False).select_related("invitation").order_by(*self.ordering)

    @extend_schema(
        request=SecondFactorResetInputSerializer,
        responses={204: None},
        description="Remove the user's second factor (lost phone), with a reason recorded in the audit trail. "
        "Administrators; needs a recent sign-in (403 `reauthentication_required` otherwise).",
    )
    @action(detail=True, methods=["post"], url_path="reset-second-factor")
    def reset_second_factor(self, request: Request, pk: str | None = None) -> Response:
        user = self.get_object()
        if not permissions.can_reset_second_factor(request.user, user):
            raise PermissionDenied("Only administrators can reset another user's second factor.")
        require_recent_authentication(request)
        serializer = SecondFactorResetInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.reset_second_factor(actor=request.user, user=user, reason=serializer.validated_data["reason"])
        return Response(status=204)

    def perform_create(self, serializer: UserSerializer) -> None:
        data = serializer.validated_data
        # A ValidationError (email taken) becomes a 400 with per-field messages in spectrum.api's handler.
        invitation = services.invite_user(
            email=data["email"],
            full_name=data.get("full_name", ""),
            role=data["role"],
            is_active=data.get("is_active", True),
            actor=self.request.user,
            base_url=self.request.build_absolute_uri("/"),
        )
        serializer.instance = invitation.user

    @extend_schema(request=UnlockUserInputSerializer, responses=UnlockResultSerializer)
    @action(detail=True, methods=["post"])
    def unlock(self, request: Request, pk: str | None = None) -> Response:
        """Clear this user's sign-in lockout (theirs only), with a ``reason`` for the audit trail."""
        if not can_unlock_users(request.user):
            self.permission_denied(request)
        user = self.get_object()
        data = UnlockUserInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        cleared = services.unlock_user(user=user, actor=request.user, reason=data.validated_data["reason"])
        return Response({"cleared": cleared})

    def perform_update(self, serializer: UserSerializer) -> None:
        user, data = serializer.instance, serializer.validated_data
        if ("role" in data and data["role"] != user.role) or (user.is_active and data.get("is_active") is False):
            require_recent_authentication(self.request)
        serializer.instance = services.update_user(
            user=serializer.instance, actor=self.request.user, **serializer.validated_data
        )
