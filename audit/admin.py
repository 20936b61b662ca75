from auditlog.admin import LogEntryAdmin
from django.contrib import admin

from audit.models import AuditEvent

# auditlog registers its admin for whichever model AUDITLOG_LOGENTRY_MODEL names; ours replaces it.
if admin.site.is_registered(AuditEvent):
    admin.site.unregister(AuditEvent)


@admin.register(AuditEvent)
class AuditEventAdmin(LogEntryAdmin):
    """Read-only: nobody changes or deletes the audit trail through the admin."""

    list_display = ["created", "event", "resource_url", "user_url", "actor_role", "remote_addr"]
    list_filter = ["event", "action", "actor_role"]
    search_fields = ["event", "actor_email", "object_pk", "request_id"]
    readonly_fields = [
        "created",
        "event",
        "resource_url",
        "action",
        "user_url",
        "actor_email",
        "actor_role",
        "patient_id",
        "remote_addr",
        "user_agent",
        "request_id",
        "msg",
    ]
    fieldsets = [
        (None, {"fields": ["created", "event", "user_url", "actor_email", "actor_role", "resource_url", "patient_id"]}),
        ("Request", {"fields": ["remote_addr", "user_agent", "request_id"]}),
        ("Changes", {"fields": ["action", "msg"]}),
    ]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
