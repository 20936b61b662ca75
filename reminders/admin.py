from django.contrib import admin

from reminders.models import Reminder


@admin.register(Reminder)
class ReminderAdmin(admin.ModelAdmin):
    """Read-only: reminders are derived by the sweep; resending and templates are on /reminders/."""

    list_display = ["id", "appointment_id", "kind", "offset_hours", "channel", "status", "due_at", "reason"]
    list_filter = ["status", "channel", "kind"]
    list_select_related = ["appointment"]
    search_fields = ["=appointment__id"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
