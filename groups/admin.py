from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.models import User
from groups import services
from groups.models import Enrollment, Group, GroupSession, GroupSessionAmendment
from scheduling.models import clinic_now
from spectrum.exceptions import DomainError
from spectrum.validation import SafeTextModelForm


class GroupAdminForm(SafeTextModelForm):
    class Meta:
        model = Group
        fields = list(services.GROUP_FIELDS)
        help_texts = {"weekdays": "Comma-separated: mon,tue,wed,thu,fri"}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not self.errors:
            candidate = Group(**{name: cleaned.get(name) for name in services.GROUP_FIELDS})
            candidate.weekdays = ",".join(day.strip() for day in (candidate.weekdays or "").split(",") if day.strip())
            if candidate.capacity is None and candidate.service_type_id:
                candidate.capacity = candidate.service_type.default_group_capacity
            try:
                services.validate_group(candidate)
            except ValidationError as exc:
                raise forms.ValidationError(exc.messages) from exc
            cleaned["weekdays"] = candidate.weekdays
        return cleaned


@admin.register(Group)
class GroupAdmin(admin.ModelAdmin):
    """Creating a group creates its sessions; a new time or clinician moves the sessions still to come."""

    form = GroupAdminForm
    list_display = ["name", "program_session", "service_type", "weekdays", "start_time", "clinician", "capacity",
                    "start_date", "end_date", "is_active"]  # fmt: skip
    list_filter = ["program_session", "service_type", "is_active"]
    list_select_related = ["service_type", "clinician"]
    search_fields = ["name", "location"]

    def save_model(self, request: HttpRequest, obj: Group, form: GroupAdminForm, change: bool) -> None:
        data = {name: form.cleaned_data.get(name) for name in services.GROUP_FIELDS}
        if change:
            current = Group.objects.get(pk=obj.pk)
            services.update_group(
                actor=cast(User, request.user), group=current, changes={name: data[name] for name in form.changed_data}
            )
        else:
            created = services.create_group(actor=cast(User, request.user), data=data)
            obj.pk = obj.id = created.pk
            obj._state.adding = False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # sessions and appointments point at it: retire it with "is active" instead


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(GroupSession)
class GroupSessionAdmin(ReadOnlyAdmin):
    """Sessions are marked on their roster page (rules, signature and audit apply)."""

    list_display = ["date", "start_time", "group", "service_type", "clinician", "status", "signed_at"]
    list_filter = ["status", "program_session", "group"]
    list_select_related = ["group", "service_type", "clinician"]
    search_fields = ["group__name", "topic"]
    date_hierarchy = "date"
    exclude = ["group_note"]


@admin.action(description="End the selected enrollments today (later sessions are cancelled)")
def end_today(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Enrollment]) -> None:
    today = clinic_now().date()
    for enrollment in queryset.select_related("group"):
        try:
            cancelled = services.end_enrollment(actor=cast(User, request.user), enrollment=enrollment, end_date=today)
        except (ValidationError, DomainError) as exc:
            messages.error(request, f"Enrollment {enrollment.pk}: {' '.join(getattr(exc, 'messages', [str(exc)]))}")
        else:
            messages.success(request, f"Enrollment {enrollment.pk} ended: {cancelled} later sessions cancelled.")


@admin.register(Enrollment)
class EnrollmentAdmin(ReadOnlyAdmin):
    """Patients are enrolled on the group's page or through the API (conflicts, capacity and AM/PM checks)."""

    list_display = ["group", "patient", "start_date", "end_date"]
    list_filter = ["group"]
    list_select_related = ["group", "patient"]
    search_fields = ["patient__patient_number", "group__name"]
    actions = [end_today]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None and super(ReadOnlyAdmin, self).has_change_permission(request, obj)  # the action runs


@admin.register(GroupSessionAmendment)
class GroupSessionAmendmentAdmin(ReadOnlyAdmin):
    list_display = ["session", "amended_by", "amended_at", "reason"]
    list_select_related = ["session", "amended_by"]
    search_fields = ["reason"]
