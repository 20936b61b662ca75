from django import forms
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm, SetPasswordForm

from accounts.models import Role, User, normalize_email
from spectrum.validation import SafeTextFormMixin


class LoginForm(AuthenticationForm):
    """Email and password. Field name stays ``username`` (Django's and axes' convention)."""

    username = forms.EmailField(
        label="Email",
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "The email or password is not correct. Note that the password is case-sensitive.",
        "inactive": "This account is deactivated. Ask an administrator.",
    }


class UserCreateForm(SafeTextFormMixin, forms.ModelForm):
    """Admin site: invite a user (name, email, role). There is no password: the user sets their own."""

    class Meta:
        model = User
        fields = ("email", "full_name", "role")

    def clean_email(self) -> str:
        email = normalize_email(self.cleaned_data["email"])
        if User.objects.filter(email=email).exists():
            raise forms.ValidationError("A user with this email already exists.")
        return email

    def validate_unique(self) -> None:
        """Checked case-insensitively by ``clean_email`` (and again by the invitation service)."""


class InviteUserForm(SafeTextFormMixin, forms.Form):
    """The administrators' page: who to invite. The user sets their own password from the emailed link."""

    full_name = forms.CharField(label="Full name", max_length=150)
    email = forms.EmailField(label="Email")
    role = forms.ChoiceField(label="Role", choices=Role.choices)

    def clean_email(self) -> str:
        email = normalize_email(self.cleaned_data["email"])
        if User.objects.filter(email=email).exists():
            raise forms.ValidationError("A user with this email already exists.")
        return email


class UnlockForm(SafeTextFormMixin, forms.Form):
    reason = forms.CharField(
        label="Reason", max_length=500, help_text="Recorded in the audit trail, e.g. “confirmed by phone”."
    )


class QuarterForm(forms.Form):
    quarter = forms.RegexField(regex=r"^\d{4}-Q[1-4]$", error_messages={"invalid": "Choose a quarter such as 2026-Q1."})


class InvitationPasswordForm(SetPasswordForm):
    """The invited user's own password (the password policy applies); saved by the invitation service."""


class ForgotPasswordForm(PasswordResetForm):
    """ "Forgot your password?": an email address (``services.request_password_reset`` does the rest)."""

    email = forms.EmailField(label="Email", max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"}))


class UserEditForm(SafeTextFormMixin, forms.ModelForm):
    """Admin site: name, email, role, active. No password: users set their own (invitation, reset link)."""

    class Meta:
        model = User
        fields = ("email", "full_name", "role", "is_active")


class SecondFactorCodeForm(forms.Form):
    """The second step of signing in: a code from the authenticator app, or a recovery code."""

    code = forms.CharField(
        label="Code",
        max_length=20,
        help_text="The 6 digits your authenticator app shows, or one of your recovery codes.",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True, "inputmode": "text"}),
    )


class EnrolTOTPForm(forms.Form):
    code = forms.CharField(
        label="Code from the app",
        max_length=10,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class ReauthForm(forms.Form):
    """Sudo mode: the password again, or a code from the second factor."""

    reauth_password = forms.CharField(
        label="Password",
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True}),
    )
    reauth_code = forms.CharField(
        label="Or a code from your authenticator app",
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code"}),
    )

    def clean(self) -> dict:
        cleaned = super().clean() or {}
        if not cleaned.get("reauth_password") and not cleaned.get("reauth_code"):
            raise forms.ValidationError("Enter your password (or a code from your authenticator app).")
        return cleaned


class SecondFactorResetForm(SafeTextFormMixin, forms.Form):
    reason = forms.CharField(
        label="Reason", max_length=500, help_text="Recorded in the audit trail, e.g. “lost phone, identity checked”."
    )


class APIKeyForm(SafeTextFormMixin, forms.Form):
    name = forms.CharField(label="Name", max_length=100, help_text="The script or system that uses the key.")
    role = forms.ChoiceField(label="Role", choices=Role.choices, help_text="The key may do what this role may.")
    expires_on = forms.DateField(
        label="Expires on", widget=forms.DateInput(attrs={"type": "date"}), help_text="At most a year from today."
    )
