"""OpenAPI (drf-spectacular): the token serializers of ``accounts.tokens`` documented as simplejwt's are.

drf-spectacular's simplejwt extensions match simplejwt's classes exactly, not subclasses; without
these the schema would lose the tokens that sign-in and refresh return.
"""

from drf_spectacular.contrib.rest_framework_simplejwt import (
    TokenObtainPairSerializerExtension,
    TokenRefreshSerializerExtension,
)
from drf_spectacular.utils import inline_serializer
from rest_framework import serializers

from accounts.tokens import OTP_HELP


class SignInTokenObtainPairSerializerExtension(TokenObtainPairSerializerExtension):
    """simplejwt's fields plus ``otp``, the second factor's code (required for users who have one)."""

    target_class = "accounts.tokens.TokenObtainPairSerializer"

    def map_serializer(self, auto_schema, direction):
        fixed = inline_serializer(
            "SignIn",
            fields={
                "email": serializers.EmailField(write_only=True),
                "password": serializers.CharField(write_only=True),
                "otp": serializers.CharField(write_only=True, required=False, help_text=OTP_HELP),
                "access": serializers.CharField(read_only=True),
                "refresh": serializers.CharField(read_only=True),
            },
        )
        return auto_schema._map_serializer(fixed, direction)


class SignInTokenRefreshSerializerExtension(TokenRefreshSerializerExtension):
    target_class = "accounts.tokens.TokenRefreshSerializer"
