"""Creating and changing user accounts: one path for the admin site, the API and the command line."""

from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.models import Role, User, normalize_email


@transaction.atomic
def create_user(
    *, email: str, password: str, role: str, full_name: str = "", is_active: bool = True, actor: User | None = None
) -> User:
    """Create a user (active unless said otherwise) after checking the email is free, the role exists and
    the password passes the policy.

    Raises ``ValidationError`` with per-field messages.
    """
    email = normalize_email(email)
    errors: dict[str, list[str]] = {}
    if role not in Role.values:
        errors["role"] = [f"Choose one of: {', '.join(Role.values)}."]
    if User.objects.filter(email=email).exists():
        errors["email"] = ["A user with this email already exists."]
    candidate = User(
        email=email, full_name=full_name.strip(), role=role if role in Role.values else Role.STAFF, is_active=is_active
    )
    try:
        validate_password(password, user=candidate)
    except ValidationError as exc:
        errors["password"] = list(exc.messages)
    if errors:
        raise ValidationError(errors)
    candidate.set_password(password)
    candidate.full_clean(exclude=["password"])
    candidate.save()
    return candidate


@transaction.atomic
def update_user(*, user: User, actor: User | None = None, password: str | None = None, **changes: Any) -> User:
    """Change a user's name, email, role or active flag, and optionally set a new password."""
    if "email" in changes:
        changes["email"] = normalize_email(changes["email"])
        if User.objects.filter(email=changes["email"]).exclude(pk=user.pk).exists():
            raise ValidationError({"email": ["A user with this email already exists."]})
    if "role" in changes and changes["role"] not in Role.values:
        raise ValidationError({"role": [f"Choose one of: {', '.join(Role.values)}."]})
    if actor is not None and user.pk == actor.pk and changes.get("is_active") is False:
        raise ValidationError({"is_active": ["You cannot deactivate your own account."]})
    for field, value in changes.items():
        setattr(user, field, value)
    if password:
        try:
            validate_password(password, user=user)
        except ValidationError as exc:
            raise ValidationError({"password": list(exc.messages)}) from None
        user.set_password(password)
    user.save()
    return user
