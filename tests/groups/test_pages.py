import datetime
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from audit.models import AuditEvent
from groups import services
from groups.models import GroupSession
from scheduling.models import Appointment

pytestmark = pytest.mark.django_db
D = datetime.date
T = datetime.time
Status = Appointment.Status


def roster_url(session) -> str:
    return f"/group-sessions/{session.pk}/"


def attendees(session) -> list[Appointment]:
    return list(session.attendees.order_by("patient__last_name"))


def test_roster_shows_identity_capacity_and_units_left(client, nurse_user, today_session, enrolled):
    client.force_login(nurse_user)
    response = client.get(roster_url(today_session))
    assert response.status_code == 200
    page = response.content.decode()
    assert "3 of 16" in page and "Alvarez, Ana" in page and enrolled[0].patient_number in page
    assert "No authorization" in page and "Mark all present" in page and 'name="note-' in page
    assert response["Cache-Control"].startswith("max-age=0") or "no-store" in response["Cache-Control"]


def test_front_desk_roster_has_no_notes(client, staff_user, today_session, enrolled):
    client.force_login(staff_user)
    page = client.get(roster_url(today_session)).content.decode()
    assert 'name="note-' not in page and 'name="group_note"' not in page and "Sign attendance" not in page


def test_roster_access_matrix(client, read_only_user, nurse_user, today_session, enrolled):
    assert client.get(roster_url(today_session)).status_code == 302  # anonymous: to the sign-in page
    client.force_login(read_only_user)
    assert client.get(roster_url(today_session)).status_code == 200
    assert client.post(roster_url(today_session), {}).status_code == 403
    client.force_login(nurse_user)
    assert client.get("/group-sessions/999999/").status_code == 404
    assert client.put(roster_url(today_session)).status_code == 405
    enrolled[0].is_active = False
    enrolled[0].save()
    assert "Alvarez" not in client.get(roster_url(today_session)).content.decode()  # deactivated: admins only


def test_one_request_marks_the_roster_with_one_summary(client, nurse_user, today_session, enrolled):
    ana, ben, cora = attendees(today_session)
    client.force_login(nurse_user)
    before = AuditEvent.objects.count()
    response = client.post(
        roster_url(today_session),
        {
            f"status-{ana.pk}": "attended", f"time_in-{ana.pk}": "09:00", f"time_out-{ana.pk}": "12:00",
            f"note-{ana.pk}": "Led the check-in.",
            f"status-{ben.pk}": "attended", f"time_in-{ben.pk}": "09:40", f"time_out-{ben.pk}": "12:00",
            f"status-{cora.pk}": "no_show", "group_note": "Coping skills", "topic": "Grounding",
        },
    )  # fmt: skip
    assert response.status_code == 302
    written = AuditEvent.objects.filter(id__gt=before)
    assert written.filter(event="scheduling.appointment.updated").count() == 3
    ben.refresh_from_db()
    assert (ben.status, ben.time_in, ben.units_attended) == (Status.ATTENDED, T(9, 40), 9)
    page = client.get(response.url).content.decode()
    assert page.count("Saved: 3 attendees updated.") == 1
    assert 'class="roster-summary"' in page and 'class="messages"' in page  # in the page, not the overlay
    assert "Saved: 3" not in page.split('id="messages"')[1].split("</div>")[0]


def test_a_wrong_row_saves_nothing_and_says_which(client, nurse_user, today_session, enrolled):
    ana, ben, _ = attendees(today_session)
    client.force_login(nurse_user)
    response = client.post(
        roster_url(today_session),
        {f"status-{ana.pk}": "attended", f"status-{ben.pk}": "attended", f"time_in-{ben.pk}": "11:00",
         f"time_out-{ben.pk}": "10:00", "group_note": "x"},
    )  # fmt: skip
    assert response.status_code == 400
    assert "Time out must be after time in." in response.content.decode()
    ana.refresh_from_db()
    assert ana.status == Status.SCHEDULED
    assert client.post(roster_url(today_session), {f"time_in-{ana.pk}": "9am"}).status_code == 400


def test_a_refused_roster_reads_its_attendees_once(client, nurse_user, today_session, enrolled):
    ana, *_ = attendees(today_session)
    client.force_login(nurse_user)
    with CaptureQueriesContext(connection) as queries:
        response = client.post(roster_url(today_session), {f"time_in-{ana.pk}": "9am"})
    assert response.status_code == 400 and 'value="9am"' in response.content.decode()
    assert len([query for query in queries if query["sql"].startswith('SELECT "scheduling_appointment"')]) == 1


def test_sign_from_the_page_then_amend_with_a_reason(client, nurse_user, today_session, enrolled):
    client.force_login(nurse_user)
    data = {f"status-{a.pk}": "attended" for a in attendees(today_session)}
    client.post(roster_url(today_session), data)
    response = client.post(f"/group-sessions/{today_session.pk}/sign/")
    assert response.status_code == 302
    today_session.refresh_from_db()
    assert today_session.signed_by == nurse_user
    ana = attendees(today_session)[0]
    change = {**data, f"time_in-{ana.pk}": "09:30", f"time_out-{ana.pk}": "12:00"}
    refused = client.post(roster_url(today_session), change)
    assert refused.status_code == 400 and "give a reason" in refused.content.decode()
    assert client.post(roster_url(today_session), {**change, "amendment_reason": "Late bus"}).status_code == 302
    assert today_session.amendments.get().reason == "Late bus"


def test_weekly_sheet_shows_status_units_and_totals(client, nurse_user, today_session, enrolled):
    ana, ben, cora = attendees(today_session)
    services.save_attendance(
        actor=nurse_user, session=today_session,
        attendees=[services.AttendeeInput(ana.pk, status=Status.ATTENDED),
                   services.AttendeeInput(ben.pk, status=Status.ATTENDED, time_in=T(9, 40)),
                   services.AttendeeInput(cora.pk, status=Status.NO_SHOW)],
    )  # fmt: skip
    client.force_login(nurse_user)
    response = client.get("/attendance-sheet/", {"program_session": "AM", "week": "2026-W20"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Wed 05/13" in page and "2 / 21" in page  # two present, 12 + 9 units on Wednesday
    assert "?program_session=AM&amp;week=2026-W21" in page and "?program_session=AM&amp;week=2026-W19" in page
    assert "attendance_sheet_print.css" in page
    assert f"/attendance-sheet/cells/{ana.pk}/" in page  # today's session has started: editable
    tomorrow = Appointment.objects.get(patient=enrolled[0], date=D(2026, 5, 14))
    assert f"/attendance-sheet/cells/{tomorrow.pk}/" not in page  # still to come: nothing to mark yet
    assert client.get("/attendance-sheet/", {"program_session": "XX"}).status_code == 400


def test_weekly_sheet_downloads_are_audited(client, nurse_user, today_session, enrolled):
    ana = attendees(today_session)[0]
    services.save_attendance(actor=nurse_user, session=today_session,
                             attendees=[services.AttendeeInput(ana.pk, status=Status.ATTENDED)])  # fmt: skip
    client.force_login(nurse_user)
    csv = client.get("/attendance-sheet/", {"program_session": "AM", "week": "2026-W20", "format": "csv"})
    lines = csv.content.decode().splitlines()
    assert lines[0].startswith("Patient,Number,Mon 05/11 status")
    assert lines[1].startswith("Alvarez, Ana") or lines[1].startswith('"Alvarez, Ana"')
    assert lines[1].endswith(",1,12") and lines[-1].startswith("Total")
    xlsx = client.get("/attendance-sheet/", {"program_session": "AM", "week": "2026-W20", "format": "xlsx"})
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet.cell(row=2, column=1).value == "Alvarez, Ana" and sheet.cell(row=2, column=14).value == 12
    exports = AuditEvent.objects.filter(additional_data__report="attendance_sheet")
    assert exports.count() == 2 and enrolled[0].pk in exports.first().additional_data["patient_ids"]


def test_sheet_cell_edits_inline_and_signed_cells_do_not(client, staff_user, nurse_user, today_session, enrolled):
    ana = attendees(today_session)[0]
    client.force_login(staff_user)
    response = client.post(f"/attendance-sheet/cells/{ana.pk}/", {"status": "attended", "week": "2026-W20"})
    assert response.status_code == 302 and response.url.endswith(f"#cell-{ana.pk}")
    ana.refresh_from_db()
    assert ana.status == Status.ATTENDED and ana.units_attended == 12
    assert client.post(f"/attendance-sheet/cells/{ana.pk}/", {"status": "dance", "week": "x"}).status_code == 302
    ana.refresh_from_db()
    assert ana.status == Status.ATTENDED


def test_read_only_cannot_edit_cells(client, read_only_user, today_session, enrolled):
    client.force_login(read_only_user)
    ana = attendees(today_session)[0]
    assert (
        client.post(f"/attendance-sheet/cells/{ana.pk}/", {"status": "attended", "week": "2026-W20"}).status_code == 403
    )
    page = client.get("/attendance-sheet/", {"program_session": "AM", "week": "2026-W20"}).content.decode()
    assert "sheet-edit" not in page


def test_admin_enrolls_and_ends_from_the_page(client, admin_user, group, make_patient):
    patient = make_patient()
    client.force_login(admin_user)
    url = f"/group-sessions/groups/{group.pk}/enrollments/"
    response = client.post(url, {"patient": patient.patient_number, "start_date": "2026-05-18"})
    assert response.status_code == 302
    enrollment = group.enrollments.get()
    assert "15 sessions booked" in client.get(url).content.decode()
    assert client.post(url, {"patient": "NOPE", "start_date": "2026-05-18"}).status_code == 400
    client.post(f"/group-sessions/enrollments/{enrollment.pk}/end/", {"end_date": "2026-05-22"})
    enrollment.refresh_from_db()
    assert enrollment.end_date == D(2026, 5, 22)


def test_nurse_may_not_enroll_from_the_page(client, nurse_user, group, make_patient):
    client.force_login(nurse_user)
    url = f"/group-sessions/groups/{group.pk}/enrollments/"
    assert client.post(url, {"patient": make_patient().patient_number, "start_date": "2026-05-18"}).status_code == 403


def test_session_list_links_rosters(client, staff_user, today_session, enrolled):
    client.force_login(staff_user)
    page = client.get("/group-sessions/").content.decode()
    assert f"/group-sessions/{today_session.pk}/" in page and "3 of 16" in page


# --- Constant queries whatever the number of attendees -------------------------------------------------------


def _count(client, url, params=None) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url, params or {}).status_code == 200
    return len(queries)


def _add_attendees(admin_user, session, make_patient, n):
    for _ in range(n):
        services.add_attendee(actor=admin_user, session=session, patient=make_patient())


def test_roster_and_sheet_queries_do_not_grow_with_attendees(client, admin_user, nurse_user, today_session, enrolled,
                                                           make_patient):  # fmt: skip
    client.force_login(nurse_user)
    sheet = ("/attendance-sheet/", {"program_session": "AM", "week": "2026-W20"})
    _count(client, roster_url(today_session))  # warm the session and content types
    few = (_count(client, roster_url(today_session)), _count(client, *sheet), _count(client, "/group-sessions/"))
    _add_attendees(admin_user, today_session, make_patient, 12)
    assert today_session.attendees.count() == 15
    # The new bookings changed the session's day: its first visit reads the session's date, the session, the
    # attendees and their units again (four queries, whatever their number), then it comes from the cache.
    assert _count(client, roster_url(today_session)) == few[0] + 4
    many = (_count(client, roster_url(today_session)), _count(client, *sheet), _count(client, "/group-sessions/"))
    assert many == few


def test_group_sessions_between_counts_attendees_in_one_query(nurse_user, today_session, enrolled,
                                                               django_assert_num_queries):  # fmt: skip
    from accounts import permissions
    from groups.selectors import group_sessions_between

    permissions.can_view_group_sessions(nurse_user)  # the user's permissions are read once per request
    with django_assert_num_queries(1):
        sessions = list(group_sessions_between(nurse_user, D(2026, 5, 11), D(2026, 5, 15)))
    assert [(s.date, s.attendee_count) for s in sessions][:3] == [(D(2026, 5, 11), 3), (D(2026, 5, 12), 3),
                                                                   (D(2026, 5, 13), 3)]  # fmt: skip
    assert all(isinstance(s, GroupSession) for s in sessions)


def test_saving_a_roster_costs_the_same_queries_for_5_or_25_attendees(client, admin_user, nurse_user, today_session,
                                                                      enrolled, make_patient):  # fmt: skip
    client.force_login(nurse_user)
    flip = {"out": "12:00"}

    def save_all() -> int:
        flip["out"] = "11:45" if flip["out"] == "12:00" else "12:00"
        data = {}
        for pk in today_session.attendees.values_list("pk", flat=True):
            data.update({f"status-{pk}": "attended", f"time_in-{pk}": "09:00", f"time_out-{pk}": flip["out"]})
        with CaptureQueriesContext(connection) as queries:
            assert client.post(roster_url(today_session), data).status_code == 302
        return len(queries)

    _add_attendees(admin_user, today_session, make_patient, 2)
    save_all()  # first marking: status changes (history rows), session held, permissions read
    save_all()
    entries_before = AuditEvent.objects.filter(event="scheduling.appointment.updated").count()
    few = save_all()
    assert AuditEvent.objects.filter(event="scheduling.appointment.updated").count() == entries_before + 5
    _add_attendees(admin_user, today_session, make_patient, 20)
    save_all()  # the 20 new attendees' first marking
    many = save_all()
    assert today_session.attendees.count() == 25
    assert many == few
    saved = datetime.time.fromisoformat(flip["out"])
    assert set(today_session.attendees.values_list("time_out", flat=True)) == {saved}


def test_a_roster_save_writes_one_chained_entry_per_changed_appointment(client, nurse_user, today_session, enrolled):
    from audit import chain

    client.force_login(nurse_user)
    ana, ben, cora = today_session.attendees.order_by("patient__last_name")
    client.post(roster_url(today_session), {
        f"status-{ana.pk}": "attended", f"status-{ben.pk}": "no_show", f"status-{cora.pk}": "attended",
        f"time_in-{cora.pk}": "09:40", f"note-{ana.pk}": "Engaged",
    })  # fmt: skip
    entries = AuditEvent.objects.filter(event="scheduling.appointment.updated", object_id__in=[ana.pk, ben.pk, cora.pk])
    assert sorted(entries.values_list("object_id", flat=True)) == sorted([ana.pk, ben.pk, cora.pk])
    by_id = {entry.object_id: entry for entry in entries}
    assert by_id[ana.pk].actor == nurse_user and by_id[ana.pk].patient_id == ana.patient_id
    assert by_id[ana.pk].changes_dict["status"] == ["scheduled", "attended"]
    assert "Engaged" not in str(by_id[ana.pk].changes)  # the encrypted note is masked
    assert by_id[cora.pk].changes_dict["time_in"] == ["None", "09:40:00"]
    ana.refresh_from_db()
    assert ana.progress_note == "Engaged" and ana.status == Appointment.Status.ATTENDED
    assert list(ana.status_history.values_list("from_status", "to_status"))[-1] == ("scheduled", "attended")
    assert not list(chain.problems())
