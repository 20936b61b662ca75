"""The OpenAPI schema as a contract: every operation lists the error answers it can give.

drf-spectacular documents an operation's success only. Clients (and the schemathesis run in
tests/api/test_schema_contract.py) need the errors too, so ``SpectrumAutoSchema`` adds them by rule,
from what the view is:

- 400 where the request carries a body or query parameters (per-field messages, see ``ValidationError``);
- 401 everywhere (no, bad or expired credentials); 403 where a permission class can refuse;
- 404 where the path names an object, and on paginated lists (a page past the end);
- 409 on writes (a likely duplicate, a double booking: ``spectrum.exceptions.ConflictError``);
- 415 where there is a body (a content type the API does not parse);
- 423 where credentials are checked against the lockout (the token endpoint);
- 429 where a throttle counts (with ``Retry-After``); 503 everywhere (a dependency is down).

Whatever a view declares itself (``@extend_schema(responses={...})``) wins over these.
"""

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from rest_framework.permissions import AllowAny
from rest_framework_simplejwt.views import TokenObtainPairView

ERROR_SCHEMA = {
    "type": "object",
    "description": "What went wrong, in a sentence that can be shown to the user. Some errors add fields "
    "(a conflict names the conflicting record).",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}

VALIDATION_ERROR_SCHEMA = {
    "type": "object",
    "description": "Per-field messages: each key is a field of the request (or `non_field_errors`, or "
    "`detail` for a body that could not be parsed), each value its messages (a list), or a message, or "
    "per-item messages for list and nested fields.",
    "additionalProperties": {
        "anyOf": [{"type": "array", "items": {}}, {"type": "object"}, {"type": "string"}],
    },
}

RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "required": True,
        "schema": {"type": "integer", "minimum": 0},
    }
}

ERRORS: dict[int, tuple[str, str]] = {
    # status: (description, body component)
    400: ("The request is invalid: nothing was changed.", "ValidationError"),
    401: ("No credentials, or credentials that are wrong, expired or revoked.", "Error"),
    403: ("Your role may not do this.", "Error"),
    404: ("No such object (or none you may see), or a page past the end of the list.", "Error"),
    409: ("The change conflicts with existing data (a likely duplicate, a double booking).", "Error"),
    415: ("The request body's content type is not one the API accepts.", "Error"),
    423: ("The account is locked after too many failed sign-in attempts.", "Error"),
    429: ("Too many requests: wait as long as Retry-After says.", "Error"),
    503: ("A service Spectrum depends on is unavailable; try again after Retry-After.", "Error"),
}


class SpectrumAutoSchema(AutoSchema):
    """drf-spectacular's AutoSchema, plus the error responses each operation can give."""

    def get_operation(self, path: str, path_regex: str, path_prefix: str, method: str, registry: Any) -> Any:
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        responses = operation["responses"]
        for status in self.error_statuses(operation):
            responses.setdefault(str(status), self._error_response(status))
        return operation

    def error_statuses(self, operation: dict[str, Any]) -> list[int]:
        """The error statuses this operation can answer with, by the rules in the module's docstring."""
        has_body = "requestBody" in operation
        has_query = any(parameter.get("in") == "query" for parameter in operation.get("parameters", []))
        names_object = "{" in self.path
        writes = self.method in {"POST", "PUT", "PATCH", "DELETE"}
        guarded = any(not isinstance(permission, AllowAny) for permission in self.view.get_permissions())
        statuses = {401, 503}
        if has_body or has_query:
            statuses.add(400)
        if guarded:
            statuses.add(403)
        if names_object or (has_query and self._is_paginated_list()):
            statuses.add(404)
        if writes and guarded:
            statuses.add(409)
        if has_body:
            statuses.add(415)
        if isinstance(self.view, TokenObtainPairView):
            statuses.add(423)
        if self.view.throttle_classes:
            statuses.add(429)
        return sorted(statuses)

    def _is_paginated_list(self) -> bool:
        return getattr(self.view, "action", None) == "list" and getattr(self.view, "paginator", None) is not None

    def _error_response(self, status: int) -> dict[str, Any]:
        description, component_name = ERRORS[status]
        body = {"ValidationError": VALIDATION_ERROR_SCHEMA, "Error": ERROR_SCHEMA}[component_name]
        component = ResolvedComponent(
            name=component_name, type=ResolvedComponent.SCHEMA, schema=body, object=component_name
        )
        self.registry.register_on_missing(component)
        response: dict[str, Any] = {
            "description": description,
            "content": {"application/json": {"schema": component.ref}},
        }
        if status in (429, 503):
            response["headers"] = RETRY_AFTER
        return response


ROLE_DEPENDENT_NOTE = "Absent from the answers given to roles that may not see it."


def role_dependent_fields_are_optional(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict:
    """A postprocessing hook: patient fields some roles may not see are absent from their answers, so the
    schema lists them (whoever asks for it) but never as required."""
    from django.contrib.auth.models import AnonymousUser

    from accounts import permissions

    role_dependent = permissions.patient_hidden_fields(AnonymousUser())  # everything some role may not see
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if not name.removeprefix("Patched").startswith("Patient") or "properties" not in component:
            continue
        for field in role_dependent & set(component["properties"]):
            prop = component["properties"][field]
            prop["description"] = " ".join(filter(None, [prop.get("description"), ROLE_DEPENDENT_NOTE]))
        if "required" in component:
            component["required"] = [field for field in component["required"] if field not in role_dependent]
    return result
