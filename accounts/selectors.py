"""Reads about user accounts: second factors, API keys, lockouts, pending invitations, inactivity and the
quarterly access review."""

import datetime
from dataclasses import dataclass

from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import AccessReview, APIKey, Invitation, RecoveryCode, User
from audit.models import AuditEvent

PATIENT_OPENED_EVENT = "patients.patient.viewed"


def totp_device_of(user: User) -> TOTPDevice | None:
    """The user's confirmed authenticator (TOTP) device, if they enrolled one."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def has_second_factor(user: User) -> bool:
    """Whether ``user`` signs in with a second factor (a confirmed authenticator app)."""
    return bool(user.pk) and TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def unused_recovery_codes(user: User) -> QuerySet[RecoveryCode]:
    """The recovery codes ``user`` has not used yet."""
    return RecoveryCode.objects.filter(user=user, used_at__isnull=True)


def api_keys() -> QuerySet[APIKey]:
    """Every API key, newest first, with the accounts (role) and people shown beside them."""
    return APIKey.objects.select_related("account", "created_by", "revoked_by").order_by("-created_at")


@dataclass(frozen=True)
class Lockout:
    """Why a user cannot sign in now: failures from an address since a time, locked until a time."""

    failures: int
    ip_address: str
    last_failure_at: datetime.datetime
    locked_until: datetime.datetime

    @property
    def reason(self) -> str:
        return f"{self.failures} failed sign-ins from {self.ip_address}"


def lockouts_by_email(emails: list[str] | None = None) -> dict[str, Lockout]:
    """The accounts locked out now (django-axes' per account and address count), by email; one query."""
    limit = settings.AXES_FAILURE_LIMIT
    since = timezone.now() - settings.AXES_COOLOFF_TIME
    attempts = AccessAttempt.objects.filter(failures_since_start__gte=limit, attempt_time__gt=since)
    if emails is not None:
        attempts = attempts.filter(username__in=emails)
    locked: dict[str, Lockout] = {}
    for attempt in attempts.order_by("attempt_time"):
        locked[attempt.username] = Lockout(
            failures=attempt.failures_since_start,
            ip_address=attempt.ip_address or "an unknown address",
            last_failure_at=attempt.attempt_time,
            locked_until=attempt.attempt_time + settings.AXES_COOLOFF_TIME,
        )
    return locked


def with_lockout(users: QuerySet[User]) -> QuerySet[User]:
    """``users`` annotated with ``locked_failures`` and ``locked_address`` (None unless locked out now)."""
    locked = AccessAttempt.objects.filter(
        username=OuterRef("email"),
        failures_since_start__gte=settings.AXES_FAILURE_LIMIT,
        attempt_time__gt=timezone.now() - settings.AXES_COOLOFF_TIME,
    ).order_by("-attempt_time")
    return users.annotate(
        locked_failures=Subquery(locked.values("failures_since_start")[:1]),
        locked_address=Subquery(locked.values("ip_address")[:1]),
    )


def lockout_of(user: User) -> Lockout | None:
    return lockouts_by_email([user.email]).get(user.email)


def users_for_administration() -> QuerySet[User]:
    """Every user for the administrators' page, with their invitation (one query)."""
    return User.objects.select_related("invitation").order_by("-is_active", "full_name", "email")


def pending_invitations() -> QuerySet[Invitation]:
    """Invitations not yet accepted or revoked (expired ones included: they can be resent)."""
    return (
        Invitation.objects.filter(accepted_at__isnull=True, revoked_at__isnull=True)
        .select_related("user", "invited_by")
        .order_by("-sent_at")
    )


def active_users() -> QuerySet[User]:
    return User.objects.filter(is_active=True)


def inactive_users(*, now: datetime.datetime) -> QuerySet[User]:
    """Active users without a sign-in for ``ACCOUNT_INACTIVE_DAYS`` (never signed in: since they joined)."""
    cutoff = now - datetime.timedelta(days=settings.ACCOUNT_INACTIVE_DAYS)
    # API keys' accounts never sign in: they end by their own expiry, not by inactivity.
    return (
        active_users()
        .filter(is_api_key_account=False)
        .annotate(last_seen=Coalesce("last_login", "date_joined"))
        .filter(last_seen__lt=cutoff)
        .order_by("email")
    )


def second_factor_status(user: User, *, enrolled: bool | None = None) -> str:
    """``user``'s second factor as the access review shows it (``enrolled`` when already known)."""
    if user.is_api_key_account:
        return "API key (no sign-in)"
    if enrolled is None:
        enrolled = has_second_factor(user)
    return "authenticator app" if enrolled else "none"


# --- Access reviews ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Quarter:
    start: datetime.date
    end: datetime.date  # inclusive

    @property
    def label(self) -> str:
        return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"


def quarter_of(day: datetime.date) -> Quarter:
    first_month = 3 * ((day.month - 1) // 3) + 1
    start = datetime.date(day.year, first_month, 1)
    next_start = datetime.date(day.year + (first_month == 10), (first_month + 2) % 12 + 1, 1)
    return Quarter(start=start, end=next_start - datetime.timedelta(days=1))


def previous_quarter(day: datetime.date) -> Quarter:
    return quarter_of(quarter_of(day).start - datetime.timedelta(days=1))


def parse_quarter(label: str) -> Quarter:
    """``2026-Q1`` -> that quarter; ``ValueError`` for anything else."""
    year, _, number = (label or "").partition("-Q")
    if not (year.isdigit() and number in {"1", "2", "3", "4"}) or not 1900 <= int(year) <= 2100:
        raise ValueError("Choose a quarter such as 2026-Q1.")
    return quarter_of(datetime.date(int(year), 3 * int(number) - 2, 1))


@dataclass(frozen=True)
class AccessReviewRow:
    user: User
    second_factor: str
    patients_opened: int
    records_opened: int


def access_review_rows(quarter: Quarter) -> list[AccessReviewRow]:
    """Every active user, with their second-factor status and the patient records they opened in the quarter.

    ``patients_opened`` counts distinct patients, ``records_opened`` every opening (page, API, admin), from
    the audit trail's ``patients.patient.viewed`` entries (the quarter in the clinic's time zone); three queries.
    """
    zone = timezone.get_current_timezone()
    start = datetime.datetime.combine(quarter.start, datetime.time.min, tzinfo=zone)
    end = datetime.datetime.combine(quarter.end + datetime.timedelta(days=1), datetime.time.min, tzinfo=zone)
    counts = {
        row["actor_id"]: row
        for row in AuditEvent.objects.filter(event=PATIENT_OPENED_EVENT, timestamp__gte=start, timestamp__lt=end)
        .values("actor_id")
        .annotate(patients=Count("patient_id", distinct=True), records=Count("id"))
    }
    empty = {"patients": 0, "records": 0}
    enrolled = set(TOTPDevice.objects.filter(confirmed=True).values_list("user_id", flat=True))
    return [
        AccessReviewRow(
            user=user,
            second_factor=second_factor_status(user, enrolled=user.pk in enrolled),
            patients_opened=counts.get(user.pk, empty)["patients"],
            records_opened=counts.get(user.pk, empty)["records"],
        )
        for user in active_users().order_by("role", "full_name", "email")
    ]


def access_review_for(quarter: Quarter) -> AccessReview | None:
    return AccessReview.objects.select_related("confirmed_by").filter(period_start=quarter.start).first()


def overdue_access_review(*, today: datetime.date | None = None) -> Quarter | None:
    """The last ended quarter if its review is not confirmed ``ACCESS_REVIEW_DUE_DAYS`` after it ended, else None."""
    today = today or timezone.localdate()
    quarter = previous_quarter(today)
    if (today - quarter.end).days <= settings.ACCESS_REVIEW_DUE_DAYS:
        return None
    if AccessReview.objects.filter(period_start=quarter.start).exists():
        return None
    return quarter
