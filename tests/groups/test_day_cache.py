"""Group attendance saved on the roster shows in the cached dashboard (scheduling.day_cache)."""

import datetime

import pytest
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from groups import services
from groups.models import GroupSession
from groups.services import AttendeeInput as Entry
from scheduling import day_cache
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


# --- The roster's cached entry: its session and rows (groups.views.roster_state) --------------------------------


def _roster(client, session) -> str:
    response = client.get(f"/group-sessions/{session.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def _row(page: str, last_name: str) -> str:
    return page.split(f"{last_name}, ", 1)[1].split("</li>", 1)[0]


def test_a_second_roster_visit_reads_no_attendees_and_shows_the_same_rows(client, nurse_user, today_session, enrolled):
    ana = Appointment.objects.get(group_session=today_session, patient=enrolled[0])
    services.save_attendance(
        actor=nurse_user, session=today_session, attendees=[Entry(ana.pk, status=Status.ATTENDED, note="Slept well")]
    )
    client.force_login(nurse_user)
    first = _roster(client, today_session)
    with CaptureQueriesContext(connection) as queries:
        second = _roster(client, today_session)
    rows = [page.split('<ol class="roster">', 1)[1].split("</ol>", 1)[0] for page in (first, second)]
    assert rows[0] == rows[1] and "Slept well" in _row(second, "Alvarez")
    assert not [query for query in queries if 'FROM "scheduling_appointment"' in query["sql"]]


def test_attendance_saved_elsewhere_shows_on_the_next_roster_visit(client, nurse_user, today_session, enrolled):
    client.force_login(nurse_user)
    assert 'value="attended" checked' not in _row(_roster(client, today_session), "Brown")  # cached now
    ben = Appointment.objects.get(group_session=today_session, patient=enrolled[1])
    services.save_attendance(  # as the API does
        actor=nurse_user, session=today_session, attendees=[Entry(ben.pk, status=Status.ATTENDED, note="Joined in")]
    )
    row = _row(_roster(client, today_session), "Brown")
    assert 'value="attended" checked' in row and 'value="Joined in"' in row


def test_a_new_preferred_name_shows_on_the_next_roster_visit(client, nurse_user, today_session, enrolled):
    client.force_login(nurse_user)
    assert "“Annie”" not in _roster(client, today_session)
    enrolled[0].preferred_name = "Annie"
    enrolled[0].save(update_fields=["preferred_name"])
    assert "“Annie”" in _row(_roster(client, today_session), "Alvarez")


def test_a_nurses_cached_rows_never_show_notes_to_the_front_desk(
    client, nurse_user, staff_user, today_session, enrolled
):
    client.force_login(nurse_user)
    assert 'name="note-' in _roster(client, today_session)
    client.force_login(staff_user)
    page = _roster(client, today_session)
    assert "Alvarez, Ana" in page and 'name="note-' not in page


def test_a_session_cancelled_directly_disables_the_cached_controls(client, nurse_user, today_session, enrolled):
    client.force_login(nurse_user)
    assert 'class="roster-status" disabled' not in _roster(client, today_session)
    today_session.status = today_session.Status.CANCELLED
    today_session.save()  # as the admin site does
    assert _row(_roster(client, today_session), "Alvarez").count('class="roster-status" disabled') == 1


def test_a_second_roster_visit_reads_neither_the_session_nor_its_attendees(client, nurse_user, today_session, enrolled):
    client.force_login(nurse_user)
    first = _roster(client, today_session)
    with CaptureQueriesContext(connection) as queries:
        second = _roster(client, today_session)
    header = [page.split("<h1>", 1)[1].split("<form", 1)[0] for page in (first, second)]
    rows = [page.split('<ol class="roster">', 1)[1].split("</ol>", 1)[0] for page in (first, second)]
    assert header[0] == header[1] and rows[0] == rows[1]
    assert "PSR AM · " in second and "Alvarez, Ana" in second
    assert not [query for query in queries if 'FROM "groups_groupsession"' in query["sql"]]


def test_a_signature_shows_on_the_next_roster_visit(client, nurse_user, today_session, enrolled):
    client.force_login(nurse_user)
    everyone = [Entry(appointment.pk, status=Status.ATTENDED) for appointment in today_session.attendees.all()]
    services.save_attendance(actor=nurse_user, session=today_session, attendees=everyone)
    assert "Signed by" not in _roster(client, today_session)  # cached now
    today_session.refresh_from_db()
    services.sign_session(actor=nurse_user, session=today_session)
    assert f"Signed by {nurse_user.get_full_name()}" in _roster(client, today_session)


def test_a_renamed_group_shows_on_the_next_roster_visit(client, admin_user, group, today_session, enrolled):
    client.force_login(admin_user)
    assert "<h1>PSR AM · " in _roster(client, today_session)
    services.update_group(actor=admin_user, group=group, changes={"name": "Wellness AM"})
    assert "<h1>Wellness AM · " in _roster(client, today_session)


def test_a_deleted_session_is_not_found_on_the_next_roster_visit(client, admin_user, today_session, enrolled):
    client.force_login(admin_user)
    _roster(client, today_session)
    Appointment.objects.filter(group_session=today_session).delete()
    today_session.delete()
    assert client.get(f"/group-sessions/{today_session.pk}/").status_code == 404


def test_a_session_moved_while_its_roster_is_read_is_cached_under_its_new_day(
    client, nurse_user, today_session, enrolled, monkeypatch
):
    from groups import selectors

    read_date = selectors.group_session_date
    moved = datetime.date(2026, 5, 9)  # a Saturday: the group has no session of its own there

    def date_then_move(user, pk):  # another request moves the session right after its date was read
        day = read_date(user, pk)
        if day != moved:
            GroupSession.objects.filter(pk=pk).update(date=moved)
            Appointment.objects.filter(group_session=pk).update(date=moved)
            day_cache.days_changed([day, moved])
        return day

    monkeypatch.setattr(selectors, "group_session_date", date_then_move)
    # Without units left the roster follows its day's version alone, not every appointment's (the schedule's).
    nurse_user.groups.get().permissions.remove(Permission.objects.get(codename="view_authorization"))
    client.force_login(nurse_user)
    assert "Sat 05/09/2026" in _roster(client, today_session)
    monkeypatch.undo()
    ana = Appointment.objects.get(group_session=today_session, patient=enrolled[0])
    today_session.refresh_from_db()
    services.save_attendance(actor=nurse_user, session=today_session, attendees=[Entry(ana.pk, note="Joined in")])
    assert 'value="Joined in"' in _row(_roster(client, today_session), "Alvarez")


def test_a_cached_roster_is_not_shown_to_a_user_who_may_no_longer_see_the_schedule(
    client, nurse_user, today_session, enrolled
):
    client.force_login(nurse_user)
    _roster(client, today_session)  # cached for the nurse role
    nurse_user.groups.clear()  # the role's permissions taken away
    assert client.get(f"/group-sessions/{today_session.pk}/").status_code == 404


def _entry(value: str) -> tuple[str, dict[str, str]]:
    return value, day_cache.roster_versions(datetime.date(2026, 5, 13), with_units=False)


def test_encrypted_entries_hold_no_clear_text_and_are_built_once():
    built = []

    def build() -> tuple[str, dict[str, str]]:
        built.append(1)
        return _entry("Progress note: slept well")

    assert day_cache.cached_encrypted("test:encrypted", build) == "Progress note: slept well"
    stored = cache.get("test:encrypted")
    assert isinstance(stored, bytes) and b"slept well" not in stored
    assert day_cache.cached_encrypted("test:encrypted", build) == "Progress note: slept well"
    assert built == [1]


def test_an_encrypted_entry_is_built_again_once_a_version_it_was_read_under_changes():
    assert day_cache.cached_encrypted("test:encrypted", lambda: _entry("before")) == "before"
    day_cache.days_changed([datetime.date(2026, 5, 13)])
    assert day_cache.cached_encrypted("test:encrypted", lambda: _entry("after")) == "after"
    assert day_cache.cached_encrypted("test:encrypted", lambda: _entry("again")) == "after"


def test_an_entry_that_cannot_be_decrypted_is_built_again():
    cache.set("test:encrypted", b"not a token")
    assert day_cache.cached_encrypted("test:encrypted", lambda: _entry("fresh")) == "fresh"
    assert day_cache.cached_encrypted("test:encrypted", lambda: _entry("again")) == "fresh"
