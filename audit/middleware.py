from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from audit.context import current_request


class AuditActorMiddleware:
    """Remember the request for the audit trail.

    auditlog's own middleware fixes the actor before DRF authenticates a JWT request, which logs API
    changes with no actor. We resolve the actor when each entry is saved instead (see
    ``audit.receivers.fill_request_context``): by then DRF has set ``request.user``.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = current_request.set(request)
        try:
            return self.get_response(request)
        finally:
            current_request.reset(token)
