from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.urls import reverse
from django.utils.html import format_html
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import selectors
from accounts.forms import UserCreateForm, UserEditForm
from accounts.models import APIKey, User
from accounts.reauth import reauth_response

# django-otp's own admin shows each device's secret and QR code: administrators never see a user's factor.
if admin.site.is_registered(TOTPDevice):
    admin.site.unregister(TOTPDevice)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserEditForm
    add_form = UserCreateForm
    ordering = ["full_name", "email"]
    list_display = ["email", "full_name", "role", "is_active", "last_login"]
    list_filter = ["role", "is_active"]
    search_fields = ["email", "full_name"]
    readonly_fields = ["last_login", "date_joined", "updated_at", "second_factor"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Person", {"fields": ["full_name", "role", "is_active"]}),
        ("Second factor", {"fields": ["second_factor"]}),
        ("Dates", {"fields": ["last_login", "date_joined", "updated_at"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["email", "full_name", "role", "password1", "password2"]}),
    ]
    filter_horizontal = []

    def get_queryset(self, request):
        # API keys' accounts are managed on the API keys page.
        return super().get_queryset(request).filter(is_api_key_account=False)

    @admin.display(description="Second factor")
    def second_factor(self, obj: User) -> str:
        if obj.pk is None:
            return "—"
        status = "On (authenticator app)" if selectors.has_second_factor(obj) else "Off"
        url = reverse("accounts:user-second-factor-reset", args=[obj.pk])
        return format_html('{} · <a href="{}">Reset…</a>', status, url)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        """Changing a role or deactivating needs a recent sign-in (``accounts.reauth``); other edits do not."""
        if request.method == "POST" and object_id is not None:
            user = User.objects.filter(pk=object_id).first()
            if user is not None and self._changes_access(user, request.POST):
                response = reauth_response(request)
                if response is not None:
                    return response
        return super().changeform_view(request, object_id, form_url, extra_context)

    @staticmethod
    def _changes_access(user: User, data) -> bool:
        role_changed = "role" in data and data.get("role") != user.role
        deactivated = user.is_active and "is_active" not in data  # an unticked checkbox is absent
        return role_changed or deactivated

    def has_delete_permission(self, request, obj=None) -> bool:
        # Users are deactivated, never deleted: the audit trail and clinical records point at them.
        return False


@admin.register(APIKey)
class APIKeyAdmin(admin.ModelAdmin):
    """Read-only: keys are created and revoked on the API keys page (shown once, with re-authentication)."""

    list_display = ["name", "prefix", "created_by", "created_at", "expires_at", "revoked_at", "last_used_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "prefix"]
    list_select_related = ["created_by", "account"]
    readonly_fields = [
        "name",
        "prefix",
        "account",
        "created_by",
        "created_at",
        "expires_at",
        "revoked_at",
        "last_used_at",
    ]
    exclude = ["key_hash"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
