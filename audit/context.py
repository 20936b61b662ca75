"""Who is acting and in which request, so entries written deep in a service know who, from where and which request."""

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

from django.http import HttpRequest

current_request: ContextVar[HttpRequest | None] = ContextVar("audit_current_request", default=None)
current_actor: ContextVar[Any] = ContextVar("audit_current_actor", default=None)


@contextlib.contextmanager
def acting_as(actor: Any) -> Iterator[None]:
    """Attribute every entry written inside the block (e.g. by auditlog's signals) to ``actor``.

    Services take the acting user explicitly; this carries it to entries they do not write themselves,
    also outside a request (management commands, tests).
    """
    token = current_actor.set(actor)
    try:
        yield
    finally:
        current_actor.reset(token)


# The patient of the instance auditlog is about to log: (model label, pk, patient id). auditlog builds the
# entry from the instance without passing it on, so its pre_log signal (audit.receivers) hands it over here.
pending_patient: ContextVar[tuple[str, str, int] | None] = ContextVar("audit_pending_patient", default=None)


def fill_from_context(entry: Any) -> None:
    """Complete a new entry with who acted, from where, in which request, and which patient it concerns."""
    from audit.registry import PATIENT_MODEL
    from spectrum.net import client_ip

    actor = current_actor.get()
    if entry.actor_id is None and actor is not None and actor.is_authenticated:
        entry.actor = actor
    request = current_request.get()
    if request is not None:
        user = getattr(request, "user", None)
        if entry.actor_id is None and user is not None and user.is_authenticated:
            entry.actor = user
        entry.remote_addr = entry.remote_addr or client_ip(request)
        entry.user_agent = entry.user_agent or request.headers.get("User-Agent", "")[:300]
        entry.request_id = entry.request_id or getattr(request, "request_id", "")
        entry.cid = entry.cid or entry.request_id or None
    if entry.actor is not None:
        entry.actor_email = entry.actor.email
        entry.actor_role = entry.actor.role
    model = entry.content_type.model_class() if entry.content_type_id else None
    pending = pending_patient.get()
    if pending is not None and model is not None and pending[:2] == (model._meta.label, str(entry.object_pk)):
        if entry.patient_id is None:
            entry.patient_id = pending[2]
        pending_patient.set(None)
    if entry.patient_id is None and model is not None and model._meta.label == PATIENT_MODEL:
        entry.patient_id = entry.object_id
    # A model may also say so through auditlog's get_additional_data() -> {"patient_id": ...}.
    extra_patient = entry.additional_data.get("patient_id") if isinstance(entry.additional_data, dict) else None
    if entry.patient_id is None and isinstance(extra_patient, int):
        entry.patient_id = extra_patient
    if not entry.event:
        verb = {0: "created", 1: "updated", 2: "deleted", 3: "viewed"}[entry.action]
        label = f"{model._meta.app_label}.{model._meta.model_name}" if model else "unknown"
        entry.event = f"{label}.{verb}"
