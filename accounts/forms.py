from django import forms
from django.contrib.auth.forms import AuthenticationForm, BaseUserCreationForm, UserChangeForm

from accounts.models import User
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
