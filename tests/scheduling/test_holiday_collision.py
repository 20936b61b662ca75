"""A series date moved off a holiday onto a date the series already has is skipped and said so, never merged."""

import datetime

import pytest

from accounts.models import Role
from scheduling.models import Appointment, AppointmentSeries, ClosedDay
from scheduling.recurrence import Rule, occurrences

D = datetime.date
CHRISTMAS = D(2026, 12, 25)  # a Friday; the next open day is Monday 12/28


def test_a_date_moved_onto_a_date_the_series_has_is_kept_as_a_skipped_collision():
    rule = Rule("weekly", D(2026, 12, 21), weekdays=("mon", "fri"), count=4)
    result = occurrences(rule, closed_days={CHRISTMAS}, skip_dates=set())
    assert [(o.date, o.moved_from, o.skipped, o.collided) for o in result] == [
        (D(2026, 12, 21), None, False, False),
        (D(2026, 12, 28), CHRISTMAS, True, True),
        (D(2026, 12, 28), None, False, False),
        (D(2027, 1, 1), None, False, False),
    ]
    assert result[1].note == "moved to Monday 12/28, which already has this session: skipped"
    assert sum(not o.skipped for o in result) == 3 and len(result) == 4  # 3 booked of 4 asked


def test_a_move_onto_a_free_date_is_not_a_collision():
    rule = Rule("weekly", D(2026, 12, 21), weekdays=("fri",), count=2)
    result = occurrences(rule, closed_days={CHRISTMAS}, skip_dates=set())
    assert [(o.date, o.collided) for o in result] == [(D(2026, 12, 28), False), (D(2027, 1, 1), False)]
    assert result[0].note == "moved from Friday 12/25"


@pytest.fixture
def christmas(db):
    return ClosedDay.objects.create(date=CHRISTMAS, reason="Christmas")


def payload(patient, service):
    return {
        "patient": patient.pk, "service_type": service.pk, "start_time": "10:00", "frequency": "weekly",
        "weekdays": ["mon", "fri"], "count": 4, "interval": 1,
    }  # fmt: skip


def test_page_preview_and_booking_report_the_collision_and_the_count_booked_against_asked(
    client, staff_user, patient, ind, christmas
):
    client.force_login(staff_user)
    data = {**payload(patient, ind), "date": "2026-12-21", "acknowledge_warnings": "on"}
    html = client.post("/appointments/preview/", data).content.decode()
    assert "3 of 4 will be booked" in html
    assert "moved to Monday 12/28, which already has this session: skipped" in html
    assert html.count('data-testid="series-collision"') == 1
    response = client.post("/appointments/new/", data, follow=True)
    html = response.content.decode()
    assert "Booked 3 of 4 appointments asked" in html
    assert "Fri 12/25 moved to Monday 12/28, which already has this session: skipped" in html
    assert sorted(Appointment.objects.values_list("date", flat=True)) == [
        D(2026, 12, 21), D(2026, 12, 28), D(2027, 1, 1)
    ]  # fmt: skip


def test_api_preview_and_create_report_the_collision(api_client_for, staff_user, patient, ind, christmas):
    client = api_client_for(staff_user)
    data = {**payload(patient, ind), "start_date": "2026-12-21"}
    body = client.post("/api/v1/appointment-series/preview/", data, format="json").json()
    assert (body["count"], body["asked"], body["collisions"]) == (3, 4, 1)
    collided = [o for o in body["occurrences"] if o["collided"]]
    assert collided == [
        {
            "date": "2026-12-28", "moved_from": "2026-12-25", "skipped": True, "collided": True,
            "note": "moved to Monday 12/28, which already has this session: skipped", "conflicts": [], "warnings": [],
        }
    ]  # fmt: skip
    created = client.post("/api/v1/appointment-series/", data, format="json")
    assert created.status_code == 201, created.content
    series = created.json()
    assert (series["asked_count"], series["booked_count"], len(series["occurrences"])) == (4, 3, 3)
    assert [c["moved_from"] for c in series["collisions"]] == ["2026-12-25"]
    assert AppointmentSeries.objects.get().occurrences.count() == 3


def test_read_only_may_not_preview(api_client_for, user_for_role, patient, ind):
    response = api_client_for(user_for_role(Role.READ_ONLY)).post(
        "/api/v1/appointment-series/preview/", {**payload(patient, ind), "start_date": "2026-12-21"}, format="json"
    )
    assert response.status_code == 403
