"""The day view and the dashboard run a constant number of queries however busy the day is, and fewer still
while their rendered rows come from the cache (``scheduling.day_cache``)."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Role
from scheduling import day_cache
from scheduling.models import Appointment, ServiceType
from scheduling.selectors import DASHBOARD_TODAY_LIMIT
from tests.factories import PatientFactory
from tests.scheduling.conftest import past_weekday

pytestmark = pytest.mark.django_db


def add(day: datetime.date, count: int, *, status: str = "scheduled") -> None:
    """``count`` appointments on ``day`` (one patient each), straight into the table: only the reading is timed."""
    ind = ServiceType.objects.get(code="IND")
    patients = [PatientFactory() for _ in range(count)]
    Appointment.objects.bulk_create(
        Appointment(
            patient=patient,
            service_type=ind,
            date=day,
            start_time=datetime.time(9 + index % 8, 15 * (index % 4)),
            duration_minutes=15,
            end_time=datetime.time(9 + index % 8, 15 * (index % 4) + 14),
            status=status,
        )  # fmt: skip
        for index, patient in enumerate(patients)
    )
    day_cache.forget_all()  # bulk_create bypasses save() and its signals: what bulk loaders must do


def _session_upkeep(sql: str) -> bool:
    """The inactivity timeout saves the session on every request (a savepoint, the update, its release): the
    same three statements on every page, left out so that the bounds below count the page's own reads."""
    return sql.startswith(("SAVEPOINT", "RELEASE SAVEPOINT")) or sql.startswith('UPDATE "django_session"')


def queries(client, url: str, *, rows_cached: bool = False) -> tuple[int, str]:
    client.get(url)  # caches (clinic settings, permissions) warm
    if not rows_cached:
        day_cache.forget_all()  # the rows are read and rendered again, as after a write
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len([q for q in captured.captured_queries if not _session_upkeep(q["sql"])]), response.content.decode()


@pytest.mark.parametrize("role", [Role.STAFF, Role.ADMIN])
def test_day_view_queries_do_not_grow_with_the_day(client, user_for_role, role):
    client.force_login(user_for_role(role))
    today = timezone.localdate()
    add(today, 3)
    few, _ = queries(client, f"/calendar/{today}/")
    add(today, 70)
    many, html = queries(client, f"/calendar/{today}/")
    assert many == few <= 11  # one of them reads the day's group sessions (one block each, with its count)
    assert html.count('class="status-select"') == 50  # one page


@pytest.mark.parametrize("role", [Role.STAFF, Role.ADMIN])
def test_dashboard_queries_do_not_grow_and_it_lists_at_most_25_of_today(client, user_for_role, role):
    client.force_login(user_for_role(role))
    today = timezone.localdate()
    add(today, 3)
    add(past_weekday(1), 2)
    few, _ = queries(client, "/")
    add(today, 60)
    add(today, 5, status="attended")
    add(past_weekday(2), 40)
    many, html = queries(client, "/")
    assert many == few <= 12  # with the expiring consents, the reminder failures and (admins) the access review
    assert html.count('class="status-select"') == DASHBOARD_TODAY_LIMIT
    assert 'Today’s appointments <span class="muted">(68)</span>' in html
    assert "63 still to come or to mark; the first 25 are below." in html


@pytest.mark.parametrize("role", [Role.STAFF, Role.ADMIN])
def test_day_view_with_cached_rows_reads_neither_rows_nor_counts(client, user_for_role, role):
    client.force_login(user_for_role(role))
    today = timezone.localdate()
    add(today, 70)
    cold, _ = queries(client, f"/calendar/{today}/")
    warm, html = queries(client, f"/calendar/{today}/", rows_cached=True)
    # The page's rows and the day's two counts come from the cache; what is left is the session and user,
    # the filters' choices, the closed day and the group sessions.
    assert warm <= cold - 2
    assert warm <= 8
    assert html.count('class="status-select"') == 50


@pytest.mark.parametrize("role", [Role.STAFF, Role.ADMIN])
def test_dashboard_with_cached_schedule_reads_no_appointments(client, user_for_role, role):
    client.force_login(user_for_role(role))
    add(timezone.localdate(), 30)
    cold, _ = queries(client, "/")
    warm, html = queries(client, "/", rows_cached=True)
    assert warm <= cold - 4  # today's list, its two counts and the unmarked past ones
    assert html.count('class="status-select"') == DASHBOARD_TODAY_LIMIT
