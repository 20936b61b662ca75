"""Authorizations with their usage counted from appointments, in a constant number of queries."""

import datetime

from django.db.models import (
    Case,
    F,
    FloatField,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Ceil, Coalesce
from django.db.models.lookups import GreaterThan
from django.utils import timezone

from accounts import permissions
from accounts.permissions import Actor
from authorizations.models import Authorization
from patients.models import Patient
from scheduling.models import Appointment

Status = Authorization.Status
LOW_UNITS_SHARE = 0.2
EXPIRING_WITHIN_DAYS = 30


def _units() -> Case:
    """Units of one appointment: 1 per visit, or ceil(duration / unit minutes) for unit-billed services.

    An attendee of a signed group session counts the units of the minutes they attended instead (time in
    and out, the payer's minimum per unit: ``groups.services.units_for_minutes``), not the booked length.
    """
    return Case(
        When(
            status=Appointment.Status.ATTENDED,
            group_session__signed_at__isnull=False,
            units_attended__isnull=False,
            then=F("units_attended"),
        ),
        When(service_type__unit_minutes__isnull=True, then=Value(1)),
        default=Cast(
            Ceil(Cast(F("duration_minutes"), FloatField()) / Cast(F("service_type__unit_minutes"), FloatField())),
            IntegerField(),
        ),
        output_field=IntegerField(),
    )


def _covered(extra: Q) -> QuerySet[Appointment]:
    """Appointments an authorization (the outer row) covers: its patient, its services, its window."""
    return Appointment.objects.filter(
        extra,
        patient=OuterRef("patient"),
        service_type__authorizations=OuterRef("pk"),
        date__gte=OuterRef("start_date"),
        date__lte=OuterRef("end_date"),
    )


def _unit_sum(extra: Q) -> Coalesce:
    total = _covered(extra).order_by().values("patient").annotate(total=Sum(_units())).values("total")
    return Coalesce(Subquery(total, output_field=IntegerField()), Value(0))


def with_usage(
    authorizations: QuerySet[Authorization], *, today: datetime.date | None = None
) -> QuerySet[Authorization]:
    """Annotate ``units_used``, ``units_scheduled``, ``units_remaining`` and ``status`` (all derived).

    Used: attended appointments, plus late cancellations where the payer counts them. Scheduled: booked
    (still open) appointments from today on. Over-booked: more units used and scheduled than authorized
    (see ``is_over_booked``). One query whatever the number of rows.
    """
    today = today or timezone.localdate()
    attended = _unit_sum(Q(status=Appointment.Status.ATTENDED))
    late = _unit_sum(Q(status=Appointment.Status.LATE_CANCEL))
    scheduled = _unit_sum(Q(status__in=Appointment.OPEN_STATUSES, date__gte=today))
    return authorizations.annotate(
        units_attended=attended,
        units_late_cancelled=late,
        units_used=F("units_attended")
        + Case(When(late_cancel_counts=True, then=F("units_late_cancelled")), default=Value(0)),
        units_scheduled=scheduled,
        units_remaining=F("units_authorized") - F("units_used"),
        status=Case(
            When(approval_date__isnull=True, then=Value(Status.PENDING)),
            When(end_date__lt=today, then=Value(Status.EXPIRED)),
            When(
                GreaterThan(F("units_used") + F("units_scheduled"), F("units_authorized")),
                then=Value(Status.OVER_BOOKED),
            ),
            When(units_used__gte=F("units_authorized"), then=Value(Status.EXHAUSTED)),
            default=Value(Status.ACTIVE),
        ),
    )


def authorizations_visible_to(user: Actor) -> QuerySet[Authorization]:
    """Authorizations ``user`` may see: of active patients, or of any patient for administrators."""
    return Authorization.objects.visible_to(user)


def listing(user: Actor) -> QuerySet[Authorization]:
    return with_usage(authorizations_visible_to(user)).select_related("patient").prefetch_related("service_types")


def expiring_within(authorizations: QuerySet[Authorization], days: int) -> QuerySet[Authorization]:
    today = timezone.localdate()
    return authorizations.filter(end_date__gte=today, end_date__lte=today + datetime.timedelta(days=days))


def alerts(user: Actor) -> list[Authorization]:
    """For the dashboard: expiring within 30 days, under 20% of units left, or already over-used."""
    today = timezone.localdate()
    rows = (
        listing(user)
        .filter(approval_date__isnull=False, end_date__gte=today - datetime.timedelta(days=EXPIRING_WITHIN_DAYS))
        .filter(
            Q(end_date__lte=today + datetime.timedelta(days=EXPIRING_WITHIN_DAYS), end_date__gte=today)
            | Q(units_remaining__lt=Cast(F("units_authorized"), FloatField()) * LOW_UNITS_SHARE)
            | Q(status=Status.OVER_BOOKED)
        )
        .order_by("end_date")
    )
    result = []
    for authorization in rows:
        authorization.alert_reasons = alert_reasons(authorization, today)
        if authorization.alert_reasons:
            result.append(authorization)
    return result


def alert_reasons(authorization: Authorization, today: datetime.date) -> list[str]:
    reasons = []
    if authorization.units_used > authorization.units_authorized:
        reasons.append(f"over-used by {authorization.units_used - authorization.units_authorized} units")
    elif is_over_booked(authorization):
        reasons.append(
            f"over-booked: {authorization.units_used + authorization.units_scheduled} units booked or used "
            f"of {authorization.units_authorized} authorized"
        )
    elif authorization.units_remaining < authorization.units_authorized * LOW_UNITS_SHARE:
        reasons.append(f"{authorization.units_remaining} of {authorization.units_authorized} units left")
    if today <= authorization.end_date <= today + datetime.timedelta(days=EXPIRING_WITHIN_DAYS):
        reasons.append(f"ends {authorization.end_date:%m/%d/%Y}")
    return reasons


def covering(patient_id: int, service_type_id: int, day: datetime.date) -> QuerySet[Authorization]:
    return with_usage(
        Authorization.objects.filter(
            patient_id=patient_id, service_types=service_type_id, start_date__lte=day, end_date__gte=day
        )
    )


def for_patient(user: Actor, patient: Patient) -> list[Authorization] | None:
    """The patient page's authorizations, newest window first; None when the role may not see them."""
    if not permissions.can_view_authorizations(user):
        return None
    return list(listing(user).filter(patient=patient).order_by("-end_date", "-id"))


def is_over_booked(authorization: Authorization) -> bool:
    """More units booked (scheduled) or used than authorized; ``authorization`` comes from ``with_usage``."""
    return authorization.units_used + authorization.units_scheduled > authorization.units_authorized


def covering_many(
    patient_ids: list[int], *, service_type_id: int, day: datetime.date, today: datetime.date | None = None
) -> QuerySet[Authorization]:
    """The authorizations of ``patient_ids`` covering ``service_type_id`` on ``day``, with their usage
    (``with_usage``: a patient is over-booked when one of them has the status ``OVER_BOOKED``). One query
    whatever the number of patients: for rosters and lists that show units left and flag the over-booked."""
    return with_usage(
        Authorization.objects.filter(
            patient_id__in=patient_ids, service_types=service_type_id, start_date__lte=day, end_date__gte=day
        ),
        today=today,
    )


def over_booked_patients(
    patient_ids: list[int], *, service_type_id: int, day: datetime.date | None = None
) -> dict[int, Authorization]:
    """Of ``patient_ids``, those whose authorization covering ``service_type_id`` on ``day`` is over-booked,
    with that authorization (annotated as ``with_usage``). One query whatever the number of patients.
    """
    rows = covering_many(patient_ids, service_type_id=service_type_id, day=day or timezone.localdate())
    rows = rows.filter(status=Status.OVER_BOOKED)
    return {authorization.patient_id: authorization for authorization in rows.order_by("end_date", "id")}
