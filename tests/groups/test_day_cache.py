"""Group attendance saved on the roster shows in the cached dashboard (scheduling.day_cache)."""

import datetime

import pytest

from groups import services
from groups.services import AttendeeInput as Entry
from scheduling.models import Appointment
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db
Status = Appointment.Status


def test_roster_attendance_shows_in_the_next_dashboard(client, admin_user, nurse_user, today_session, enrolled):
    client.force_login(admin_user)
    ana = Appointment.objects.get(group_session=today_session, patient=enrolled[0])
    html = client.get("/").content.decode()  # Monday's to today's sessions, three attendees each: unmarked
    assert 'Attendance to record <span class="muted">(9)</span>' in html and f"#appointment-{ana.pk}" in html
    services.save_attendance(actor=nurse_user, session=today_session, attendees=[Entry(ana.pk, status=Status.ATTENDED)])
    html = client.get("/").content.decode()
    assert 'Attendance to record <span class="muted">(8)</span>' in html and f"#appointment-{ana.pk}" not in html


def _day_view(client, day: str = "2026-05-13") -> str:
    response = client.get(f"/calendar/{day}/")
    assert response.status_code == 200
    return response.content.decode()


def test_moving_the_groups_time_shows_in_the_next_day_view(client, admin_user, group):
    client.force_login(admin_user)
    assert "9:00–12:00 PM" in _day_view(client, "2026-05-14")  # tomorrow's rows and blocks are cached now
    services.update_group(actor=admin_user, group=group, changes={"start_time": datetime.time(13)})
    html = _day_view(client, "2026-05-14")
    assert "1:00–4:00 PM" in html and "9:00–12:00 PM" not in html


def test_renaming_the_group_shows_in_the_next_day_view(client, admin_user, group, today_session):
    client.force_login(admin_user)
    assert "PSR AM · " in _day_view(client)
    services.update_group(actor=admin_user, group=group, changes={"name": "Wellness AM"})
    html = _day_view(client)
    assert "Wellness AM · " in html and "PSR AM · " not in html


def test_a_session_saved_directly_shows_in_the_next_day_view(client, admin_user, today_session):
    client.force_login(admin_user)
    assert "Cancelled" not in _day_view(client)
    today_session.status = today_session.Status.CANCELLED
    today_session.save()  # as the admin site does
    assert "· Cancelled" in _day_view(client)


def test_an_enrolment_shows_in_the_blocks_attendee_count(client, admin_user, group, today_session, enrolled):
    client.force_login(admin_user)
    assert "PSR AM · 3 of 16" in _day_view(client)
    services.add_attendee(actor=admin_user, session=today_session, patient=PatientFactory(session="AM"))
    assert "PSR AM · 4 of 16" in _day_view(client)
