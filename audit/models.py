from auditlog.models import AbstractLogEntry
from django.db import models


class AuditEvent(AbstractLogEntry):
    """One entry of the audit trail: a change, a read, or a security event.

    django-auditlog writes changes and reads of registered models here (``AUDITLOG_LOGENTRY_MODEL``);
    ``audit.services.record`` writes everything else into the same table, so there is one thing to query.
    """

    event = models.CharField(
        max_length=100, db_index=True, blank=True, help_text="Dotted name, e.g. accounts.user.logged_in."
    )
    actor_role = models.CharField(max_length=20, blank=True)
    patient_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    user_agent = models.CharField(max_length=300, blank=True)
    request_id = models.CharField(max_length=64, blank=True)

    class Meta(AbstractLogEntry.Meta):
        verbose_name = "audit event"
        verbose_name_plural = "audit events"
        indexes = [models.Index(fields=["actor", "timestamp"], name="audit_actor_time_idx")]

    def __str__(self) -> str:
        return f"{self.timestamp:%Y-%m-%d %H:%M:%S} {self.event or self.get_action_display()} {self.object_repr}"
