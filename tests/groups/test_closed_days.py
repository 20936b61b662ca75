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


def test_closing_a_day_leaves_an_audit_entry_for_each_group_session_it_calls_off(admin_user, group):
    from django.contrib.contenttypes.models import ContentType

    from audit.models import AuditEvent

    friday = D(2026, 5, 15)
    session = group.sessions.get(date=friday)

    scheduling_services.add_closed_day(date=friday, reason="Holiday", by=admin_user)

    entries = AuditEvent.objects.filter(
        content_type=ContentType.objects.get_for_model(GroupSession), object_pk=str(session.pk), actor=admin_user
    )
    assert entries.latest("id").changes["status"] == ["scheduled", "cancelled"]
