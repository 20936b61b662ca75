"""Warnings at booking and marking: in the services, the pages and the API; and the blocking setting."""

import datetime

import pytest
from django.core.exceptions import ValidationError

from scheduling import services as scheduling
from scheduling.models import Appointment
from tests.scheduling.conftest import next_weekday, past_weekday

pytestmark = pytest.mark.django_db
T = datetime.time


def book(actor, patient, service, day, hour=10):
    return scheduling.book_appointment(actor=actor, patient=patient, service_type=service, date=day, start_time=T(hour))


def codes(warnings) -> list[str]:
    return [warning.code for warning in warnings]


def test_no_authorization_warns(staff_user, patient, ind):
    appointment = book(staff_user, patient, ind, next_weekday(1))
    assert codes(appointment.authorization_warnings) == ["no_authorization"]
    assert "No active authorization covers IND" in appointment.authorization_warnings[0].message


def test_services_that_need_no_authorization_never_warn(staff_user, patient):
    from scheduling.models import ServiceType

    evaluation = ServiceType.objects.get(code="EVAL")
    assert book(staff_user, patient, evaluation, next_weekday(1)).authorization_warnings == []


def test_covered_booking_has_no_warning(staff_user, patient, ind, make_authorization):
    make_authorization(units=5)
    assert book(staff_user, patient, ind, next_weekday(1)).authorization_warnings == []


def test_booked_plus_used_over_authorized_warns(staff_user, patient, ind, make_authorization):
    make_authorization(units=2)
    appointment = book(staff_user, patient, ind, past_weekday(1, weeks_back=1))
    scheduling.set_status(actor=staff_user, appointment=appointment, status="attended")
    assert book(staff_user, patient, ind, next_weekday(1)).authorization_warnings == []
    third = book(staff_user, patient, ind, next_weekday(2))
    assert codes(third.authorization_warnings) == ["over_units"]
    assert "3 units booked or used of 2 authorized" in third.authorization_warnings[0].message


def test_authorization_ending_before_the_appointment_warns(staff_user, patient, ind, make_authorization):
    day = next_weekday(1, weeks_ahead=3)
    make_authorization(end=day - datetime.timedelta(days=7))
    warning = book(staff_user, patient, ind, day).authorization_warnings[0]
    assert warning.code == "ends_before" and "ended on" in warning.message


def test_marking_attendance_over_the_authorization_warns_but_records(staff_user, patient, ind, make_authorization):
    make_authorization(units=1)
    first = book(staff_user, patient, ind, past_weekday(1, weeks_back=1))
    second = book(staff_user, patient, ind, past_weekday(2, weeks_back=1))
    assert scheduling.set_status(actor=staff_user, appointment=first, status="attended").authorization_warnings == []
    marked = scheduling.set_status(actor=staff_user, appointment=second, status="attended")
    assert codes(marked.authorization_warnings) == ["over_units"]
    assert Appointment.objects.get(pk=second.pk).status == "attended"


def test_series_preview_warns_on_the_dates_over_the_units(staff_user, patient, ind, make_authorization):
    make_authorization(units=10)
    request = scheduling.SeriesRequest(
        patient=patient, service_type=ind, start_date=next_weekday(0), start_time=T(10), frequency="weekly",
        weekdays=("mon", "wed"), count=12,
    )  # fmt: skip
    preview = scheduling.preview_series(request)
    assert [bool(occ.warnings) for occ in preview] == [False] * 10 + [True, True]
    series = scheduling.create_series(actor=staff_user, request=request)
    assert codes(series.authorization_warnings) == ["over_units", "over_units"]


def test_blocking_setting_refuses_uncovered_bookings(staff_user, patient, ind):
    ind.authorization_blocks_booking = True
    ind.save()
    with pytest.raises(ValidationError) as exc:
        book(staff_user, patient, ind, next_weekday(1))
    assert "No active authorization covers IND" in exc.value.message_dict["service_type"][0]
    assert not Appointment.objects.exists()


def test_page_warns_before_booking_and_books_once_acknowledged(client, staff_user, patient, ind):
    client.force_login(staff_user)
    day = next_weekday(1)
    data = {"patient": patient.pk, "service_type": ind.pk, "date": day.isoformat(), "start_time": "10:00"}
    response = client.post("/appointments/new/", data)
    html = response.content.decode()
    # The warning step: the form comes back with the warning and a box to tick; nothing is saved yet.
    assert response.status_code == 200 and 'data-testid="booking-warnings"' in html
    assert "nothing is booked yet" in html and "No active authorization covers IND" in html
    assert 'name="acknowledge_warnings"' in html
    assert not Appointment.objects.exists()
    response = client.post("/appointments/new/", {**data, "acknowledge_warnings": "on"}, follow=True)
    assert Appointment.objects.get().date == day
    html = response.content.decode()
    assert "message-warning" in html and "No active authorization covers IND" in html


def test_page_books_without_a_warning_step_when_the_authorization_covers_it(
    client, staff_user, patient, ind, make_authorization
):
    make_authorization(units=10)
    client.force_login(staff_user)
    data = {"patient": patient.pk, "service_type": ind.pk, "date": next_weekday(1).isoformat(), "start_time": "10:00"}
    response = client.post("/appointments/new/", data)
    assert response.status_code == 302 and Appointment.objects.count() == 1


def test_page_warns_before_booking_a_series_that_over_books(client, staff_user, patient, ind, make_authorization):
    make_authorization(units=1)
    client.force_login(staff_user)
    data = {
        "patient": patient.pk, "service_type": ind.pk, "date": next_weekday(0).isoformat(), "start_time": "10:00",
        "frequency": "weekly", "weekdays": ["mon"], "count": "3", "interval": "1",
    }  # fmt: skip
    html = client.post("/appointments/new/", data).content.decode()
    assert "would be over-used on 2 dates" in html and not Appointment.objects.exists()
    assert client.post("/appointments/new/", {**data, "acknowledge_warnings": "on"}).status_code == 302
    assert Appointment.objects.count() == 3


def test_page_preview_shows_warnings(client, staff_user, patient, ind, make_authorization):
    make_authorization(units=1)
    client.force_login(staff_user)
    data = {
        "patient": patient.pk, "service_type": ind.pk, "date": next_weekday(0).isoformat(), "start_time": "10:00",
        "frequency": "weekly", "weekdays": ["mon"], "count": "2", "interval": "1",
    }  # fmt: skip
    html = client.post("/appointments/preview/", data).content.decode()
    assert html.count('data-testid="authorization-warning"') == 1 and "would be over-used" in html


def test_inline_marking_notifies_warning(client, staff_user, patient, ind):
    appointment = book(staff_user, patient, ind, past_weekday(1, weeks_back=1))
    client.force_login(staff_user)
    response = client.post(
        f"/appointments/{appointment.pk}/status/", {"status": "attended"}, headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    # The warning is part of the one confirmation in the live region (no PHI in a response header).
    assert 'class="status-live status-live-warning"' in html and "No authorization covers" in html


def test_api_reports_warnings(api_client_for, staff_user, patient, ind, make_authorization):
    client = api_client_for(staff_user)
    response = client.post(
        "/api/v1/appointments/",
        {"patient": patient.pk, "service_type": ind.pk, "date": next_weekday(1).isoformat(), "start_time": "10:00"},
        format="json",
    )
    assert response.status_code == 201
    assert [w["code"] for w in response.json()["warnings"]] == ["no_authorization"]
    make_authorization(units=1)
    past = book(staff_user, patient, ind, past_weekday(1, weeks_back=1))
    other = book(staff_user, patient, ind, past_weekday(2, weeks_back=1))
    client.patch(f"/api/v1/appointments/{past.pk}/", {"status": "attended"}, format="json")
    response = client.patch(f"/api/v1/appointments/{other.pk}/", {"status": "attended"}, format="json")
    assert [w["code"] for w in response.json()["warnings"]] == ["over_units"]
    preview = client.post(
        "/api/v1/appointment-series/preview/",
        {"patient": patient.pk, "service_type": ind.pk, "start_date": next_weekday(0).isoformat(), "start_time": "11:00",
         "frequency": "weekly", "weekdays": ["mon"], "count": 2},
        format="json",
    ).json()  # fmt: skip
    assert preview["warnings"] == 2
    assert preview["occurrences"][0]["warnings"][0]["code"] == "over_units"


def test_ends_before_warning_in_page_and_api(client, api_client_for, staff_user, patient, ind, make_authorization):
    day = next_weekday(1, weeks_ahead=3)
    make_authorization(end=day - datetime.timedelta(days=7))
    client.force_login(staff_user)
    response = client.post(
        "/appointments/new/",
        {"patient": patient.pk, "service_type": ind.pk, "date": day.isoformat(), "start_time": "10:00"},
    )
    assert "ended on" in response.content.decode() and "before this appointment" in response.content.decode()
    response = api_client_for(staff_user).post(
        "/api/v1/appointments/",
        {"patient": patient.pk, "service_type": ind.pk, "date": day.isoformat(), "start_time": "11:00"},
        format="json",
    )
    assert [w["code"] for w in response.json()["warnings"]] == ["ends_before"]


# --- Edits and moves are checked as booking is ------------------------------------------------------------


def edit(actor, appointment, scope="this", **changes):
    return scheduling.update_appointment(actor=actor, appointment=appointment, changes=changes, scope=scope)


def test_moving_past_the_authorization_end_warns(staff_user, patient, ind, make_authorization):
    day = next_weekday(1)
    make_authorization(end=day + datetime.timedelta(days=3))
    appointment = book(staff_user, patient, ind, day)
    assert appointment.authorization_warnings == []
    [moved] = edit(staff_user, appointment, date=day + datetime.timedelta(days=7))
    assert codes(moved.authorization_warnings) == ["ends_before"]
    assert Appointment.objects.get(pk=appointment.pk).date == day + datetime.timedelta(days=7)


def test_moving_within_the_authorization_does_not_count_the_appointment_twice(
    staff_user, patient, ind, make_authorization
):
    make_authorization(units=1)
    appointment = book(staff_user, patient, ind, next_weekday(1))
    [moved] = edit(staff_user, appointment, date=next_weekday(2))
    assert moved.authorization_warnings == []


def test_lengthening_a_unit_billed_service_over_the_units_warns(staff_user, patient, psr, make_authorization):
    make_authorization(services=[psr], units=4)  # 4 × 15 minutes
    appointment = scheduling.book_appointment(
        actor=staff_user, patient=patient, service_type=psr, date=next_weekday(1), start_time=T(10),
        duration_minutes=60,
    )  # fmt: skip
    assert appointment.authorization_warnings == []
    [longer] = edit(staff_user, appointment, duration_minutes=90)
    assert codes(longer.authorization_warnings) == ["over_units"]
    assert "6 units booked or used of 4 authorized" in longer.authorization_warnings[0].message


def test_changing_to_a_service_that_blocks_is_refused(staff_user, patient, ind):
    from scheduling.models import ServiceType

    evaluation = ServiceType.objects.get(code="EVAL")  # needs no authorization
    appointment = book(staff_user, patient, evaluation, next_weekday(1))
    ind.authorization_blocks_booking = True
    ind.save()
    with pytest.raises(ValidationError) as exc:
        edit(staff_user, appointment, service_type=ind)
    assert "No active authorization covers IND" in exc.value.message_dict["service_type"][0]
    assert Appointment.objects.get(pk=appointment.pk).service_type == evaluation


def test_moving_a_blocking_service_outside_its_authorization_is_refused(staff_user, patient, ind, make_authorization):
    ind.authorization_blocks_booking = True
    ind.save()
    day = next_weekday(1)
    make_authorization(end=day + datetime.timedelta(days=3))
    appointment = book(staff_user, patient, ind, day)
    with pytest.raises(ValidationError):
        edit(staff_user, appointment, date=day + datetime.timedelta(days=7))
    assert Appointment.objects.get(pk=appointment.pk).date == day


def test_changing_only_the_time_or_notes_is_not_rechecked(staff_user, nurse_user, patient, ind):
    appointment = book(staff_user, patient, ind, next_weekday(1))  # uncovered: warned at booking
    ind.authorization_blocks_booking = True
    ind.save()
    [edited] = edit(nurse_user, appointment, start_time=T(14), notes="Moved to the afternoon")
    assert edited.authorization_warnings == [] and edited.start_time == T(14)


def test_series_edit_of_the_duration_warns_on_each_date_over_the_units(staff_user, patient, psr, make_authorization):
    make_authorization(services=[psr], units=8)
    request = scheduling.SeriesRequest(
        patient=patient, service_type=psr, start_date=next_weekday(0), start_time=T(10), frequency="weekly",
        weekdays=("mon",), count=2, duration_minutes=60,
    )  # fmt: skip
    series = scheduling.create_series(actor=staff_user, request=request)
    assert series.authorization_warnings == []
    changed = edit(staff_user, series.occurrences.order_by("date").first(), scope="all", duration_minutes=90)
    assert [codes(target.authorization_warnings) for target in changed] == [[], ["over_units"]]


def test_edit_page_warns_after_a_move(client, staff_user, patient, ind, make_authorization):
    day = next_weekday(1)
    make_authorization(end=day + datetime.timedelta(days=3))
    appointment = book(staff_user, patient, ind, day)
    client.force_login(staff_user)
    moved_to = day + datetime.timedelta(days=7)
    response = client.post(
        f"/appointments/{appointment.pk}/edit/",
        {"service_type": ind.pk, "date": moved_to.isoformat(), "start_time": "10:00", "duration_minutes": "60"},
        follow=True,
    )
    html = response.content.decode()
    assert "message-warning" in html and "before this appointment" in html
    assert Appointment.objects.get(pk=appointment.pk).date == moved_to


def test_edit_page_refuses_a_blocked_move(client, staff_user, patient, ind, make_authorization):
    ind.authorization_blocks_booking = True
    ind.save()
    day = next_weekday(1)
    make_authorization(end=day + datetime.timedelta(days=3))
    appointment = book(staff_user, patient, ind, day)
    client.force_login(staff_user)
    response = client.post(
        f"/appointments/{appointment.pk}/edit/",
        {"service_type": ind.pk, "date": (day + datetime.timedelta(days=7)).isoformat(), "start_time": "10:00",
         "duration_minutes": "60"},
    )  # fmt: skip
    assert response.status_code == 200 and "before this appointment" in response.content.decode()
    assert Appointment.objects.get(pk=appointment.pk).date == day


def test_api_edit_warns_and_blocks_as_booking_does(api_client_for, staff_user, patient, ind, make_authorization):
    day = next_weekday(1)
    make_authorization(end=day + datetime.timedelta(days=3))
    appointment = book(staff_user, patient, ind, day)
    client = api_client_for(staff_user)
    later = (day + datetime.timedelta(days=7)).isoformat()
    response = client.patch(f"/api/v1/appointments/{appointment.pk}/", {"date": later}, format="json")
    assert response.status_code == 200 and [w["code"] for w in response.json()["warnings"]] == ["ends_before"]
    ind.authorization_blocks_booking = True
    ind.save()
    response = client.patch(f"/api/v1/appointments/{appointment.pk}/", {"duration_minutes": 45}, format="json")
    assert response.status_code == 400 and "service_type" in response.json()
    assert Appointment.objects.get(pk=appointment.pk).duration_minutes == 60


def test_reopening_a_cancelled_appointment_is_checked_as_a_booking(staff_user, patient, ind):
    appointment = book(staff_user, patient, ind, next_weekday(1))
    scheduling.set_status(actor=staff_user, appointment=appointment, status="cancelled_by_patient")
    reopened = scheduling.set_status(actor=staff_user, appointment=appointment, status="scheduled")
    assert codes(reopened.authorization_warnings) == ["no_authorization"]
    scheduling.set_status(actor=staff_user, appointment=appointment, status="cancelled_by_patient")
    ind.authorization_blocks_booking = True
    ind.save()
    with pytest.raises(ValidationError):
        scheduling.set_status(actor=staff_user, appointment=appointment, status="scheduled")
    assert Appointment.objects.get(pk=appointment.pk).status == "cancelled_by_patient"
