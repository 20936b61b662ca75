"""The calendar reads at a glance: spans in the week, initials and numbers, past unmarked days in the month."""

import datetime
import re

import pytest
from django.urls import reverse

from accounts.models import Role
from scheduling import selectors, services
from scheduling.models import Appointment
from tests.factories import PatientFactory
from tests.scheduling.conftest import next_weekday, past_weekday

pytestmark = pytest.mark.django_db


@pytest.fixture
def login(client, user_for_role):
    def as_role(role):
        client.force_login(user_for_role(role))
        return client

    return as_role


def test_week_view_spans_a_three_hour_psr_block_over_nine_to_twelve(login, staff_user, psr, clinician):
    day = next_weekday(1)
    ryan_a = PatientFactory(first_name="Ryan", last_name="Alvarez")
    ryan_b = PatientFactory(first_name="Ryan", last_name="Baker")
    services.book_appointment(
        actor=staff_user, patient=ryan_a, service_type=psr, date=day, start_time=datetime.time(9), clinician=clinician,
        duration_minutes=180,
    )  # fmt: skip
    html = login(Role.NURSE).get(reverse("scheduling:week"), {"clinician": clinician.pk, "date": day}).content.decode()
    # 15-minute rows: 9:00 to 12:00 is 12 rows, one cell.
    cell = re.search(r'<td rowspan="(\d+)" class="week-appointment status-scheduled">(.*?)</td>', html, re.S)
    assert cell and cell.group(1) == "12"
    assert "9:00–12:00 PM" in cell.group(2) and "PSR · R. Alvarez" in cell.group(2)
    assert f'title="{ryan_a.patient_number}"' in cell.group(2)
    assert "Baker" not in html and ryan_b.patient_number not in html


def test_week_grid_puts_overlapping_appointments_side_by_side_and_leaves_covered_rows_out(staff_user, psr, ind):
    day = next_weekday(0)
    week = [day + datetime.timedelta(days=n) for n in range(5)]
    ryan_a = PatientFactory(first_name="Ryan", last_name="Alvarez")
    ryan_b = PatientFactory(first_name="Ryan", last_name="Baker")
    long = services.book_appointment(
        actor=staff_user, patient=ryan_a, service_type=psr, date=day, start_time=datetime.time(9), duration_minutes=180
    )
    short = services.book_appointment(
        actor=staff_user, patient=ryan_b, service_type=ind, date=day, start_time=datetime.time(10, 30)
    )
    lanes, rows = selectors.week_grid([long, short], week, opens=datetime.time(9), closes=datetime.time(17), step=15)
    assert lanes == [2, 1, 1, 1, 1]
    assert len(rows) == 32
    assert rows[0].cells[0].appointment == long and rows[0].cells[0].rowspan == 12
    assert rows[6].cells[0].appointment == short and rows[6].cells[0].rowspan == 4  # 10:30–11:30
    # Rows 1..11 leave out the first lane (covered); every row has the same number of columns.
    assert all(sum(c.rowspan > 0 for c in row.cells) for row in rows)
    assert len(rows[1].cells) == 5  # lane 2 of Monday + four other days
    assert [row.hour_rowspan for row in rows[:5]] == [4, 0, 0, 0, 4]


def test_month_view_tells_past_unmarked_days_from_upcoming_days(login, staff_user, ind):
    past = past_weekday(1)
    ahead = next_weekday(1)
    for day in (past, ahead):
        services.book_appointment(
            actor=staff_user, patient=PatientFactory(), service_type=ind, date=day, start_time=datetime.time(10)
        )
    months = {f"{past:%Y-%m}", f"{ahead:%Y-%m}"}
    days = {}
    for month in months:
        response = login(Role.STAFF).get(reverse("scheduling:calendar"), {"month": month})
        days |= {d["date"]: d for week in response.context["weeks"] for d in week if d}
        html = response.content.decode()
        if month == f"{past:%Y-%m}":
            assert "1 not marked" in html and "Past, attendance not marked" in html
    assert days[past]["state"] == "unmarked" and days[past]["unmarked"] == 1
    assert days[ahead]["state"] == "open" and days[ahead]["unmarked"] == 0
    Appointment.objects.filter(date=past).update(status=Appointment.Status.ATTENDED)
    response = login(Role.STAFF).get(reverse("scheduling:calendar"), {"month": f"{past:%Y-%m}"})
    days = {d["date"]: d for week in response.context["weeks"] for d in week if d}
    assert days[past]["state"] == "attended"
