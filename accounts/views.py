from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator
from django_ratelimit.decorators import ratelimit

from accounts.forms import LoginForm
from audit import services as audit


def login_rate(group: str, request) -> str:
    return settings.RATELIMIT_LOGIN


@method_decorator(login_not_required, name="dispatch")
@method_decorator(ratelimit(group="login", key="ip", rate=login_rate, method="POST", block=True), name="dispatch")
class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


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
