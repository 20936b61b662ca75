"""OpenAPI (drf-spectacular): the token serializers of ``accounts.tokens`` documented as simplejwt's are.

drf-spectacular's simplejwt extensions match simplejwt's classes exactly, not subclasses; without
these the schema would lose the tokens that sign-in and refresh return.
"""

from drf_spectacular.contrib.rest_framework_simplejwt import (
    TokenObtainPairSerializerExtension,
    TokenRefreshSerializerExtension,
)


class SignInTokenObtainPairSerializerExtension(TokenObtainPairSerializerExtension):
    target_class = "accounts.tokens.TokenObtainPairSerializer"


class SignInTokenRefreshSerializerExtension(TokenRefreshSerializerExtension):
    target_class = "accounts.tokens.TokenRefreshSerializer"
