import datetime

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from authorizations import selectors, services
from authorizations.models import Authorization
from scheduling import services as scheduling
from tests.factories import PatientFactory
from tests.scheduling.conftest import next_weekday, past_weekday

pytestmark = pytest.mark.django_db
T = datetime.time


def usage(authorization: Authorization) -> Authorization:
    return selectors.with_usage(Authorization.objects.filter(pk=authorization.pk)).get()


def visit(actor, patient, service, day, hour=10, status=None, minutes=None):
    appointment = scheduling.book_appointment(
        actor=actor, patient=patient, service_type=service, date=day, start_time=T(hour), duration_minutes=minutes
    )
    if status:
        scheduling.set_status(actor=actor, appointment=appointment, status=status)
    return appointment


def test_visit_based_units_count_attended_visits(staff_user, patient, ind, make_authorization):
    authorization = make_authorization(units=10)
    visit(staff_user, patient, ind, past_weekday(1, weeks_back=1), status="attended")
    visit(staff_user, patient, ind, past_weekday(2, weeks_back=1), status="no_show")
    visit(staff_user, patient, ind, past_weekday(3, weeks_back=1), status="late_cancel")
    visit(staff_user, patient, ind, next_weekday(1))
    visit(staff_user, patient, ind, next_weekday(2))
    row = usage(authorization)
    assert (row.units_used, row.units_scheduled, row.units_remaining, row.status) == (1, 2, 9, "active")


def test_unit_based_services_count_started_units(staff_user, patient, psr, make_authorization):
    authorization = make_authorization(services=[psr], units=40)
    visit(staff_user, patient, psr, past_weekday(1, weeks_back=1), hour=9, minutes=180, status="attended")  # 12 units
    visit(
        staff_user, patient, psr, past_weekday(2, weeks_back=1), hour=9, minutes=50, status="attended"
    )  # ceil(50/15)=4
    assert usage(authorization).units_used == 16


def test_late_cancellations_count_when_the_payer_says_so(staff_user, patient, ind, make_authorization):
    counts, ignores = make_authorization(late_cancel_counts=True), None
    visit(staff_user, patient, ind, past_weekday(1, weeks_back=1), status="late_cancel")
    assert usage(counts).units_used == 1
    counts.late_cancel_counts = False
    counts.save()
    assert usage(counts).units_used == 0 and ignores is None


def test_window_edges_are_inclusive(staff_user, patient, ind, make_authorization):
    first, last = past_weekday(0, weeks_back=3), past_weekday(4, weeks_back=2)
    authorization = make_authorization(start=first, end=last)
    visit(staff_user, patient, ind, first, status="attended")
    visit(staff_user, patient, ind, last, status="attended")
    visit(staff_user, patient, ind, first - datetime.timedelta(days=3), status="attended")  # Friday before
    visit(staff_user, patient, ind, last + datetime.timedelta(days=3), status="attended")  # Monday after
    assert usage(authorization).units_used == 2


def test_other_patients_and_services_do_not_count(staff_user, patient, ind, psr, make_authorization):
    authorization = make_authorization(services=[ind])
    visit(staff_user, PatientFactory(), ind, past_weekday(1, weeks_back=1), status="attended")
    visit(staff_user, patient, psr, past_weekday(1, weeks_back=1), hour=13, minutes=60, status="attended")
    assert usage(authorization).units_used == 0


def test_status_over_time(staff_user, patient, ind, make_authorization):
    today = timezone.localdate()
    authorization = make_authorization(
        units=2, start=today - datetime.timedelta(days=30), end=today + datetime.timedelta(days=30)
    )
    assert usage(authorization).status == "active"
    pending = make_authorization(
        approved=False,
        number="PEND1",
        start=today + datetime.timedelta(days=31),
        end=today + datetime.timedelta(days=90),
    )
    assert usage(pending).status == "pending"
    visit(staff_user, patient, ind, past_weekday(1, weeks_back=1), status="attended")
    visit(staff_user, patient, ind, past_weekday(2, weeks_back=1), status="attended")
    assert usage(authorization).status == "exhausted"
    with time_machine.travel(timezone.now() + datetime.timedelta(days=45), tick=False):
        assert usage(authorization).status == "expired"


def data(patient, **extra):
    today = timezone.localdate()
    return {
        "patient": patient, "payer": "Sunshine Health", "auth_number": "X1", "units_authorized": 10,
        "start_date": today, "end_date": today + datetime.timedelta(days=90), "approval_date": today, **extra,
    }  # fmt: skip


def test_save_validates_window_units_services_and_codes(doctor_user, patient, ind):
    with pytest.raises(ValidationError) as exc:
        services.save_authorization(
            actor=doctor_user,
            data=data(
                patient,
                end_date=timezone.localdate() - datetime.timedelta(days=1),
                units_authorized=0,
                diagnosis_code="nope",
            ),
            service_types=[],
        )
    assert set(exc.value.message_dict) >= {"end_date", "units_authorized", "service_types", "diagnosis_code"}
    assert not Authorization.objects.exists()


def test_auth_number_unique_per_payer(doctor_user, patient, ind):
    services.save_authorization(actor=doctor_user, data=data(patient), service_types=[ind])
    with pytest.raises(ValidationError) as exc:
        services.save_authorization(
            actor=doctor_user,
            data=data(PatientFactory(), payer="SUNSHINE HEALTH", auth_number="x1"),
            service_types=[ind],
        )
    assert "already recorded" in exc.value.message_dict["auth_number"][0]
    services.save_authorization(actor=doctor_user, data=data(PatientFactory(), payer="Molina"), service_types=[ind])


def test_overlapping_authorizations_for_same_patient_and_service_are_rejected(doctor_user, patient, ind, psr):
    services.save_authorization(actor=doctor_user, data=data(patient), service_types=[ind])
    later = timezone.localdate() + datetime.timedelta(days=30)
    with pytest.raises(ValidationError) as exc:
        services.save_authorization(
            actor=doctor_user, data=data(patient, auth_number="X2", start_date=later), service_types=[ind, psr]
        )
    assert "overlaps Sunshine Health #X1" in exc.value.message_dict["start_date"][0]
    services.save_authorization(
        actor=doctor_user, data=data(patient, auth_number="X3", start_date=later), service_types=[psr]
    )


@pytest.mark.parametrize("role", ["nurse", "staff", "read_only"])
def test_only_admin_and_doctor_write(user_for_role, patient, ind, role):
    with pytest.raises(PermissionDenied):
        services.save_authorization(actor=user_for_role(role), data=data(patient), service_types=[ind])
