from django.contrib import admin

from accounts.reauth import reauth_response
from patients import services
from patients.models import Patient


@admin.register(Patient)
class PatientAdmin(admin.ModelAdmin):
    list_display = ["patient_number", "last_name", "first_name", "date_of_birth", "phone", "city", "is_active"]
    list_filter = ["is_active", "gender", "insurance_type", "session", "state"]
    search_fields = ["patient_number", "first_name", "last_name", "preferred_name", "email", "phone", "city"]
    list_select_related = []
    show_full_result_count = False  # an exact count over a million rows on every search is not worth it
    ordering = ["last_name", "first_name", "id"]
    readonly_fields = [
        "ssn_last4", "created_at", "updated_at", "created_by", "updated_by", "last_accessed_at",
        "last_accessed_by", "access_count",
    ]  # fmt: skip
    exclude = ["ssn"]

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        # The SSN is never shown in full, not even to administrators: enter it in the patient form.
        return [field for field in fields if field != "ssn"]

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = (getattr(response, "context_data", None) or {}).get("cl")
        if changelist is not None and request.method == "GET":
            # A search (?q=) or a filter in the admin is a patient search like the page's: one audit entry.
            not_filters = {"q", "o", "p", "all", "e", "_changelist_filters", "_to_field", "_popup"}
            services.record_patient_search(
                actor=request.user,
                params=request.GET,
                results=changelist.result_count,
                results_exact=True,
                channel="admin",
                page=changelist.page_num,
                search_param="q",
                filter_names=[name for name in request.GET if name not in not_filters],
            )
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method == "POST" and "is_active" not in request.POST:  # an unticked box: deactivation
            patient = self.get_object(request, object_id)
            if patient is not None and patient.is_active and (response := reauth_response(request)) is not None:
                return response
        if request.method == "GET":
            patient = self.get_object(request, object_id)
            if patient is not None:
                services.record_patient_access(actor=request.user, patient=patient, channel="admin")
        return super().change_view(request, object_id, form_url, extra_context)

    def history_view(self, request, object_id, extra_context=None):
        patient = self.get_object(request, object_id)
        if patient is not None:
            services.record_patient_access(actor=request.user, patient=patient, channel="admin")
        return super().history_view(request, object_id, extra_context)

    def save_model(self, request, obj, form, change) -> None:
        # The admin form has already run the model's full_clean (the same rules as pages and the API).
        if not change:
            obj.created_by = request.user
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # deactivate instead; history must not vanish
