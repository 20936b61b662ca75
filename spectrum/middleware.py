"""Project-wide middleware."""

import uuid
from collections.abc import Callable

from django.core.exceptions import BadRequest
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import patch_cache_control

Handler = Callable[[HttpRequest], HttpResponse]


class RequestIdMiddleware:
    """Give every request an id (or keep a proxy's ``X-Request-ID``) for logs and the audit trail."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        # Accept only a short, plain token from outside so nothing odd reaches logs or the trail.
        request.request_id = (
            incoming if incoming.replace("-", "").isalnum() and len(incoming) <= 64 else uuid.uuid4().hex
        )
        response = self.get_response(request)
        response["X-Request-ID"] = request.request_id
        return response


class NoStoreMiddleware:
    """Forbid caching of every dynamic response: pages and API answers may hold PHI.

    Static files are answered by WhiteNoise before this middleware runs, so they stay cacheable.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        patch_cache_control(response, no_store=True, no_cache=True, private=True, max_age=0)
        return response


class RefuseNulBytesMiddleware:
    """Answer 400 to a query string holding a NUL byte, whatever the view.

    No list, search or filter has a use for one, and PostgreSQL refuses it in any text (the search, the
    audit entry recording the search): it used to surface as a 500 wherever a parameter reached a query.
    Bodies are the forms' and serializers' business (their text fields refuse control characters).
    """

    message = "The query string holds a NUL byte."

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if any("\x00" in key or any("\x00" in value for value in values) for key, values in request.GET.lists()):
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": self.message}, status=400)
            raise BadRequest(self.message)
        return self.get_response(request)
