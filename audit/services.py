"""Writing to the audit trail. Every entry goes into ``AuditEvent``; nothing here updates or deletes.

Each helper writes exactly one row (one INSERT) in the caller's transaction, except ``record_updates``,
which writes the entries of a change of many rows in one INSERT. Apps call them through the module
(``audit.record(...)``, ``audit.record_search(...)``, ``audit.record_export(...)``).
"""

from collections.abc import Iterable, Mapping
from typing import Any

from auditlog.cid import get_cid
from auditlog.diff import model_instance_diff
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.http import HttpRequest
from django.utils.encoding import smart_str

from audit import events
from audit.context import acting_as, current_request
from audit.masking import mask_identifiers
from audit.models import AuditEvent
from audit.registry import PATIENT_MODEL, patient_id_of

Action = AuditEvent.Action
__all__ = [
    "Action", "acting_as", "record", "record_export", "record_search", "record_security_event", "record_updates",
]  # fmt: skip


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
    unless given; ``patient_id`` comes from ``target`` when its model declares one (``register_audited``).
    """
    if target is not None:
        content_type = ContentType.objects.get_for_model(target, for_concrete_model=False)
        object_pk, object_repr = str(target.pk), str(target)
        if patient_id is None:
            patient_id = patient_id_of(target)
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


def record_updates(*, changes: Iterable[tuple[models.Model, models.Model]], actor: Any) -> list[AuditEvent]:
    """Write, in one INSERT, the update entries auditlog writes on ``save()`` for each ``(before, after)``
    pair of a change of many rows: the same diff (registered exclusions and masks), patient and actor.

    For a service that writes many rows of an audited model with one bulk statement (e.g. a group roster)
    and already holds each row's previous state (a copy taken under its row lock), so that nothing is read
    again per row. Pairs with no tracked change write nothing. Runs in the caller's transaction.
    """
    entries = []
    for before, after in changes:
        diff = model_instance_diff(
            before, after, use_json_for_changes=getattr(settings, "AUDITLOG_STORE_JSON_CHANGES", False)
        )
        if not diff:
            continue
        # As auditlog's LogEntry.objects.log_create builds it (register_audited never serializes data).
        get_additional_data = getattr(after, "get_additional_data", None)
        entries.append(
            AuditEvent(
                action=Action.UPDATE,
                content_type=ContentType.objects.get_for_model(after),
                object_pk=str(after.pk),
                object_id=after.pk if isinstance(after.pk, int) else None,
                object_repr=smart_str(after),
                changes=diff,
                additional_data=get_additional_data() if callable(get_additional_data) else None,
                patient_id=patient_id_of(after),
                actor=actor if getattr(actor, "is_authenticated", False) else None,
                cid=get_cid(),
            )
        )
    return AuditEvent.save_many(entries)


def record_security_event(
    request: HttpRequest | None,
    event: str,
    *,
    user: Any = None,
    data: dict[str, Any] | None = None,
    patient_id: int | None = None,
) -> AuditEvent:
    """Record a sign-in, sign-out, lockout, token or refusal event about ``user`` (when the account is known)."""
    from accounts.models import User

    target = user if isinstance(user, User) and user.pk else None
    return record(
        event=event, target=target, target_model=User, actor=target, data=data, patient_id=patient_id, request=request
    )


def _criteria(criteria: Mapping[str, Any] | None) -> dict[str, str]:
    """Filters as plain strings, empty ones left out, identifiers masked."""
    return {
        name: mask_identifiers(str(value))
        for name, value in (criteria or {}).items()
        if value not in (None, "", [], ())
    }


def record_search(
    *,
    model: type[models.Model],
    actor: Any,
    terms: Iterable[str],
    filters: Mapping[str, Any] | None,
    results: int,
    results_exact: bool = True,
    channel: str,
    page: int | None = None,
    after: int | None = None,
    before: int | None = None,
) -> AuditEvent:
    """Record one search or filtered listing of ``model``: the terms, the filters and how many matched.

    One entry per request (search-as-you-type writes one per request it sends). Anything shaped like an
    SSN in the terms is masked. ``results_exact`` is false when the count stopped at a limit (the list's
    1,000+, the booking picker's 8). Which page: its number past the first, or for a page read by keyset
    (``spectrum.pagination``) the id of the row it starts after or ends before.
    """
    data: dict[str, Any] = {
        "channel": channel,
        "terms": [mask_identifiers(term) for term in terms],
        "filters": _criteria(filters),
        "results": results,
    }
    if not results_exact:
        data["results_exact"] = False
    if page and page > 1:
        data["page"] = page
    if after:
        data["after"] = after
    if before:
        data["before"] = before
    return record(event=events.model_event(model, events.SEARCHED), target_model=model, actor=actor, data=data)


def record_export(
    *,
    model: type[models.Model],
    actor: Any,
    count: int,
    export_format: str,
    channel: str = "page",
    criteria: Mapping[str, Any] | None = None,
    object_ids: Iterable[Any] | None = None,
    patient_ids: Iterable[int] | None = None,
    event: str | None = None,
    extra: Mapping[str, Any] | None = None,
    request: HttpRequest | None = None,
) -> AuditEvent:
    """Record one export of ``count`` records of ``model`` (CSV, PDF, printout…): which ones and how many.

    Name the records with ``object_ids`` or, for a filtered export, ``criteria`` (the filters that chose
    them). ``patient_ids`` lists the patients whose data left the application; an export of patients
    lists them by default. Every one of them sees the export in their Access history (accounting of
    disclosures); an export about one patient also carries it as ``patient_id``. Pass ``request`` when the
    entry is written after the view returned (a streamed download).
    """
    ids = [str(pk) for pk in object_ids] if object_ids is not None else None
    if patient_ids is None and ids is not None and model._meta.label == PATIENT_MODEL:
        patient_ids = [int(pk) for pk in ids]
    patients = sorted({int(pk) for pk in patient_ids}) if patient_ids is not None else None
    data: dict[str, Any] = {"channel": channel, "format": export_format, "count": count}
    if criteria:
        data["filters"] = _criteria(criteria)
    if ids is not None:
        data["object_ids"] = ids
    if patients is not None:
        data["patient_ids"] = patients
    data.update(extra or {})
    return record(
        event=event or events.model_event(model, events.EXPORTED),
        target_model=model,
        actor=actor,
        data=data,
        patient_id=patients[0] if patients is not None and len(patients) == 1 else None,
        request=request,
    )
