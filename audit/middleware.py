import re
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from audit.context import current_request


class AuditActorMiddleware:
    """Remember the request for the audit trail, and record refusals (403) on PHI paths.

    auditlog's own middleware fixes the actor before DRF authenticates a JWT request, which logs API
    changes with no actor. We resolve the actor when each entry is saved instead (see
    ``audit.receivers.fill_request_context``): by then DRF has set ``request.user``.

    A 403 answered to a signed-in user under one of ``accounts.permissions.PHI_PATHS`` becomes one
    ``accounts.permission.denied`` entry, whichever view, API endpoint or admin page refused: views raise
    ``PermissionDenied`` or DRF answers 403, and both arrive here as a response.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = current_request.set(request)
        try:
            response = self.get_response(request)
            if response.status_code == 403:
                record_permission_denied(request)
        finally:
            current_request.reset(token)
        return response


def record_permission_denied(request: HttpRequest) -> None:
    """Write the entry for a 403 on a PHI path to a signed-in user (anonymous visitors get 302/401)."""
    from accounts import permissions
    from audit import events, services

    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not permissions.is_phi_path(request.path):
        return
    match = request.resolver_match
    patient_id = None
    argument = permissions.phi_patient_argument(request.path)
    value = str(match.kwargs.get(argument, "")) if argument and match is not None else ""
    # ASCII digits that fit the column (a bigint): a path may hold "²" or a 30-digit number.
    if re.fullmatch(r"[0-9]{1,18}", value):
        patient_id = int(value)
    # The path holds ids only (never names: STYLE §5); the query string, which may, is left out.
    data = {"method": request.method, "path": request.path, "route": match.view_name if match else ""}
    services.record_security_event(request, events.PERMISSION_DENIED, user=user, data=data, patient_id=patient_id)
