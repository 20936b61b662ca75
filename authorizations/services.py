"""Authorization rules: creating and changing them, and the warnings that booking and marking attendance give."""

import datetime
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import permissions
from accounts.models import User
from audit import services as audit
from authorizations import selectors
from authorizations.models import Authorization, units_for
from patients.validation import normalize_diagnosis_codes

FIELDS = (
    "patient", "payer", "auth_number", "units_authorized", "start_date", "end_date", "approval_date",
    "diagnosis_code", "late_cancel_counts", "notes",
)  # fmt: skip


@dataclass(frozen=True)
class AuthorizationWarning:
    """Something a scheduler must know before delivering care the payer may not pay for."""

    code: str  # "no_authorization" | "over_units" | "ends_before"
    message: str
    date: datetime.date
    authorization: int | None = None
    # The message without the date-specific part, to summarise the same warning over several dates.
    subject: str = ""

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["date"] = self.date.isoformat()
        del data["subject"]
        return data


# --- Writing authorizations ------------------------------------------------------------------------------


def _validate(authorization: Authorization, service_types: list) -> None:
    errors: dict[str, list[str]] = {}
    authorization.payer = " ".join((authorization.payer or "").split())
    authorization.auth_number = (authorization.auth_number or "").strip()
    if authorization.diagnosis_code:
        try:
            authorization.diagnosis_code = normalize_diagnosis_codes([authorization.diagnosis_code])[0]
        except ValidationError as exc:
            errors["diagnosis_code"] = exc.messages
    if authorization.units_authorized is not None and authorization.units_authorized <= 0:
        errors["units_authorized"] = ["Authorized units must be a positive number."]
    if authorization.start_date and authorization.end_date and authorization.end_date < authorization.start_date:
        errors["end_date"] = ["The end date must be on or after the start date."]
    if not service_types:
        errors["service_types"] = ["Choose at least one service."]
    clash = (
        Authorization.objects.filter(payer__iexact=authorization.payer, auth_number__iexact=authorization.auth_number)
        .exclude(pk=authorization.pk)
        .first()
    )
    if clash:
        errors["auth_number"] = [f"{clash} is already recorded (for another authorization)."]
    if not errors and authorization.start_date and authorization.end_date:
        overlapping = (
            Authorization.objects.filter(
                patient=authorization.patient_id,
                service_types__in=service_types,
                start_date__lte=authorization.end_date,
                end_date__gte=authorization.start_date,
            )
            .exclude(pk=authorization.pk)
            .distinct()
            .first()
        )
        if overlapping:
            errors["start_date"] = [
                f"This overlaps {overlapping} ({overlapping.start_date:%m/%d/%Y}–{overlapping.end_date:%m/%d/%Y}) for "
                "the same patient and service. End that one before this one starts."
            ]
    try:
        authorization.full_clean(exclude=["patient", "notes"], validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def save_authorization(
    *, actor: User, data: dict[str, Any], service_types: list, authorization: Authorization | None = None
) -> Authorization:
    """Create or change an authorization after its rules (window, units, uniqueness, no overlap)."""
    may_save = permissions.can_add_authorizations if authorization is None else permissions.can_change_authorizations
    if not may_save(actor):
        raise PermissionDenied("Your role may not record authorizations.")
    refused = sorted(
        name for name in permissions.unwritable_fields(actor, Authorization) if data.get(name) not in (None, "")
    )
    if refused:
        raise ValidationError({name: ["Your role may not set this field."] for name in refused})
    authorization = authorization or Authorization(created_by=actor)
    for field, value in data.items():
        if field in FIELDS:
            setattr(authorization, field, value)
    authorization.updated_by = actor
    _validate(authorization, service_types)
    with audit.acting_as(actor):
        authorization.save()
        authorization.service_types.set(service_types)
    return authorization


# --- Warnings for booking and attendance ------------------------------------------------------------------


def warnings_for_booking(
    *,
    patient: Any,
    service_type: Any,
    dates: list[datetime.date],
    duration_minutes: int | Mapping[datetime.date, int],
    exclude: Iterable[int] = (),
) -> dict[datetime.date, list[AuthorizationWarning]]:
    """What booking these dates would mean for the patient's authorizations of this service.

    ``dates`` are new appointments (one, or a series' dates in order); their units add up in date order
    on top of the units already used and scheduled. ``duration_minutes``: one for all, or one per date.
    ``exclude``: appointments being replaced (an edit or a move), whose units no longer count.
    """
    result: dict[datetime.date, list[AuthorizationWarning]] = {day: [] for day in dates}
    if not service_type.requires_authorization or not dates:
        return result
    durations = duration_minutes if isinstance(duration_minutes, Mapping) else dict.fromkeys(dates, duration_minutes)
    authorizations = list(
        selectors.with_usage(Authorization.objects.filter(patient=patient, service_types=service_type)).order_by(
            "start_date"
        )
    )
    excluded_units = _excluded_units(list(exclude))
    added: dict[int, int] = {}
    for day in sorted(dates):
        covering = [a for a in authorizations if a.covers(day) and a.status in a.IN_FORCE_STATUSES]
        if not covering:
            earlier = [a for a in authorizations if a.end_date < day and a.approval_date]
            if earlier:
                last = max(earlier, key=lambda a: a.end_date)
                subject = f"Authorization {last} ended on {last.end_date:%m/%d/%Y}"
                message = f"{subject}, before this appointment."
                result[day].append(AuthorizationWarning("ends_before", message, day, last.pk, subject))
            else:
                subject = f"No active authorization covers {service_type.code}"
                message = f"{subject} on {day:%m/%d/%Y}."
                result[day].append(AuthorizationWarning("no_authorization", message, day, None, subject))
            continue
        authorization = covering[0]
        units = units_for(unit_minutes=service_type.unit_minutes, duration_minutes=durations[day])
        added[authorization.pk] = added.get(authorization.pk, 0) + units
        committed = (
            authorization.units_used + authorization.units_scheduled - excluded_units.get(authorization.pk, 0)
            + added[authorization.pk]
        )  # fmt: skip
        if committed > authorization.units_authorized:
            subject = f"Authorization {authorization} would be over-used"
            message = f"{subject}: {committed} units booked or used of {authorization.units_authorized} authorized."
            result[day].append(AuthorizationWarning("over_units", message, day, authorization.pk, subject))
    return result


def _excluded_units(appointment_ids: list[int]) -> dict[int, int]:
    """Units the appointments count today as scheduled, per authorization (as ``with_usage`` counts them:
    open appointments from today on, of a service the authorization covers, in its window)."""
    if not appointment_ids:
        return {}
    from scheduling.models import Appointment

    totals: dict[int, int] = {}
    counted = Appointment.objects.filter(
        pk__in=appointment_ids, status__in=Appointment.OPEN_STATUSES, date__gte=timezone.localdate()
    ).select_related("service_type")
    for appointment in counted:
        for authorization in Authorization.objects.filter(
            patient=appointment.patient_id, service_types=appointment.service_type_id,
            start_date__lte=appointment.date, end_date__gte=appointment.date,
        ):  # fmt: skip
            totals[authorization.pk] = totals.get(authorization.pk, 0) + units_for(
                unit_minutes=appointment.service_type.unit_minutes, duration_minutes=appointment.duration_minutes
            )
    return totals


def warnings_for_attendance(appointment: Any) -> list[AuthorizationWarning]:
    """After an appointment is marked: is the delivered care covered, and is its authorization now over-used?

    Only outcomes that use units matter: attended, and late cancellations where the payer counts them.
    """
    service_type = appointment.service_type
    if not service_type.requires_authorization or appointment.status not in ("attended", "late_cancel"):
        return []
    covering = [
        a for a in selectors.covering(appointment.patient_id, service_type.pk, appointment.date) if a.approval_date
    ]
    if appointment.status == "late_cancel":
        covering = [a for a in covering if a.late_cancel_counts]
        if not covering:
            return []
    if not covering:
        return [
            AuthorizationWarning(
                "no_authorization",
                f"No authorization covers this {service_type.code} visit on {appointment.date:%m/%d/%Y}: "
                "it may not be paid.",
                appointment.date,
            )
        ]
    authorization = covering[0]
    if authorization.units_used > authorization.units_authorized:
        return [
            AuthorizationWarning(
                "over_units",
                f"Authorization {authorization} is over-used: {authorization.units_used} of "
                f"{authorization.units_authorized} units used.",
                appointment.date,
                authorization.pk,
            )
        ]
    return []


def enforce(service_type: Any, warnings: list[AuthorizationWarning]) -> None:
    """Where the service type says so, a warning refuses the booking instead of warning."""
    if warnings and service_type.authorization_blocks_booking:
        raise ValidationError({"service_type": [warning.message for warning in warnings]})
