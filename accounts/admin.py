from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import permissions, selectors, services
from accounts.forms import UnlockForm, UserCreateForm, UserEditForm
from accounts.models import APIKey, Invitation, User
from accounts.reauth import reauth_response

# django-otp's own admin shows each device's secret and QR code: administrators never see a user's factor.
if admin.site.is_registered(TOTPDevice):
    admin.site.unregister(TOTPDevice)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """Users. Adding one sends an invitation (no password: the user sets their own); there is no password
    page either. Locked-out users show why, with an Unlock link that asks for a reason."""

    form = UserEditForm
    add_form = UserCreateForm
    ordering = ["full_name", "email"]
    list_display = ["email", "full_name", "role", "is_active", "last_login", "lockout"]
    list_filter = ["role", "is_active"]
    search_fields = ["email", "full_name"]
    readonly_fields = ["last_login", "date_joined", "updated_at", "second_factor"]
    fieldsets = [
        (None, {"fields": ["email"]}),
        ("Person", {"fields": ["full_name", "role", "is_active"]}),
        ("Second factor", {"fields": ["second_factor"]}),
        ("Dates", {"fields": ["last_login", "date_joined", "updated_at"]}),
    ]
    add_fieldsets = [
        (
            None,
            {
                "classes": ["wide"],
                "fields": ["email", "full_name", "role"],
                "description": "The user receives an invitation by email and sets their own password.",
            },
        ),
    ]
    filter_horizontal = []

    def get_queryset(self, request):
        # API keys' accounts are managed on the API keys page.
        return selectors.with_lockout(super().get_queryset(request).filter(is_api_key_account=False))

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

    @admin.display(description="Lockout")
    def lockout(self, user: User) -> str:
        failures = getattr(user, "locked_failures", None)
        if not failures:
            return "–"
        return format_html(
            '{} failed sign-ins from {} · <a href="{}">Unlock</a>',
            failures,
            getattr(user, "locked_address", None) or "an unknown address",
            reverse("admin:accounts_user_unlock", args=[user.pk]),
        )

    def get_urls(self):
        return [
            path("<int:pk>/unlock/", self.admin_site.admin_view(self.unlock_view), name="accounts_user_unlock"),
            *super().get_urls(),
        ]

    def unlock_view(self, request, pk: int):
        if not permissions.can_unlock_users(request.user):
            raise PermissionDenied
        user = get_object_or_404(User, pk=pk)
        form = UnlockForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            services.unlock_user(user=user, actor=request.user, reason=form.cleaned_data["reason"])
            self.message_user(request, f"{user.get_full_name()} is unlocked.", messages.SUCCESS)
            return redirect("admin:accounts_user_changelist")
        context = {
            **self.admin_site.each_context(request),
            "title": f"Unlock {user.get_full_name()}",
            "opts": self.opts,
            "subject": user,
            "lockout": selectors.lockout_of(user),
            "form": form,
        }
        return TemplateResponse(request, "admin/accounts/user/unlock.html", context, status=400 if form.errors else 200)

    def user_change_password(self, request, id, form_url=""):
        raise PermissionDenied("Administrators do not set passwords: users choose their own (invitation, reset link).")

    def save_model(self, request, obj: User, form, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        invitation = services.invite_user(
            email=obj.email,
            full_name=obj.full_name,
            role=obj.role,
            actor=request.user,
            base_url=request.build_absolute_uri("/"),
        )
        # The admin goes on with ``obj`` (its change page, the log entry): make it the invited user.
        obj.__dict__.update({k: v for k, v in invitation.user.__dict__.items() if k != "_state"})
        obj._state.adding = False

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


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    """Read-only: invitations are sent, resent and revoked on the Users page (accounts:user-list)."""

    list_display = ["user", "status", "sent_at", "expires_at", "times_sent", "invited_by"]
    list_select_related = ["user", "invited_by"]
    search_fields = ["user__email", "user__full_name"]
    readonly_fields = [f.name for f in Invitation._meta.fields if f.name != "token_hash"]
    exclude = ["token_hash"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
