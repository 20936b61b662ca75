"""An authorization with more units booked or used than authorized is over-booked, never a green "Active"."""

import datetime

import pytest
from django.urls import reverse

from authorizations import selectors
from authorizations.models import Authorization
from scheduling import services as scheduling
from tests.factories import PatientFactory
from tests.scheduling.conftest import next_weekday

pytestmark = pytest.mark.django_db


def book(actor, patient, service, day, hour=10):
    return scheduling.book_appointment(
        actor=actor, patient=patient, service_type=service, date=day, start_time=datetime.time(hour)
    )


@pytest.fixture
def over_booked(staff_user, patient, ind, make_authorization):
    """Two units authorized, three visits booked ahead: nothing used yet, but over-booked."""
    authorization = make_authorization(units=2, number="SH-OVER")
    for weeks in (1, 2, 3):
        book(staff_user, patient, ind, next_weekday(1, weeks_ahead=weeks))
    return authorization


def status_of(authorization: Authorization) -> str:
    return selectors.with_usage(Authorization.objects.filter(pk=authorization.pk)).get().status


def test_booked_beyond_the_units_is_over_booked_and_within_them_active(over_booked, staff_user, patient, ind):
    assert status_of(over_booked) == Authorization.Status.OVER_BOOKED
    row = selectors.with_usage(Authorization.objects.filter(pk=over_booked.pk)).get()
    assert (row.units_used, row.units_scheduled, row.units_authorized) == (0, 3, 2)
    assert selectors.is_over_booked(row)
    # Cancel one: two booked of two authorized is within the units again.
    appointment = patient.appointments.order_by("-date").first()
    scheduling.set_status(actor=staff_user, appointment=appointment, status="cancelled_by_patient")
    assert status_of(over_booked) == Authorization.Status.ACTIVE


def test_pending_and_expired_keep_their_status_even_when_over_booked(
    staff_user, patient, ind, make_authorization, over_booked
):
    over_booked.approval_date = None
    over_booked.save()
    assert status_of(over_booked) == Authorization.Status.PENDING


def test_over_booked_shown_in_list_patient_page_and_dashboard(client, admin_user, over_booked, patient):
    client.force_login(admin_user)
    listing = client.get(reverse("authorizations:authorization-list")).content.decode()
    assert '<span class="badge auth-over_booked">Over-booked</span>' in listing
    assert "auth-active" not in listing
    page = client.get(reverse("patients:patient-detail", args=[patient.pk])).content.decode()
    assert '<span class="badge auth-over_booked">Over-booked</span>' in page
    dashboard = client.get("/").content.decode()
    assert "over-booked: 3 units booked or used of 2 authorized" in dashboard


def test_api_reports_over_booked_status_and_filters_by_it(api_client_for, admin_user, over_booked):
    client = api_client_for(admin_user)
    body = client.get(f"/api/v1/authorizations/{over_booked.pk}/").json()
    assert body["status"] == "over_booked" and body["units_scheduled"] == 3
    listed = client.get("/api/v1/authorizations/", {"status": "over_booked"}).json()
    assert [row["id"] for row in listed["results"]] == [over_booked.pk]


def test_over_booked_patients_flags_a_roster_in_one_query(
    over_booked, patient, ind, make_authorization, django_assert_num_queries
):
    others = [PatientFactory() for _ in range(5)]
    for other in others:
        make_authorization(units=10, for_patient=other)
    with django_assert_num_queries(1):
        flagged = selectors.over_booked_patients(
            [patient.pk, *(other.pk for other in others)], service_type_id=ind.pk, day=next_weekday(1)
        )
    assert list(flagged) == [patient.pk] and flagged[patient.pk].pk == over_booked.pk
