"""How API requests authenticate: JWT for people (with the second-factor policy), API keys for scripts."""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework_simplejwt.authentication import JWTAuthentication

from accounts import permissions, services

ENROL_FIRST = "Enrol a second factor first: sign in on the website and set up an authenticator app."


class SecondFactorJWTAuthentication(JWTAuthentication):
    """simplejwt's bearer tokens, refused (403) for a user whose role now requires a second factor they lack.

    The token endpoint already refuses such a user; this covers tokens issued before the policy applied.
    """

    def authenticate(self, request: Any) -> tuple[Any, Any] | None:
        result = super().authenticate(request)
        if result is not None and permissions.must_enrol_second_factor(result[0]):  # type: ignore[arg-type]
            raise exceptions.PermissionDenied(ENROL_FIRST)
        return result


class APIKeyAuthentication(authentication.BaseAuthentication):
    """``Authorization: Api-Key <key>``: the request acts as the key's account (its role), and is audited
    under the key's name. Unknown, expired and revoked keys get 401."""

    keyword = "Api-Key"

    def authenticate(self, request: Any) -> tuple[Any, Any] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != self.keyword.lower():
            return None
        secret = secret.strip()
        if not secret or " " in secret:
            raise exceptions.AuthenticationFailed("Send the key as: Authorization: Api-Key <key>.")
        key = services.authenticate_api_key(secret=secret, request=request._request)
        if key is None:
            raise exceptions.AuthenticationFailed("This API key is not valid, has expired or was revoked.")
        return key.account, key

    def authenticate_header(self, request: Any) -> str:
        return self.keyword


class APIKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    """The OpenAPI security scheme of API keys."""

    target_class = "accounts.authentication.APIKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "Scripts: `Api-Key <key>`; keys are created by administrators (Account > API keys).",
        }


class SecondFactorJWTAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.SecondFactorJWTAuthentication"
    name = "jwtAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
