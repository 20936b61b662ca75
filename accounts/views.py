import datetime
import hashlib
import time

import segno
from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import permissions, selectors, services
from accounts.forms import (
    APIKeyForm,
    EnrolTOTPForm,
    ForgotPasswordForm,
    InvitationPasswordForm,
    InviteUserForm,
    LoginForm,
    QuarterForm,
    SecondFactorCodeForm,
    SecondFactorResetForm,
    UnlockForm,
)
from accounts.lockout import lockout_response
from accounts.middleware import idle_seconds_left
from accounts.models import APIKey, Invitation, User, normalize_email
from accounts.reauth import reauth_required, reauth_response
from audit import services as audit
from spectrum import ratelimit, spreadsheets
from spectrum.exceptions import DomainError
from spectrum.http import ClinicRequest
from spectrum.net import client_ip

# Session key of a sign-in waiting for its second factor: the password was right, the code is not in yet.
PENDING_SIGN_IN = "second_factor_pending"
# How long the second step may take after the password.
PENDING_SECONDS = 5 * 60


def _login_rate_limited(request: HttpRequest) -> HttpResponse | None:
    retry_after = ratelimit.count_request(
        request, group="login", key=lambda group, request: client_ip(request), rate=settings.RATELIMIT_LOGIN
    )
    return ratelimit.too_many_requests(request, retry_after) if retry_after is not None else None


def _safe_next(request: HttpRequest, url: str | None) -> str:
    if url and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}, require_https=False):
        return url
    return str(reverse_lazy(settings.LOGIN_REDIRECT_URL))


@method_decorator(login_not_required, name="dispatch")
class LoginView(auth_views.LoginView):
    """Sign-in attempts are limited per client address (RATELIMIT_LOGIN), together with the token endpoints.

    A user with a second factor is not signed in by the password alone: the session remembers them for
    ``PENDING_SECONDS`` and the code page (``login_verify``) completes the sign-in.
    """

    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        if (refused := _login_rate_limited(request)) is not None:
            return refused
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        user = form.get_user()
        if not selectors.has_second_factor(user):
            return super().form_valid(form)
        self.request.session.cycle_key()
        self.request.session[PENDING_SIGN_IN] = {
            "user": user.pk,
            "backend": user.backend,
            "at": time.time(),
            "next": self.get_success_url(),
        }
        return redirect("accounts:login-verify")


def _pending_user(request: HttpRequest) -> tuple[User | None, dict]:
    pending = request.session.get(PENDING_SIGN_IN)
    if not isinstance(pending, dict) or time.time() - pending.get("at", 0) > PENDING_SECONDS:
        return None, {}
    pk = pending.get("user")
    if not isinstance(pk, int):
        return None, {}
    user = User.objects.filter(pk=pk, is_active=True, is_api_key_account=False).first()
    return user, pending


@login_not_required
@require_http_methods(["GET", "HEAD", "POST"])
def login_verify(request: HttpRequest) -> HttpResponse:
    """The second step of signing in: a code from the authenticator app or a recovery code."""
    user, pending = _pending_user(request)
    if user is None:
        request.session.pop(PENDING_SIGN_IN, None)
        messages.info(request, "Sign in again: the sign-in waited too long for its code.")
        return redirect("accounts:login")
    credentials = {"username": user.email}
    if AxesProxyHandler.is_locked(request, credentials):
        request.session.pop(PENDING_SIGN_IN, None)
        return lockout_response(request, None, credentials)
    form = SecondFactorCodeForm(request.POST or None)
    if request.method == "POST":
        if (refused := _login_rate_limited(request)) is not None:
            return refused
        if form.is_valid():
            method = services.verify_second_factor(user=user, code=form.cleaned_data["code"], request=request)
            if method is not None:
                request.session.pop(PENDING_SIGN_IN, None)
                auth_login(request, user, backend=pending["backend"])
                if method == "recovery":
                    left = selectors.unused_recovery_codes(user).count()
                    messages.warning(
                        request,
                        f"You signed in with a recovery code; {left} left. Make new ones on the Security page.",
                    )
                return redirect(_safe_next(request, pending.get("next")))
            if getattr(request, "axes_locked_out", False):
                request.session.pop(PENDING_SIGN_IN, None)
                return lockout_response(request, None, credentials)
            form.add_error("code", "That code is not correct. Check the time on your phone, or use a recovery code.")
    return render(request, "accounts/login_verify.html", {"form": form}, status=400 if form.errors else 200)


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


# --- The user's own Security page -------------------------------------------------------------------------


@require_http_methods(["GET", "HEAD"])
def security(request: HttpRequest) -> HttpResponse:
    """The signed-in user's second factor: whether they have one, recovery codes left, and what to do."""
    user = request.user
    context = {
        "has_second_factor": selectors.has_second_factor(user),  # type: ignore[arg-type]
        "required": permissions.second_factor_required(user),
        "codes_left": selectors.unused_recovery_codes(user).count(),  # type: ignore[arg-type]
        "can_manage_api_keys": permissions.can_manage_api_keys(user),
    }
    return render(request, "accounts/security.html", context)


@require_http_methods(["GET", "HEAD", "POST"])
def totp_enrol(request: HttpRequest) -> HttpResponse:
    """Set up an authenticator app: scan (or type) the secret, confirm with a code, receive recovery codes.

    Replacing an existing factor needs re-authentication; a first enrolment (the "must enrol" redirect
    right after signing in) does not.
    """
    user = request.user
    if selectors.has_second_factor(user) and (response := reauth_response(request)) is not None:  # type: ignore[arg-type]
        return response
    device = services.pending_totp_device(user=user)  # type: ignore[arg-type]
    form = EnrolTOTPForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            codes = services.confirm_totp_enrolment(user=user, device=device, code=form.cleaned_data["code"])  # type: ignore[arg-type]
        except DomainError as exc:
            form.add_error("code", exc.message)
        else:
            messages.success(request, "Your authenticator app is set up. Sign-ins now ask for its code.")
            return render(request, "accounts/recovery_codes.html", {"codes": codes})
    secret = services.totp_secret(device)
    context = {
        "form": form,
        "secret": secret,
        "secret_groups": [secret[i : i + 4] for i in range(0, len(secret), 4)],
        "qr_data_uri": segno.make(device.config_url, error="m").svg_data_uri(scale=5, border=2),
        "required": permissions.second_factor_required(user),
    }
    return render(request, "accounts/totp_enrol.html", context, status=400 if form.errors else 200)


@require_POST
@reauth_required
def recovery_codes_regenerate(request: HttpRequest) -> HttpResponse:
    try:
        codes = services.regenerate_recovery_codes(user=request.user)  # type: ignore[arg-type]
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("accounts:security")
    return render(request, "accounts/recovery_codes.html", {"codes": codes})


@require_http_methods(["GET", "HEAD", "POST"])
def reauthenticate(request: HttpRequest) -> HttpResponse:
    """The password again, then back to ``next`` (downloads and pages that needed a recent sign-in)."""
    next_url = _safe_next(request, request.POST.get("next") or request.GET.get("next"))
    response = reauth_response(request)
    return response if response is not None else HttpResponseRedirect(next_url)


# --- Administrators: second-factor reset and API keys ----------------------------------------------------


@require_http_methods(["GET", "HEAD", "POST"])
def user_second_factor_reset(request: HttpRequest, pk: int) -> HttpResponse:
    """Remove a user's second factor (lost phone), with a reason; the secret is never shown."""
    if not permissions.can_manage_users(request.user):
        raise PermissionDenied("Only administrators can reset a second factor.")
    target = get_object_or_404(User, pk=pk, is_api_key_account=False)
    if not permissions.can_reset_second_factor(request.user, target):
        raise PermissionDenied("Reset your own second factor from your Security page.")
    form = SecondFactorResetForm(request.POST or None)
    if request.method == "POST":
        if (response := reauth_response(request)) is not None:
            return response
        if form.is_valid():
            try:
                services.reset_second_factor(actor=request.user, user=target, reason=form.cleaned_data["reason"])  # type: ignore[arg-type]
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                messages.success(request, f"The second factor of {target} was reset; they enrol again at sign-in.")
                return redirect("admin:accounts_user_change", target.pk)
    context = {"form": form, "target": target, "has_second_factor": selectors.has_second_factor(target)}
    return render(request, "accounts/second_factor_reset.html", context, status=400 if form.errors else 200)


def _require_api_key_admin(request: HttpRequest) -> None:
    if not permissions.can_manage_api_keys(request.user):
        raise PermissionDenied("Only administrators manage API keys.")


@require_http_methods(["GET", "HEAD"])
def api_key_list(request: HttpRequest) -> HttpResponse:
    _require_api_key_admin(request)
    form = APIKeyForm(initial={"expires_on": timezone.localdate() + datetime.timedelta(days=90)})
    return render(
        request, "accounts/apikey_list.html", {"keys": selectors.api_keys(), "form": form, "now": timezone.now()}
    )


@require_POST
def api_key_create(request: HttpRequest) -> HttpResponse:
    """Create a key; the page that answers shows it once."""
    _require_api_key_admin(request)
    if (response := reauth_response(request)) is not None:
        return response
    form = APIKeyForm(request.POST)
    if form.is_valid():
        expires_at = datetime.datetime.combine(form.cleaned_data["expires_on"], datetime.time.max)
        try:
            key, secret = services.create_api_key(
                actor=request.user,  # type: ignore[arg-type]
                name=form.cleaned_data["name"],
                role=form.cleaned_data["role"],
                expires_at=timezone.make_aware(expires_at),
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(
                    "expires_on" if field == "expires_at" else field if field in form.fields else None, errors
                )
        else:
            return render(request, "accounts/apikey_created.html", {"key": key, "secret": secret})
    context = {"keys": selectors.api_keys(), "form": form, "now": timezone.now()}
    return render(request, "accounts/apikey_list.html", context, status=400)


@require_POST
def api_key_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    _require_api_key_admin(request)
    key = get_object_or_404(APIKey, pk=pk)
    if (response := reauth_response(request)) is not None:
        return response
    try:
        services.revoke_api_key(actor=request.user, key=key)  # type: ignore[arg-type]
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{key} revoked: requests with it are refused from now on.")
    return redirect("accounts:apikey-list")


# --- Forgot password ----------------------------------------------------------------------------------


@method_decorator(login_not_required, name="dispatch")
class PasswordResetView(auth_views.PasswordResetView):
    """ "Forgot your password?": the same answer whether or not the address is known (no enumeration).

    Limited per client address (``RATELIMIT_PASSWORD_RESET``: 429 beyond it) and per account
    (``RATELIMIT_PASSWORD_RESET_ACCOUNT``: beyond it the same answer, and no email).
    """

    template_name = "accounts/password_reset.html"
    form_class = ForgotPasswordForm
    success_url = reverse_lazy("accounts:password-reset-done")

    def post(self, request, *args, **kwargs):
        retry_after = ratelimit.count_request(
            request,
            group="password-reset",
            key=lambda group, request: client_ip(request),
            rate=settings.RATELIMIT_PASSWORD_RESET,
        )
        if retry_after is not None:
            return ratelimit.too_many_requests(request, retry_after)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        email = normalize_email(form.cleaned_data["email"])
        over_limit = ratelimit.count_request(
            self.request,
            group="password-reset-account",
            key=lambda group, request: hashlib.sha256(email.encode()).hexdigest(),
            rate=settings.RATELIMIT_PASSWORD_RESET_ACCOUNT,
        )
        services.request_password_reset(email=email, request=self.request, send=over_limit is None)
        return redirect(self.success_url)


@method_decorator(login_not_required, name="dispatch")
class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"

    def get_context_data(self, **kwargs):
        minutes = settings.PASSWORD_RESET_TIMEOUT // 60
        return super().get_context_data(**kwargs, valid_minutes=f"{minutes} minute{'s' if minutes != 1 else ''}")


@method_decorator(login_not_required, name="dispatch")
class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """The emailed link: works once (the token covers the password) and for ``PASSWORD_RESET_TIMEOUT``."""

    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:login")

    def form_valid(self, form):
        response = super().form_valid(form)  # User.save() ends the user's sessions and API tokens
        services.record_password_reset(user=form.user, request=self.request)
        messages.success(self.request, "Your password has been set. Sign in with it now.")
        return response


# --- Invitations ----------------------------------------------------------------------------------------


def _base_url(request: HttpRequest) -> str:
    return request.build_absolute_uri("/")


@login_not_required
@require_http_methods(["GET", "POST"])
def accept_invitation(request: HttpRequest, token: str) -> HttpResponse:
    """The invited user sets their own password, then is signed in."""
    invitation = services.invitation_for_token(token)
    if invitation is None:
        return render(request, "accounts/invitation_invalid.html", status=404)
    form = InvitationPasswordForm(invitation.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.accept_invitation(invitation=invitation, password=form.cleaned_data["new_password1"])
        except ValidationError as exc:
            form.add_error("new_password1", exc.message_dict.get("password", exc.messages))
        except services.AccountError as exc:
            messages.error(request, str(exc))
            return redirect("accounts:login")
        else:
            auth_login(request, user, backend="accounts.backends.CachedPermissionsBackend")
            messages.success(request, "Welcome to Spectrum. Your password is set.")
            return redirect(settings.LOGIN_REDIRECT_URL)
    return render(request, "accounts/invitation_accept.html", {"form": form, "invited": invitation.user})


# --- Administrators' pages: users, invitations, lockouts, access reviews ----------------------------------


def _require(predicate, request: HttpRequest) -> None:
    if not predicate(request.user):
        raise PermissionDenied


@require_http_methods(["GET", "HEAD"])
def user_list(request: ClinicRequest) -> HttpResponse:
    """Every user with role, last sign-in, invitation and lockout (with an Unlock form), for administrators."""
    _require(permissions.can_manage_users, request)
    users = list(selectors.users_for_administration())
    lockouts = selectors.lockouts_by_email([user.email for user in users])
    rows = [{"user": user, "lockout": lockouts.get(user.email)} for user in users]
    context = {
        "rows": rows,
        "locked_count": len(lockouts),
        "invitations": selectors.pending_invitations(),
        "unlock_form": UnlockForm(),
        "overdue_review": selectors.overdue_access_review(),
    }
    return render(request, "accounts/user_list.html", context)


@require_http_methods(["GET", "POST"])
def invite_user(request: ClinicRequest) -> HttpResponse:
    _require(permissions.can_invite_users, request)
    form = InviteUserForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.invite_user(actor=request.user, base_url=_base_url(request), **form.cleaned_data)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, f"Invitation sent to {form.cleaned_data['email']}.")
            return redirect("accounts:user-list")
    return render(request, "accounts/user_invite.html", {"form": form}, status=400 if form.errors else 200)


def _invitation(pk: int) -> Invitation:
    return get_object_or_404(Invitation.objects.select_related("user"), pk=pk)


@require_POST
def resend_invitation(request: ClinicRequest, pk: int) -> HttpResponse:
    _require(permissions.can_invite_users, request)
    invitation = _invitation(pk)
    try:
        services.resend_invitation(invitation=invitation, actor=request.user, base_url=_base_url(request))
    except services.AccountError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"A new invitation link was sent to {invitation.user.email}.")
    return redirect("accounts:user-list")


@require_POST
def revoke_invitation(request: ClinicRequest, pk: int) -> HttpResponse:
    _require(permissions.can_invite_users, request)
    invitation = _invitation(pk)
    try:
        services.revoke_invitation(invitation=invitation, actor=request.user)
    except services.AccountError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"The invitation of {invitation.user.email} was revoked.")
    return redirect("accounts:user-list")


@require_POST
def unlock_user(request: ClinicRequest, pk: int) -> HttpResponse:
    """Clear one user's lockout, with a reason for the audit trail."""
    _require(permissions.can_unlock_users, request)
    user = get_object_or_404(User, pk=pk)
    form = UnlockForm(request.POST)
    if form.is_valid():
        services.unlock_user(user=user, actor=request.user, reason=form.cleaned_data["reason"])
        messages.success(request, f"{user.get_full_name()} is unlocked.")
    else:
        problems = " ".join(str(error) for error in form.errors.get("reason", ["Check the form."]))
        messages.error(request, f"Not unlocked: {problems}")
    return redirect("accounts:user-list")


def _quarter(request: HttpRequest) -> tuple[QuarterForm, selectors.Quarter | None]:
    default = selectors.previous_quarter(timezone.localdate()).label
    form = QuarterForm(request.GET if "quarter" in request.GET else {"quarter": default})
    if not form.is_valid():
        return form, None
    return form, selectors.parse_quarter(form.cleaned_data["quarter"])


@require_http_methods(["GET", "HEAD"])
def access_review(request: ClinicRequest) -> HttpResponse:
    """The quarter's access review: every active user, role, second factor, last sign-in, records opened."""
    _require(permissions.can_review_access, request)
    form, quarter = _quarter(request)
    context: dict = {"form": form, "quarter": quarter}
    if quarter is not None:
        context["rows"] = selectors.access_review_rows(quarter)
        context["review"] = selectors.access_review_for(quarter)
        context["can_confirm"] = context["review"] is None and quarter.end < timezone.localdate()
    return render(request, "accounts/access_review.html", context, status=200 if quarter else 400)


ACCESS_REVIEW_COLUMNS = ["email", "name", "role", "second_factor", "last_sign_in", "patients_opened", "records_opened"]


@require_GET  # a HEAD would record a download that sent nothing
def access_review_download(request: ClinicRequest) -> HttpResponse:
    _require(permissions.can_review_access, request)
    form, quarter = _quarter(request)
    if quarter is None:
        return render(request, "accounts/access_review.html", {"form": form, "quarter": None}, status=400)
    rows = selectors.access_review_rows(quarter)
    audit.record(
        event="accounts.access_review.exported",
        target_model=User,
        actor=request.user,
        data={"quarter": quarter.label, "format": "csv", "count": len(rows)},
    )
    lines = [ACCESS_REVIEW_COLUMNS] + [
        [
            row.user.email,
            row.user.full_name,
            row.user.get_role_display(),
            row.second_factor,
            timezone.localtime(row.user.last_login).isoformat(timespec="minutes") if row.user.last_login else "never",
            row.patients_opened,
            row.records_opened,
        ]
        for row in rows
    ]
    response = HttpResponse(spreadsheets.csv_text(lines), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="access-review-{quarter.label}.csv"'
    return response


@require_POST
def confirm_access_review(request: ClinicRequest) -> HttpResponse:
    _require(permissions.can_review_access, request)
    form = QuarterForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a quarter such as 2026-Q1.")
        return redirect("accounts:access-review")
    quarter = selectors.parse_quarter(form.cleaned_data["quarter"])
    try:
        services.confirm_access_review(quarter=quarter, actor=request.user)
    except services.AccountError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"The access review for {quarter.label} is confirmed.")
    return redirect(f"{reverse('accounts:access-review')}?quarter={quarter.label}")


# --- Session timeout ------------------------------------------------------------------------------------


@require_GET
def session_status(request: HttpRequest) -> JsonResponse:
    """Seconds left before the idle sign-out, and a fresh CSRF token (for a form kept across a new sign-in).

    Not activity: the idle middleware does not count this request, so an open tab asking does not keep the
    session alive. An ended session gets 401 (``{"remaining": 0}``).
    """
    remaining = idle_seconds_left(request)
    return JsonResponse({"remaining": remaining, "csrf_token": get_token(request)})


@require_POST
def session_keep_alive(request: ClinicRequest) -> JsonResponse:
    """ "Stay signed in" and typing in a form: activity (the idle middleware records it)."""
    return JsonResponse({"remaining": settings.SESSION_IDLE_TIMEOUT, "csrf_token": get_token(request)})
