"""Closing the clinic on a day that has appointments lists them and cancels them, never leaves them scheduled."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from accounts.models import Role
from audit import events
from audit.models import AuditEvent
from scheduling import services
from scheduling.models import Appointment, AppointmentStatusChange, ClosedDay
from tests.factories import PatientFactory
from tests.scheduling.conftest import next_weekday

pytestmark = pytest.mark.django_db

T = datetime.time


@pytest.fixture
def day():
    return next_weekday(3, weeks_ahead=2)


@pytest.fixture
def booked(staff_user, ind, day):
    """Two open appointments and one already cancelled on ``day``."""
    first = services.book_appointment(
        actor=staff_user, patient=PatientFactory(first_name="Ryan", last_name="Alvarez"), service_type=ind,
        date=day, start_time=T(10),
    )  # fmt: skip
    second = services.book_appointment(
        actor=staff_user, patient=PatientFactory(first_name="Ryan", last_name="Baker"), service_type=ind,
        date=day, start_time=T(11),
    )  # fmt: skip
    gone = services.book_appointment(
        actor=staff_user, patient=PatientFactory(last_name="Gone"), service_type=ind, date=day, start_time=T(14)
    )
    services.set_status(actor=staff_user, appointment=gone, status="cancelled_by_patient")
    return [first, second, gone]


def test_cancel_for_closed_day_cancels_open_appointments_as_cancelled_by_clinic_and_audits(admin_user, booked, day):
    closed_day = ClosedDay.objects.create(date=day, reason="Staff training")
    cancelled = services.cancel_for_closed_day(closed_day, by=admin_user, reason="Staff training")
    assert [a.pk for a in cancelled] == [booked[0].pk, booked[1].pk]
    statuses = dict(Appointment.objects.filter(date=day).values_list("pk", "status"))
    assert statuses == {
        booked[0].pk: "cancelled_by_clinic", booked[1].pk: "cancelled_by_clinic", booked[2].pk: "cancelled_by_patient"
    }  # fmt: skip
    change = AppointmentStatusChange.objects.filter(appointment=booked[0]).last()
    assert (change.from_status, change.to_status, change.changed_by, change.reason) == (
        "scheduled", "cancelled_by_clinic", admin_user, "Staff training"
    )  # fmt: skip
    entry = AuditEvent.objects.get(event=events.CLOSED_DAY_APPOINTMENTS_CANCELLED)
    assert entry.actor == admin_user and entry.additional_data == {
        "date": day.isoformat(),
        "cancelled": 2,
        "group_sessions_cancelled": 0,
    }
    # One audited update per appointment as well (django-auditlog).
    assert AuditEvent.objects.filter(event="scheduling.appointment.updated", object_id=booked[0].pk).exists()


def test_add_closed_day_refuses_to_leave_appointments_scheduled_silently(admin_user, booked, day):
    with pytest.raises(ValidationError) as exc:
        services.add_closed_day(date=day, reason="Storm", by=admin_user)
    assert "2 appointments are booked on" in exc.value.message_dict["cancel_appointments"][0]
    assert not ClosedDay.objects.exists()
    assert Appointment.objects.filter(date=day, status="scheduled").count() == 2


def test_add_closed_day_is_all_or_nothing_when_the_day_changed_meanwhile(admin_user, staff_user, booked, day, ind):
    shown = [booked[0].pk, booked[1].pk]
    services.book_appointment(actor=staff_user, patient=PatientFactory(), service_type=ind, date=day, start_time=T(15))
    with pytest.raises(ValidationError):
        services.add_closed_day(date=day, reason="Storm", by=admin_user, cancel_appointments=True, expected=shown)
    assert not ClosedDay.objects.exists() and Appointment.objects.filter(date=day, status="scheduled").count() == 3


def test_only_administrators_close_the_clinic(staff_user, booked, day):
    with pytest.raises(PermissionDenied):
        services.add_closed_day(date=day, reason="Storm", by=staff_user, cancel_appointments=True)
    assert not ClosedDay.objects.exists()


def test_page_lists_the_days_appointments_then_closes_and_cancels_them_on_confirmation(client, admin_user, booked, day):
    client.force_login(admin_user)
    url = reverse("scheduling:closed-days")
    response = client.post(url, {"date": day.isoformat(), "reason": "Hurricane"})
    html = response.content.decode()
    assert response.status_code == 200 and 'data-testid="closed-day-booked"' in html
    assert "2 appointments are booked on" in html and "Alvarez, Ryan" in html and "Baker, Ryan" in html
    assert "Gone" not in html  # already cancelled: nothing to do
    assert "Close the day and cancel 2 appointments" in html
    assert not ClosedDay.objects.exists()
    # Sending it back without ticking the box still saves nothing.
    expected = f"{booked[0].pk},{booked[1].pk}"
    response = client.post(url, {"date": day.isoformat(), "reason": "Hurricane", "expected": expected})
    assert "Tick the box to cancel them" in response.content.decode() and not ClosedDay.objects.exists()
    response = client.post(
        url, {"date": day.isoformat(), "reason": "Hurricane", "expected": expected, "cancel_appointments": "on"},
        follow=True,
    )  # fmt: skip
    assert f"The clinic is closed on {day:%m/%d/%Y} (Hurricane): 2 appointments cancelled by the clinic." in (
        response.content.decode()
    )
    assert ClosedDay.objects.get().reason == "Hurricane"
    assert set(Appointment.objects.filter(date=day).values_list("status", flat=True)) == {
        "cancelled_by_clinic", "cancelled_by_patient"
    }  # fmt: skip


def test_page_closes_an_empty_day_at_once(client, admin_user, day):
    client.force_login(admin_user)
    response = client.post(reverse("scheduling:closed-days"), {"date": day.isoformat(), "reason": "Holiday"})
    assert response.status_code == 302 and ClosedDay.objects.get().date == day


@pytest.mark.parametrize("role", [Role.STAFF, Role.NURSE, Role.DOCTOR, Role.READ_ONLY])
def test_closed_days_page_is_for_administrators(client, user_for_role, role):
    client.force_login(user_for_role(role))
    assert client.get(reverse("scheduling:closed-days")).status_code == 403


def test_closed_days_page_bad_input_is_a_form_error(client, admin_user):
    client.force_login(admin_user)
    response = client.post(reverse("scheduling:closed-days"), {"date": "not a date", "reason": ""})
    assert response.status_code == 200 and "Enter a valid date." in response.content.decode()
    assert client.put(reverse("scheduling:closed-days")).status_code == 405


def test_admin_refuses_a_closed_day_on_a_booked_date_and_points_to_the_page(client, admin_user, booked, day):
    client.force_login(admin_user)
    response = client.post("/admin/scheduling/closedday/add/", {"date": day.isoformat(), "reason": "Storm"})
    html = response.content.decode()
    assert response.status_code == 200 and "2 appointment(s) are booked on this day" in html
    assert reverse("scheduling:closed-days") in html and not ClosedDay.objects.exists()
