"""Spectrum's admin site: Django's, with access decided by ``accounts.permissions`` and sign-in by our page."""

from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache

from accounts.permissions import can_use_admin_site


class SpectrumAdminSite(admin.AdminSite):
    site_header = "Spectrum administration"
    site_title = "Spectrum admin"
    index_title = "Clinic data and accounts"

    def has_permission(self, request: HttpRequest) -> bool:
        return can_use_admin_site(request.user)

    @method_decorator(never_cache)
    @login_not_required
    def login(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        """Sign in through our page (one lockout, rate limit and audit trail); refuse a signed-in non-admin.

        Sending a signed-in user without access to the login page would loop: it sends signed-in
        users back to ``next``, which is the admin site again.
        """
        next_url = request.GET.get("next", "")
        if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
            next_url = ""
        next_url = next_url or reverse("admin:index")
        if not request.user.is_authenticated:
            return redirect_to_login(next_url)
        if not self.has_permission(request):
            raise PermissionDenied("The admin site is for administrators.")
        return redirect(next_url)
