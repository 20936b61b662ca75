"""Serializer pieces shared by the apps' APIs."""

from collections.abc import Mapping
from typing import Any

from django.db import models
from rest_framework import serializers

from accounts import permissions

REFUSED = "Your role may not set this field."
CLINICAL_TEXT_HELP = (
    "Clinical text: absent for roles that may not read it (front desk), refused from roles that may not set it."
)


# Comments, not a docstring: drf-spectacular would show a docstring as every API serializer's description.
class RoleFieldsMixin:
    # Leaves out of answers the fields the requesting user's role may not see, and refuses (400, per field)
    # a request that sets a field the role may not write, as ``accounts.permissions`` decides for the model.
    # The model is ``Meta.model``; an input serializer that writes another model's fields names it in
    # ``role_fields_model``.

    role_fields_model: type[models.Model] | None = None

    def _rules_model(self) -> type[models.Model]:
        return self.role_fields_model or self.Meta.model  # type: ignore[attr-defined]

    def _request_user(self) -> Any:
        """The signed-in user the answer is for; None when there is none (e.g. generating the schema,
        which documents every field: anonymous API requests are refused before any serializer runs)."""
        request = self.context.get("request")  # type: ignore[attr-defined]
        user = getattr(request, "user", None)
        return user if user is not None and user.is_authenticated else None

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()  # type: ignore[misc]
        user = self._request_user()
        if user is not None:
            for name in permissions.hidden_fields(user, self._rules_model()):
                fields.pop(name, None)
        return fields

    def to_internal_value(self, data: Any) -> Any:
        user = self._request_user()
        if user is not None and isinstance(data, Mapping):
            # An empty value writes nothing; anything else is refused, never silently dropped.
            refused = sorted(
                name
                for name in permissions.unwritable_fields(user, self._rules_model())
                if data.get(name) not in (None, "", [])
            )
            if refused:
                raise serializers.ValidationError({name: [REFUSED] for name in refused})
        return super().to_internal_value(data)  # type: ignore[misc]
