from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator

from accounts.forms import LoginForm
from audit import services as audit
from spectrum import ratelimit
from spectrum.net import client_ip


@method_decorator(login_not_required, name="dispatch")
class LoginView(auth_views.LoginView):
    """Sign-in attempts are limited per client address (RATELIMIT_LOGIN), together with the token endpoints."""

    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        retry_after = ratelimit.count_request(
            request, group="login", key=lambda group, request: client_ip(request), rate=settings.RATELIMIT_LOGIN
        )
        if retry_after is not None:
            return ratelimit.too_many_requests(request, retry_after)
        return super().post(request, *args, **kwargs)


class LogoutView(auth_views.LogoutView):
    """POST only (Django's rule): a link cannot sign anyone out."""

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        messages.success(request, "You have signed out.")
        return response


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("dashboard")

    def form_valid(self, form):
        response = super().form_valid(form)
        audit.record_security_event(self.request, "accounts.user.password_changed", user=self.request.user)
        messages.success(self.request, "Your password has been changed.")
        return response
