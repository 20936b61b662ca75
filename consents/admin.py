from django.contrib import admin

from consents.models import Consent


@admin.register(Consent)
class ConsentAdmin(admin.ModelAdmin):
    """Read-only: consents are recorded on the patient page or through the API (services, audit)."""

    list_display = ["id", "patient_id", "kind", "status", "recorded_on", "expires_on", "recorded_by"]
    list_filter = ["kind", "status"]
    list_select_related = ["recorded_by"]
    search_fields = ["=patient__patient_number"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
