from django.contrib import admin

from authorizations.models import Authorization


@admin.register(Authorization)
class AuthorizationAdmin(admin.ModelAdmin):
    """Read-only here: authorizations are recorded on the patient's page or through the API (rules apply)."""

    list_display = ["payer", "auth_number", "patient", "start_date", "end_date", "units_authorized", "approval_date"]
    list_filter = ["payer", "service_types"]
    list_select_related = ["patient"]
    search_fields = ["auth_number", "payer", "patient__patient_number"]
    exclude = ["notes"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
