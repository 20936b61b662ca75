import hashlib
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, Group, PermissionsMixin
from django.db import models, transaction
from django.urls import reverse
from django.utils import timezone

from audit.registry import register_audited


class Role(models.TextChoices):
    ADMIN = "admin", "Administrator"
    DOCTOR = "doctor", "Doctor"
    NURSE = "nurse", "Nurse"
    STAFF = "staff", "Front desk"
    READ_ONLY = "read_only", "Read only (auditor)"


def normalize_email(email: str) -> str:
    """Emails are the login, compared without regard to case."""
    return (email or "").strip().lower()


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def get_by_natural_key(self, username: str | None) -> "User":
        return self.get(email=normalize_email(username or ""))

    def create_user(self, email: str, password: str | None = None, **extra) -> "User":
        if not email:
            raise ValueError("An email address is required.")
        extra.setdefault("role", Role.STAFF)
        user = self.model(email=normalize_email(email), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra) -> "User":
        extra["role"] = Role.ADMIN
        extra["is_superuser"] = True
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A member of the clinic's staff. Email is the login; the role decides what they may do."""

    email = models.EmailField("email address", unique=True)
    full_name = models.CharField(max_length=150, blank=True)
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.STAFF)
    is_active = models.BooleanField(
        default=True, help_text="Untick instead of deleting: a deactivated user cannot sign in, history stays."
    )
    is_staff = models.BooleanField(
        "admin site access", default=False, editable=False, help_text="Follows the role: administrators only."
    )
    date_joined = models.DateTimeField(default=timezone.now)
    is_api_key_account = models.BooleanField(
        default=False, editable=False, help_text="The account an API key acts as (accounts.APIKey); no one signs in."
    )
    updated_at = models.DateTimeField(auto_now=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        ordering = ["full_name", "email"]
        constraints = [
            models.CheckConstraint(condition=models.Q(role__in=Role.values), name="accounts_user_role_valid"),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email

    def get_absolute_url(self) -> str:
        return reverse("admin:accounts_user_change", args=[self.pk])

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        return (self.full_name.split() or [self.email])[0]

    def clean(self) -> None:
        super().clean()
        self.email = normalize_email(self.email)

    # A change to any of these ends the user's sign-ins: refresh tokens are revoked, sessions deleted.
    CREDENTIAL_FIELDS = ("password", "is_active", "role")

    def save(self, *args, **kwargs) -> None:
        """Keep the login normalised and the role's group (which carries the permissions) in step.

        A new password, a deactivation or a role change also revokes every refresh token of the user and
        ends their browser sessions, whichever path made it (admin site, API, pages, management commands).
        """
        self.email = normalize_email(self.email)
        self.is_staff = self.role == Role.ADMIN
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and not set(update_fields) & set(self.CREDENTIAL_FIELDS):
            super().save(*args, **kwargs)  # e.g. last_login
            return
        with transaction.atomic():
            changes = self._credential_changes()
            super().save(*args, **kwargs)
            if update_fields is None or "role" in update_fields:
                self.sync_role_group()
            if changes:
                from accounts.sessions import end_sessions
                from accounts.tokens import revoke_refresh_tokens

                revoke_refresh_tokens(self, because=changes)
                # The browser's sign-ins end too, but for the one making this change to their own account
                # (a new password, an administrator's own role): that request's session stays.
                sessions = end_sessions(self, keep=self._own_session_key())
                if sessions:
                    from audit import services as audit

                    audit.record(
                        event="accounts.user.sessions_ended",
                        target=self,
                        data={"sessions": sessions, "because": changes},
                    )

    def _own_session_key(self) -> str | None:
        from audit.context import current_request

        request = current_request.get()
        session = getattr(request, "session", None)
        if request is None or session is None or getattr(getattr(request, "user", None), "pk", None) != self.pk:
            return None
        return session.session_key

    def _credential_changes(self) -> list[str]:
        """What this save changes of the password, the active flag (deactivation) and the role."""
        if self._state.adding or self.pk is None:
            return []
        stored = type(self).objects.filter(pk=self.pk).values(*self.CREDENTIAL_FIELDS).first()
        if stored is None:
            return []
        changes = {
            "password": stored["password"] != self.password,
            "deactivated": stored["is_active"] and not self.is_active,
            "role": stored["role"] != self.role,
        }
        return [change for change, happened in changes.items() if happened]

    def sync_role_group(self) -> None:
        group, _ = Group.objects.get_or_create(name=self.role)
        current = set(self.groups.values_list("name", flat=True))
        if current != {self.role}:
            self.groups.set([group])


register_audited(User, exclude_fields=["password", "last_login", "updated_at"])


def hash_secret(secret: str) -> str:
    """SHA-256 of a high-entropy secret (recovery code, API key): enough for random values, fast to check.

    Passwords need a slow hash because people choose guessable ones; these are random, so an unsalted
    digest cannot be reversed by guessing, and a request checks one in microseconds.
    """
    return hashlib.sha256(secret.encode()).hexdigest()


class RecoveryCode(models.Model):
    """One single-use recovery code of a user's second factor, stored as a hash; shown once, at creation."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="recovery_codes")
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "code_hash"], name="accounts_recovery_code_unique")]

    def __str__(self) -> str:
        return f"recovery code of {self.user} ({'used' if self.used_at else 'unused'})"


class APIKey(models.Model):
    """A key a script sends as ``Authorization: Api-Key <key>``; it acts as its own account, with a role.

    The account (``is_api_key_account``, unusable password) carries the role, so permissions, rate limits
    and the audit trail treat the key like a user named "API key: <name>". Only a hash of the secret is
    kept; the key is shown once, when created.
    """

    PREFIX_LENGTH = 8

    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=PREFIX_LENGTH, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    account = models.OneToOneField(User, on_delete=models.PROTECT, related_name="api_key", editable=False)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_by = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="+", null=True, blank=True, editable=False
    )
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"API key: {self.name}"

    @property
    def role(self) -> str:
        return self.account.role

    def is_usable(self, at: Any = None) -> bool:
        at = at or timezone.now()
        return self.revoked_at is None and self.expires_at > at and self.account.is_active


class Invitation(models.Model):
    """A link that lets an invited user set their own password (administrators never see passwords).

    Only a hash of the token is stored; the link in the email is the only copy of the token. Resending
    replaces the token and the expiry; accepting or revoking ends it.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        EXPIRED = "expired", "Expired"
        ACCEPTED = "accepted", "Accepted"
        REVOKED = "revoked", "Revoked"

    user = models.OneToOneField(User, on_delete=models.PROTECT, related_name="invitation")
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    times_sent = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-sent_at"]

    def __str__(self) -> str:
        return f"Invitation of {self.user}"

    @property
    def status(self) -> str:
        if self.accepted_at:
            return self.Status.ACCEPTED
        if self.revoked_at:
            return self.Status.REVOKED
        if self.expires_at <= timezone.now():
            return self.Status.EXPIRED
        return self.Status.PENDING

    @property
    def is_open(self) -> bool:
        """Not yet accepted or revoked (it may have expired: then it can be resent)."""
        return self.accepted_at is None and self.revoked_at is None


class AccessReview(models.Model):
    """An administrator's confirmation that the quarter's list of users and their access is right."""

    period_start = models.DateField(unique=True)
    period_end = models.DateField()
    confirmed_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    confirmed_at = models.DateTimeField(default=timezone.now)
    active_users = models.PositiveIntegerField(help_text="How many active users the confirmed report listed.")

    class Meta:
        ordering = ["-period_start"]

    def __str__(self) -> str:
        return f"Access review {self.period_start:%Y-%m-%d}–{self.period_end:%Y-%m-%d}"
