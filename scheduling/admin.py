from django.contrib import admin
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html

from scheduling import selectors
from scheduling.models import Appointment, AppointmentSeries, AppointmentStatusChange, ClosedDay, ServiceType
from spectrum.validation import SafeTextModelForm


@admin.register(ServiceType)
class ServiceTypeAdmin(admin.ModelAdmin):
    form = SafeTextModelForm
    list_display = ["code", "name", "billing_code", "default_duration_minutes", "unit_minutes", "is_group", "is_active"]
    list_filter = ["is_active", "is_group"]
    search_fields = ["code", "name", "billing_code"]
    ordering = ["code"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # appointments point at it: retire it with "is active" instead


class ClosedDayAdminForm(SafeTextModelForm):
    """A closure on a day with appointments goes through the Closed days page, which lists them and cancels
    them with the closure (scheduling.services.add_closed_day); the admin never leaves them scheduled."""

    def clean_date(self):
        date = self.cleaned_data["date"]
        if date and (self.instance.pk is None or self.instance.date != date):
            count = selectors.open_appointments_on(date).count()
            if count:
                url = reverse("scheduling:closed-days")
                raise ValidationError(
                    format_html(
                        '{} appointment(s) are booked on this day. Close it from the <a href="{}">Closed days '
                        "page</a>, which lists them and cancels them as cancelled by the clinic.",
                        count,
                        url,
                    )
                )
        return date


@admin.register(ClosedDay)
class ClosedDayAdmin(admin.ModelAdmin):
    form = ClosedDayAdminForm
    list_display = ["date", "reason"]
    search_fields = ["reason"]
    date_hierarchy = "date"


class ReadOnlyAdmin(admin.ModelAdmin):
    """Appointments change through the calendar and the API (conflict checks, status history, audit)."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class StatusChangeInline(admin.TabularInline):
    model = AppointmentStatusChange
    fields = ["changed_at", "changed_by", "from_status", "to_status", "reason"]
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Appointment)
class AppointmentAdmin(ReadOnlyAdmin):
    list_display = ["date", "start_time", "service_type", "patient", "clinician", "status"]
    list_filter = ["status", "service_type", "date"]
    list_select_related = ["service_type", "patient", "clinician"]
    search_fields = ["patient__patient_number"]
    date_hierarchy = "date"
    exclude = ["notes", "progress_note"]
    inlines = [StatusChangeInline]


@admin.register(AppointmentSeries)
class AppointmentSeriesAdmin(ReadOnlyAdmin):
    list_display = ["start_date", "frequency", "service_type", "patient", "clinician", "cancelled_at"]
    list_select_related = ["service_type", "patient", "clinician"]
    search_fields = ["patient__patient_number"]
