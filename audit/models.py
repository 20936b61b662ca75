from typing import Any

from auditlog.models import AbstractLogEntry
from django.conf import settings
from django.db import models, router, transaction

from audit import chain
from audit.context import fill_from_context


class AuditEvent(AbstractLogEntry):
    """One entry of the audit trail: a change, a read, or a security event.

    django-auditlog writes changes and reads of registered models here (``AUDITLOG_LOGENTRY_MODEL``);
    ``audit.services.record`` writes everything else into the same table, so there is one thing to query.
    Entries are only ever inserted, each chained to the one before it (``audit.chain``): on PostgreSQL a
    trigger refuses UPDATE, and DELETE of anything younger than the retention period (``purge_audit``).
    """

    # auditlog's defaults (SET_NULL, CASCADE) would change or delete entries when a user or a content type
    # goes away; history must not vanish or lose its actor, so deleting either is refused instead.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        blank=True,
        null=True,
        related_name="+",
        verbose_name="actor",
        db_index=False,  # (actor, timestamp) below serves it
    )
    content_type = models.ForeignKey(
        "contenttypes.ContentType", on_delete=models.PROTECT, related_name="+", verbose_name="content type"
    )
    event = models.CharField(
        max_length=100, db_index=True, blank=True, help_text="Dotted name, e.g. accounts.user.logged_in."
    )
    actor_role = models.CharField(max_length=20, blank=True)
    patient_id = models.BigIntegerField(null=True, blank=True)  # indexed with the timestamp below

    # The trail is the table written most (an entry for every search and every record opened), and it is
    # read by patient, user, time, event and record type only. auditlog indexes these four too (six indexes
    # on PostgreSQL, with the LIKE twins); nothing looks entries up by them, and with the single-column
    # twins of actor and patient above they cost every entry eight more index insertions (0.2-0.5 ms of a
    # search request, measured in alternating runs).
    object_pk = models.CharField(max_length=255, verbose_name="object pk")
    object_id = models.BigIntegerField(blank=True, null=True, verbose_name="object id")
    action = models.PositiveSmallIntegerField(choices=AbstractLogEntry.Action.choices, verbose_name="action")
    cid = models.CharField(max_length=255, blank=True, null=True, verbose_name="Correlation ID")
    user_agent = models.CharField(max_length=300, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    # The hash chain (audit.chain): position, predecessor's hash, own keyed hash. Empty only on a row
    # that did not come through the application.
    chain_seq = models.BigIntegerField(null=True, blank=True, unique=True, editable=False)
    chain_previous = models.CharField(max_length=64, blank=True, editable=False)
    chain_hash = models.CharField(max_length=64, blank=True, editable=False)

    class Meta(AbstractLogEntry.Meta):
        verbose_name = "audit event"
        verbose_name_plural = "audit events"
        ordering = ["-timestamp", "-id"]
        indexes = [
            models.Index(fields=["actor", "timestamp"], name="audit_actor_time_idx"),
            # A patient's Access history, newest first.
            models.Index(fields=["patient_id", "timestamp"], name="audit_patient_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.timestamp:%Y-%m-%d %H:%M:%S} {self.event or self.get_action_display()} {self.object_repr}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Fill a new entry from the current request and chain it to the entry before it (``audit.chain``)."""
        if not self._state.adding:
            super().save(*args, **kwargs)  # refused by the trigger on PostgreSQL
            return
        fill_from_context(self)
        using = kwargs.get("using") or router.db_for_write(AuditEvent, instance=self)
        with transaction.atomic(using=using, savepoint=False):
            chain.seal(self, using)
            super().save(*args, **kwargs)

    @classmethod
    def save_many(cls, entries: list["AuditEvent"], using: str = "default") -> list["AuditEvent"]:
        """Insert new entries in one statement, chained in list order (one lock of the chain's head for all).

        For a change of many rows in one transaction (a group roster); each entry is filled from the
        current request and actor as ``save()`` fills one."""
        for entry in entries:
            fill_from_context(entry)
        with transaction.atomic(using=using, savepoint=False):
            chain.seal_many(entries, using)
            return cls.objects.using(using).bulk_create(entries)

    @property
    def object_type(self) -> str:
        """``app_label.model`` of what the entry is about (``patients.patient``)."""
        return f"{self.content_type.app_label}.{self.content_type.model}" if self.content_type_id else ""

    @property
    def event_parts(self) -> list[str]:
        """The event name's parts, for pages that let long names wrap at the dots."""
        return self.event.split(".")

    @property
    def verb(self) -> str:
        """The last part of the event name: ``viewed``, ``updated``, ``denied``…"""
        return self.event.rsplit(".", 1)[-1].replace("_", " ") if self.event else self.get_action_display()

    @property
    def details(self) -> list[tuple[str, str]]:
        """Short (label, value) pairs for pages and exports: changed fields and the extra data, no values of
        changed fields (the diff itself is in ``changes``)."""
        items: list[tuple[str, str]] = []
        if self.changes_dict and self.action != self.Action.ACCESS:
            items.append(("fields", ", ".join(sorted(self.changes_dict))))
        for key, value in (self.additional_data or {}).items():
            if key in ("patient_ids", "patient_id"):
                continue  # the patient has a column; an export's list can be thousands long (count says how many)
            if isinstance(value, list | tuple):
                value = " ".join(str(item) for item in value)
            elif isinstance(value, dict):
                value = ", ".join(f"{k}={v}" for k, v in value.items())
            items.append((key.replace("_", " "), str(value)))
        return items


class AuditChainHead(models.Model):
    """The newest entry's place in the chain. One row, locked by every writer (``audit.chain.seal``)."""

    SINGLETON = 1

    last_seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, blank=True)

    def __str__(self) -> str:
        return f"audit chain at {self.last_seq}"
