from django import forms
from django.contrib.auth.forms import AuthenticationForm, BaseUserCreationForm, UserChangeForm

from accounts.models import Role, User
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


class UserCreateForm(SafeTextFormMixin, BaseUserCreationForm):
    """Admin site: create a user with a role and a password that passes the policy."""

    class Meta:
        model = User
        fields = ("email", "full_name", "role")


class UserEditForm(SafeTextFormMixin, UserChangeForm):
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
