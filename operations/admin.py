from django.contrib import admin
from django.http import HttpRequest

from operations.models import ScheduledRun, TaskCount, TaskFailure


class ReadOnlyAdmin(admin.ModelAdmin):
    """The queue's records are written by the workers; the admin shows them and changes nothing."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(TaskFailure)
class TaskFailureAdmin(ReadOnlyAdmin):
    list_display = ["failed_at", "task_name", "retries", "error", "task_id"]
    list_filter = ["task_name"]
    date_hierarchy = "failed_at"


@admin.register(ScheduledRun)
class ScheduledRunAdmin(ReadOnlyAdmin):
    list_display = ["window_start_at", "job", "status", "attempts", "claimed_at", "finished_at", "error"]
    list_filter = ["status", "job"]


@admin.register(TaskCount)
class TaskCountAdmin(ReadOnlyAdmin):
    list_display = ["task_name", "outcome", "count"]
    list_filter = ["outcome"]
