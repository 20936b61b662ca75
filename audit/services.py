"""Writing to the audit trail. Every entry goes into ``AuditEvent``; nothing here updates or deletes."""

from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.http import HttpRequest

from audit.context import acting_as, current_request
from audit.models import AuditEvent

Action = AuditEvent.Action
__all__ = ["Action", "acting_as", "record", "record_security_event"]


def record(
    *,
    event: str,
    target: models.Model | None = None,
    target_model: type[models.Model] | None = None,
    actor: Any = None,
    action: int = Action.ACCESS,
    data: dict[str, Any] | None = None,
    patient_id: int | None = None,
    request: HttpRequest | None = None,
) -> AuditEvent:
    """Write one audit entry named ``event`` (``<app>.<model>.<past verb>``) about ``target``.

    Runs in the caller's transaction, so an entry exists only if the change it records commits.
    ``data`` must hold no PHI. Actor, address, user agent and request id come from the current request
    unless given.
    """
    if target is not None:
        content_type = ContentType.objects.get_for_model(target, for_concrete_model=False)
        object_pk, object_repr = str(target.pk), str(target)
    else:
        content_type = ContentType.objects.get_for_model(target_model or AuditEvent)
        object_pk, object_repr = "", ""
    entry = AuditEvent(
        event=event,
        action=action,
        content_type=content_type,
        object_pk=object_pk,
        object_id=target.pk if target is not None and isinstance(target.pk, int) else None,
        object_repr=object_repr,
        additional_data=data or None,
        patient_id=patient_id,
    )
    if actor is not None and getattr(actor, "is_authenticated", False):
        entry.actor = actor
    if request is not None:
        token = current_request.set(request)
        try:
            entry.save()
        finally:
            current_request.reset(token)
    else:
        entry.save()
    return entry


def record_security_event(
    request: HttpRequest | None, event: str, *, user: Any = None, data: dict[str, Any] | None = None
) -> AuditEvent:
    """Record a sign-in, sign-out, lockout or token event about ``user`` (when the account is known)."""
    from accounts.models import User

    target = user if isinstance(user, User) and user.pk else None
    return record(event=event, target=target, target_model=User, actor=target, data=data, request=request)
