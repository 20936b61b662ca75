"""Reading the audit trail: who may, and the entries about one patient (accounting of disclosures)."""

from django.apps import apps
from django.db import connection
from django.db.models import Q, QuerySet

from accounts import permissions
from accounts.permissions import Actor
from audit import events
from audit.models import AuditEvent


def events_visible_to(user: Actor) -> QuerySet[AuditEvent]:
    """The whole trail for those who review it (admins, auditors); nothing for anyone else."""
    if not permissions.can_view_audit_log(user):
        return AuditEvent.objects.none()
    return AuditEvent.objects.select_related("content_type").order_by("-timestamp", "-id")


def export_events() -> list[str]:
    """Every ``<app>.<model>.exported`` name a model of this project can produce (an indexed IN list)."""
    return sorted(events.model_event(model, events.EXPORTED) for model in apps.get_models())


def about_patient(patient_id: int) -> Q:
    """Entries that concern patient ``patient_id``: reads, changes, refusals, and exports that included them.

    Exports of many patients list them in ``additional_data["patient_ids"]``. PostgreSQL finds them with
    a JSON containment test; SQLite has none, so the (few) export entries are read and checked here.
    """
    exports = AuditEvent.objects.filter(event__in=export_events(), additional_data__has_key="patient_ids")
    if connection.vendor == "postgresql":
        included = Q(pk__in=exports.filter(additional_data__patient_ids__contains=[patient_id]).values("pk"))
    else:
        ids = [
            pk
            for pk, data in exports.values_list("pk", "additional_data").iterator()
            if patient_id in (data or {}).get("patient_ids", ())
        ]
        included = Q(pk__in=ids)
    return Q(patient_id=patient_id) | included


def patient_access_history(patient_id: int) -> QuerySet[AuditEvent]:
    """Every access to and change of one patient, newest first."""
    return AuditEvent.objects.filter(about_patient(patient_id)).order_by("-timestamp", "-id")
