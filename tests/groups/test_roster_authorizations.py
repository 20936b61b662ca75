"""The roster's "units left" tells the truth: an attendee whose authorization is over-booked is shown as such."""

import datetime

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from authorizations.models import Authorization
from groups import selectors, services

pytestmark = pytest.mark.django_db

D = datetime.date


def authorize(patient, service_type, units: int) -> Authorization:
    authorization = Authorization.objects.create(
        patient=patient, payer="Sunshine Health", auth_number=f"A-{patient.pk}", units_authorized=units,
        start_date=D(2026, 4, 1), end_date=D(2026, 7, 31), approval_date=D(2026, 4, 1),
    )  # fmt: skip
    authorization.service_types.set([service_type])
    return authorization


@pytest.fixture
def authorized(enrolled, psr):
    """Enrolled Mon 5/11 to Fri 6/5: 20 three-hour sessions, 240 units booked each. Ana has 100 units
    (over-booked), Ben 1000 (in force), Cora none."""
    ana, ben, _ = enrolled
    return authorize(ana, psr, 100), authorize(ben, psr, 1000)


def test_roster_flags_over_booked_attendees_not_as_a_green_state(client, nurse_user, today_session, authorized):
    client.force_login(nurse_user)
    page = client.get(f"/group-sessions/{today_session.pk}/").content.decode()
    rows = {name: page.split(name, 1)[1].split("</div>", 1)[0] for name in ("Alvarez", "Brown", "Cruz")}
    assert '<span class="badge auth-over_booked">Over-booked</span>' in rows["Alvarez"]
    assert "100 units left" in rows["Alvarez"]  # none used yet; the 240 booked exceed them
    assert "Over-booked" not in rows["Brown"] and "1000 units left" in rows["Brown"]
    assert "No authorization" in rows["Cruz"] and "Over-booked" not in rows["Cruz"]
    assert page.count("auth-over_booked") == 1


def test_roster_selector_marks_over_booked_rows(nurse_user, today_session, enrolled, authorized):
    roster = selectors.roster(nurse_user, today_session)
    flagged = {row.patient.last_name: row.is_over_booked for row in roster.rows}
    assert flagged == {"Alvarez": True, "Brown": False, "Cruz": False}
    ana = next(row for row in roster.rows if row.patient.last_name == "Alvarez")
    assert ana.authorization_status == Authorization.Status.OVER_BOOKED


def test_over_booked_check_costs_one_query_whatever_the_number_of_attendees(
    admin_user, nurse_user, today_session, enrolled, authorized, make_patient, psr
):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            selectors.roster(nurse_user, today_session)
        return len(queries)

    count()  # the user's permissions are read once
    assert count() == 1  # the attendees; their units come from the cache until something they count changes
    cache.clear()
    few = count()
    assert few == 2  # attendees; their covering authorizations with units and status (one read for both columns)
    for _ in range(6):
        patient = make_patient()
        services.add_attendee(actor=admin_user, session=today_session, patient=patient)
        authorize(patient, psr, 1)
    assert count() == few  # the bookings and authorizations changed the units: read again, still in one query
    assert sum(row.is_over_booked for row in selectors.roster(nurse_user, today_session).rows) == 7


def test_api_roster_flags_over_booked_attendees_as_the_page_does(api_client_for, nurse_user, today_session, authorized):
    response = api_client_for(nurse_user).get(f"/api/v1/group-sessions/{today_session.pk}/")
    assert response.status_code == 200
    rows = {row["name"].split()[-1]: row for row in response.json()["roster"]}
    assert {name: row["is_over_booked"] for name, row in rows.items()} == {
        "Alvarez": True, "Brown": False, "Cruz": False,
    }  # fmt: skip
    assert (rows["Alvarez"]["units_left"], rows["Brown"]["units_left"], rows["Cruz"]["units_left"]) == (100, 1000, None)


def test_roster_units_follow_authorizations_written_since_the_last_visit(
    client, nurse_user, today_session, enrolled, authorized, psr
):
    client.force_login(nurse_user)

    def brown_row() -> str:
        page = client.get(f"/group-sessions/{today_session.pk}/").content.decode()
        return page.split("Brown", 1)[1].split("</div>", 1)[0]

    assert "1000 units left" in brown_row()  # cached now
    _, ben_authorization = authorized
    ben_authorization.units_authorized = 200  # 240 booked: over-booked now
    ben_authorization.save()
    assert "Over-booked" in brown_row() and "200 units left" in brown_row()

    cora = enrolled[2]
    authorize(cora, psr, 500)
    page = client.get(f"/group-sessions/{today_session.pk}/").content.decode()
    assert "500 units left" in page.split("Cruz", 1)[1].split("</div>", 1)[0]
