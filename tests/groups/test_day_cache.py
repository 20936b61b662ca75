"""Group attendance saved on the roster shows in the cached dashboard (scheduling.day_cache)."""

import pytest

from groups import services
from groups.services import AttendeeInput as Entry
from scheduling.models import Appointment

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
