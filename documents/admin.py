from django.contrib import admin

from documents.models import DocumentCategory


@admin.register(DocumentCategory)
class DocumentCategoryAdmin(admin.ModelAdmin):
    """Administrators add categories and say which are clinical. Documents themselves have no admin pages:
    they are opened through the patient page and the API, which check and audit every view."""

    list_display = ("name", "code", "is_clinical", "is_active", "sort_order")
    list_filter = ("is_clinical", "is_active")
    search_fields = ("name", "code")
    list_select_related = ()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # documents point at their category (PROTECT); retire one with "is active" instead
