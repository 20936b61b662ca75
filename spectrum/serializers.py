"""Serializer pieces shared by the apps' APIs."""

import datetime
import re
from collections.abc import Mapping
from typing import Any

from django.db import models
from drf_spectacular.utils import extend_schema_field
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
        if getattr(self.context.get("view"), "swagger_fake_view", False):  # type: ignore[attr-defined]
            return None  # the schema documents every field, whoever asks for it (/api/schema/)
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


CLOCK_TIME_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$"


@extend_schema_field(
    {
        "type": "string",
        "pattern": CLOCK_TIME_PATTERN,
        "example": "14:30",
        "description": "A time on the clinic's wall clock (its TIME_ZONE), HH:MM or HH:MM:SS, without an offset.",
    }
)
class ClockTimeField(serializers.TimeField):
    """A wall-clock time such as an appointment's start: no offset, no fractions of a second.

    OpenAPI's ``format: time`` is RFC 3339's full-time, which requires an offset; these times have none (a
    weekly 10:00 session stays at 10:00 across daylight-saving changes), so the schema gives a pattern.
    DRF's TimeField would accept ``10:00+05:00`` and silently drop the offset: refused here instead.
    """

    default_error_messages = {"invalid": "Give a clinic clock time as HH:MM or HH:MM:SS, without a time zone."}

    def to_internal_value(self, value: datetime.time | str) -> datetime.time:
        if isinstance(value, str) and not re.fullmatch(CLOCK_TIME_PATTERN, value):
            self.fail("invalid")
        return super().to_internal_value(value)

    def to_representation(self, value: datetime.time) -> str:
        return value.strftime("%H:%M:%S")
