"""Closing the clinic on a day calls off that day's group sessions with their attendees, in one transaction."""

import datetime

from groups.models import GroupSession
from scheduling import services as scheduling_services
from scheduling.models import Appointment

D = datetime.date


def test_closing_a_day_cancels_its_group_session_and_every_attendee(admin_user, group, enrolled):
    friday = D(2026, 5, 15)

    scheduling_services.add_closed_day(date=friday, reason="Staff training", by=admin_user, cancel_appointments=True)

    session = group.sessions.get(date=friday)
    assert session.status == GroupSession.Status.CANCELLED
    statuses = set(Appointment.objects.filter(group_session=session).values_list("status", flat=True))
    assert statuses == {Appointment.Status.CANCELLED_BY_CLINIC}
    # Other days keep their sessions.
    assert group.sessions.get(date=D(2026, 5, 14)).status == GroupSession.Status.SCHEDULED


def test_closing_a_day_cancels_a_group_session_that_has_no_attendees_yet(admin_user, group):
    friday = D(2026, 5, 15)

    scheduling_services.add_closed_day(date=friday, reason="Holiday", by=admin_user)

    assert group.sessions.get(date=friday).status == GroupSession.Status.CANCELLED
