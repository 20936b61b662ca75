from typing import Any

from auditlog.models import AbstractLogEntry
from django.conf import settings
from django.db import connections, models, router
from django.db.models.signals import post_save, pre_save
from django.db.models.sql import InsertQuery


class AuditEvent(AbstractLogEntry):
    """One entry of the audit trail: a change, a read, or a security event.

    django-auditlog writes changes and reads of registered models here (``AUDITLOG_LOGENTRY_MODEL``);
    ``audit.services.record`` writes everything else into the same table, so there is one thing to query.
    Entries are only ever inserted: on PostgreSQL a trigger refuses UPDATE and DELETE (migration 0003)
    except for the retention purge (``purge_audit``).
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

    def insert(self) -> None:
        """Write this new entry, as ``save()`` would, with an INSERT compiled once per database.

        Every search and every record opened writes an entry, and ``save()`` builds and compiles its INSERT
        each time: about 0.4 ms of a search request (measured in alternating runs). Only the values are
        prepared here. The signals go out as for ``save()`` (``audit.receivers`` fills in the request's
        context on pre_save).
        """
        if not self._state.adding:
            raise ValueError("Audit entries are only ever inserted.")
        using = router.db_for_write(AuditEvent, instance=self)
        connection = connections[using]
        if not connection.features.can_return_columns_from_insert:
            self.save(using=using)
            return
        pre_save.send(sender=AuditEvent, instance=self, raw=False, using=using, update_fields=None)
        sql, fields = _insert_statement(connection)
        values = [field.get_db_prep_save(field.pre_save(self, True), connection) for field in fields]
        with connection.cursor() as cursor:
            cursor.execute(sql, values)
            self.pk = cursor.fetchone()[0]
        self._state.adding, self._state.db = False, using
        post_save.send(sender=AuditEvent, instance=self, created=True, update_fields=None, raw=False, using=using)

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


_INSERT_STATEMENTS: dict[str, tuple[str, list[Any]]] = {}


def _insert_statement(connection: Any) -> tuple[str, list[Any]]:
    """The INSERT … RETURNING id that ``save()`` compiles for a new entry on ``connection``, and its fields."""
    if connection.alias not in _INSERT_STATEMENTS:
        meta = AuditEvent._meta
        fields = [field for field in meta.local_concrete_fields if field is not meta.auto_field]
        query = InsertQuery(AuditEvent)
        query.insert_values(fields, [AuditEvent()])
        compiler = query.get_compiler(connection=connection)
        compiler.returning_fields = meta.db_returning_fields
        [(sql, _)] = compiler.as_sql()
        _INSERT_STATEMENTS[connection.alias] = (sql, fields)
    return _INSERT_STATEMENTS[connection.alias]
