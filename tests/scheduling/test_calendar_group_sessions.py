"""Day and week views show a group session as one block with its attendee count, opening the roster; its
attendees' own appointments are left out (they are marked on the roster), and the queries stay constant."""

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from groups import services as groups
from scheduling import services as scheduling
from tests.factories import PatientFactory, UserFactory

pytestmark = pytest.mark.django_db

D = datetime.date
T = datetime.time
TODAY = D(2026, 5, 13)  # the frozen clinic clock: Wednesday 2026-05-13 11:30 (tests/conftest.py)


@pytest.fixture
def group(admin_user, psr, clinician):
    return groups.create_group(
        actor=admin_user,
        data={
            "name": "PSR AM", "service_type": psr, "weekdays": ["mon", "tue", "wed", "thu", "fri"],
            "start_time": T(9), "duration_minutes": 180, "clinician": clinician, "program_session": "AM",
            "location": "Room 2", "start_date": D(2026, 5, 11), "end_date": D(2026, 6, 5),
        },
    )  # fmt: skip


def enroll(admin_user, group, count: int) -> list:
    patients = [PatientFactory(session="AM") for _ in range(count)]
    for patient in patients:
        groups.enroll_patient(actor=admin_user, group=group, patient=patient, start_date=D(2026, 5, 11))
    return patients


@pytest.fixture
def attendees(admin_user, group):
    return enroll(admin_user, group, 3)


@pytest.fixture
def individual(staff_user, ind, clinician):
    """One individual appointment today, with the same clinician, in the afternoon."""
    patient = PatientFactory(first_name="Iris", last_name="Individual")
    return scheduling.book_appointment(
        actor=staff_user, patient=patient, service_type=ind, date=TODAY, start_time=T(14), clinician=clinician
    )


def test_day_view_shows_a_group_session_as_one_block_with_its_count_and_one_row_per_individual_appointment(
    client, nurse_user, group, attendees, individual
):
    client.force_login(nurse_user)
    response = client.get(f"/calendar/{TODAY}/")
    assert response.status_code == 200
    html = response.content.decode()
    session = group.sessions.get(date=TODAY)
    blocks = re.findall(r'<li class="group-block[^"]*" id="group-session-(\d+)">(.*?)</li>', html, re.S)
    assert [int(pk) for pk, _ in blocks] == [session.pk]
    assert f'href="/group-sessions/{session.pk}/"' in blocks[0][1]
    assert "PSR AM · 3 of 16" in blocks[0][1] and "9:00–12:00 PM" in blocks[0][1]
    # One row: the individual appointment; none per attendee.
    assert html.count('class="status-select"') == 1
    assert "Individual" in html
    for patient in attendees:
        assert patient.last_name not in html and patient.patient_number not in html
    assert response.context["page"].paginator.count == 1


def test_day_view_filters_group_sessions_like_appointments(client, nurse_user, group, attendees, individual, ind):
    client.force_login(nurse_user)
    html = client.get(f"/calendar/{TODAY}/", {"service_type": ind.pk}).content.decode()
    assert "group-block" not in html and html.count('class="status-select"') == 1
    other = UserFactory(role="nurse", full_name="Otto Other")
    html = client.get(f"/calendar/{TODAY}/", {"clinician": other.pk}).content.decode()
    assert "group-block" not in html and "No appointments" in html


def test_day_view_with_only_a_group_session_is_not_empty(client, nurse_user, group, attendees):
    client.force_login(nurse_user)
    html = client.get(f"/calendar/{TODAY}/").content.decode()
    assert "PSR AM · 3 of 16" in html and "No appointments" not in html


def test_week_view_shows_a_group_session_as_one_block_spanning_its_rows(
    client, nurse_user, group, attendees, individual, clinician
):
    client.force_login(nurse_user)
    html = client.get("/calendar/week/", {"clinician": clinician.pk, "date": TODAY}).content.decode()
    session = group.sessions.get(date=TODAY)
    blocks = re.findall(r'<td rowspan="(\d+)" class="week-appointment week-group-session">(.*?)</td>', html, re.S)
    # Monday to Friday of the week, one block each; 9:00–12:00 in 15-minute rows is 12 rows.
    assert len(blocks) == 5 and {rowspan for rowspan, _ in blocks} == {"12"}
    assert all("PSR AM · 3 of 16" in body and "9:00–12:00 PM" in body for _, body in blocks)
    assert f'href="/group-sessions/{session.pk}/"' in html
    # The individual appointment is its own cell; the attendees have none.
    individuals = re.findall(r'class="week-appointment status-scheduled">(.*?)</td>', html, re.S)
    assert len(individuals) == 1 and "I. Individual" in individuals[0]
    for patient in attendees:
        assert patient.last_name not in html


def test_week_view_leaves_out_cancelled_group_sessions(client, nurse_user, admin_user, group, attendees, clinician):
    tomorrow = group.sessions.get(date=TODAY + datetime.timedelta(days=1))
    tomorrow.status = "cancelled"
    tomorrow.save(update_fields=["status"])
    client.force_login(nurse_user)
    html = client.get("/calendar/week/", {"clinician": clinician.pk, "date": TODAY}).content.decode()
    assert html.count("week-group-session") == 4 and f"/group-sessions/{tomorrow.pk}/" not in html


def _queries(client, url: str, params: dict | None = None) -> int:
    client.get(url, params or {})  # caches warm
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url, params or {}).status_code == 200
    return len(captured.captured_queries)


def test_day_and_week_view_queries_do_not_grow_with_attendees(
    client, nurse_user, admin_user, group, attendees, individual, clinician
):
    client.force_login(nurse_user)
    week = ("/calendar/week/", {"clinician": clinician.pk, "date": TODAY})
    few = (_queries(client, f"/calendar/{TODAY}/"), _queries(client, *week))
    enroll(admin_user, group, 12)
    many = (_queries(client, f"/calendar/{TODAY}/"), _queries(client, *week))
    assert many == few
    html = client.get(f"/calendar/{TODAY}/").content.decode()
    assert "PSR AM · 15 of 16" in html and html.count('class="status-select"') == 1
