"""API conventions shared by every app: pagination, errors, rate limits."""

from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django_ratelimit.exceptions import Ratelimited
from rest_framework import pagination, parsers
from rest_framework.exceptions import ParseError, PermissionDenied, Throttled
from rest_framework.exceptions import ValidationError as DRFValidationError
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle

from spectrum import ratelimit
from spectrum.exceptions import DomainError
from spectrum.net import client_ip


class PageNumberPagination(pagination.PageNumberPagination):
    """``page`` and ``page_size`` (default 50, at most 200); answers ``{count, next, previous, results}``."""

    page_size_query_param = "page_size"
    max_page_size = 200


class ObjectJSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing a body that is not an object (``[]``, ``"x"``): every API write takes one,
    and views read ``request.data`` as a mapping."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict | None = None) -> Any:
        data = super().parse(stream, media_type, parser_context)
        if not isinstance(data, dict):
            raise ParseError("The request body must be a JSON object.")
        return data


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus our domain errors, Django's refusals and rate limits as JSON: the one mapping.

    Viewsets let services raise: ``DomainError`` keeps its status (400, 409, ...) and extra fields, Django's
    ``ValidationError`` becomes 400 with per-field messages and ``PermissionDenied`` 403 with its message.
    """
    # Imported here: rest_framework.views reads the DRF settings, which name classes in this module.
    from rest_framework.views import exception_handler as drf_exception_handler

    if isinstance(exc, DomainError):
        return Response({"detail": exc.message, **exc.extra}, status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        exc = DRFValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages})
    if isinstance(exc, DjangoPermissionDenied):
        exc = PermissionDenied(str(exc) or None)
    if isinstance(exc, Ratelimited):
        exc = Throttled(wait=60)
    return drf_exception_handler(exc, context)


class RatelimitThrottle(BaseThrottle):
    """A DRF throttle counted by django-ratelimit on the shared cache, so every instance sees one count.

    DRF turns a refusal into 429 with ``Retry-After`` (``spectrum.ratelimit``: a client that waits that
    long is let through).
    """

    group: str = ""
    rate_setting: str = ""

    def key(self, group: str, request: Any) -> str:
        return client_ip(request)

    def rate(self, request: Any) -> str:
        return getattr(settings, self.rate_setting)

    def allow_request(self, request: Any, view: Any) -> bool:
        self.retry_after = ratelimit.count_request(
            request, group=self.group_for(request), key=self.key, rate=self.rate(request)
        )
        return self.retry_after is None

    def group_for(self, request: Any) -> str:
        return self.group

    def wait(self) -> float | None:
        return self.retry_after


class LoginRateThrottle(RatelimitThrottle):
    """Sign-in attempts per client address; shared with the login page (same group)."""

    group = "login"
    rate_setting = "RATELIMIT_LOGIN"


class UserRateThrottle(RatelimitThrottle):
    """Reads and writes per user (per address before authentication)."""

    def key(self, group: str, request: Any) -> str:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return f"user:{user.pk}"
        return f"ip:{client_ip(request)}"

    def group_for(self, request: Any) -> str:
        return "api-read" if request.method in SAFE_METHODS else "api-write"

    def rate(self, request: Any) -> str:
        if request.method in SAFE_METHODS:
            return settings.RATELIMIT_API_READ
        return ratelimit.api_write_rate(getattr(request, "user", None))
