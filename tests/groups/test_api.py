import datetime

import pytest

from groups.models import Enrollment, Group, GroupSession
from scheduling.models import Appointment

pytestmark = pytest.mark.django_db
D = datetime.date
T = datetime.time
Status = Appointment.Status


def test_admin_creates_a_group_with_its_sessions(api_client_for, admin_user, psr, clinician):
    response = api_client_for(admin_user).post(
        "/api/v1/groups/",
        {
            "name": "PSR PM", "service_type": psr.pk, "weekdays": ["mon", "wed"], "start_time": "13:00",
            "duration_minutes": 180, "clinician": clinician.pk, "program_session": "PM", "location": "Room 3",
            "start_date": "2026-05-18", "end_date": "2026-05-29",
        },
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["weekdays"] == ["mon", "wed"] and body["capacity"] == 16 and body["start_time"] == "13:00:00"
    group = Group.objects.get(pk=body["id"])
    assert list(group.sessions.values_list("date", flat=True)) == [D(2026, 5, 18), D(2026, 5, 20), D(2026, 5, 25),
                                                                 D(2026, 5, 27)]  # fmt: skip


@pytest.mark.parametrize("role", ["doctor", "nurse", "staff", "read_only"])
def test_only_administrators_create_groups(api_client_for, user_for_role, psr, clinician, role):
    response = api_client_for(user_for_role(role)).post("/api/v1/groups/", {"name": "X"}, format="json")
    assert response.status_code == 403


def test_bad_group_input_is_a_400_per_field(api_client_for, admin_user, psr, clinician):
    response = api_client_for(admin_user).post(
        "/api/v1/groups/",
        {"name": "X", "service_type": psr.pk, "weekdays": ["sun"], "start_time": "25:00", "duration_minutes": 3,
         "clinician": clinician.pk, "program_session": "XX", "start_date": "2026-05-18"},
        format="json",
    )  # fmt: skip
    assert response.status_code == 400
    assert {"weekdays", "start_time", "duration_minutes", "program_session"} <= set(response.json())
    assert not Group.objects.exists()


def test_enroll_and_end_through_the_api(api_client_for, admin_user, group, make_patient):
    client = api_client_for(admin_user)
    patient = make_patient(session="PM")
    response = client.post(
        "/api/v1/enrollments/", {"group": group.pk, "patient": patient.pk, "start_date": "2026-05-18"}, format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["booked"] == 15 and [w["code"] for w in body["warnings"]] == ["program_session", "no_authorization"]
    response = client.post(f"/api/v1/enrollments/{body['id']}/end/", {"end_date": "2026-05-22"}, format="json")
    assert response.status_code == 200 and response.json()["cancelled"] == 10
    assert Enrollment.objects.get().end_date == D(2026, 5, 22)
    assert client.post(f"/api/v1/enrollments/{body['id']}/end/", {}, format="json").status_code == 400


def test_staff_may_not_enroll(api_client_for, staff_user, group, make_patient):
    response = api_client_for(staff_user).post(
        "/api/v1/enrollments/", {"group": group.pk, "patient": make_patient().pk, "start_date": "2026-05-18"},
        format="json",
    )  # fmt: skip
    assert response.status_code == 403


def test_session_list_filters_and_counts(api_client_for, staff_user, group, enrolled, clinician):
    client = api_client_for(staff_user)
    response = client.get("/api/v1/group-sessions/", {"date_from": "2026-05-13", "date_to": "2026-05-14",
                                                      "program_session": "AM", "clinician": clinician.pk})  # fmt: skip
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [(r["date"], r["attendee_count"]) for r in rows] == [("2026-05-13", 3), ("2026-05-14", 3)]
    assert "group_note" not in rows[0]  # front desk: no clinical text
    assert client.get("/api/v1/group-sessions/", {"program_session": "XX"}).status_code == 400
    assert client.get("/api/v1/group-sessions/", {"colour": "red"}).status_code == 400


def test_roster_detail_shows_notes_to_clinical_roles_only(
    api_client_for, staff_user, nurse_user, today_session, enrolled
):
    nurse = api_client_for(nurse_user).get(f"/api/v1/group-sessions/{today_session.pk}/").json()
    assert nurse["capacity_label"] == "3 of 16"
    assert [a["name"].split()[-1] for a in nurse["roster"]] == ["Alvarez", "Brown", "Cruz"]
    assert "note" in nurse["roster"][0] and nurse["roster"][0]["units_left"] is None
    staff = api_client_for(staff_user).get(f"/api/v1/group-sessions/{today_session.pk}/").json()
    assert "note" not in staff["roster"][0]


def _attendance(session, entries, **extra):
    return {"group_note": "Coping skills", "attendees": entries, **extra}


def test_put_attendance_saves_and_returns_the_roster(api_client_for, nurse_user, today_session, enrolled):
    ids = list(today_session.attendees.order_by("patient__last_name").values_list("pk", flat=True))
    response = api_client_for(nurse_user).put(
        f"/api/v1/group-sessions/{today_session.pk}/attendance/",
        _attendance(today_session, [
            {"appointment": ids[0], "status": "attended", "note": "Engaged"},
            {"appointment": ids[1], "status": "attended", "time_in": "09:40", "time_out": "12:00"},
            {"appointment": ids[2], "status": "no_show"},
        ]),
        format="json",
    )  # fmt: skip
    assert response.status_code == 200, response.json()
    roster = {row["appointment"]: row for row in response.json()["roster"]}
    assert (roster[ids[1]]["time_in"], roster[ids[1]]["units"]) == ("09:40:00", 9)
    assert roster[ids[0]]["note"] == "Engaged" and roster[ids[2]]["status"] == "no_show"
    assert response.json()["status"] == "held"


def test_put_attendance_is_all_or_nothing_with_per_attendee_errors(api_client_for, nurse_user, today_session, enrolled):
    ids = list(today_session.attendees.values_list("pk", flat=True))
    response = api_client_for(nurse_user).put(
        f"/api/v1/group-sessions/{today_session.pk}/attendance/",
        _attendance(today_session, [
            {"appointment": ids[0], "status": "attended"},
            {"appointment": ids[1], "status": "attended", "time_in": "11:00", "time_out": "10:00"},
            {"appointment": 999999, "status": "attended"},
        ]),
        format="json",
    )  # fmt: skip
    assert response.status_code == 400
    body = response.json()
    assert set(body["attendees"]) == {str(ids[1]), "999999"} and "nothing was saved" in body["detail"]
    assert set(Appointment.objects.filter(pk__in=ids).values_list("status", flat=True)) == {Status.SCHEDULED}
    bad = api_client_for(nurse_user).put(
        f"/api/v1/group-sessions/{today_session.pk}/attendance/",
        {"attendees": [{"appointment": ids[0], "status": "dancing", "time_in": "9am"}]}, format="json",
    )  # fmt: skip
    assert bad.status_code == 400 and {"status", "time_in"} <= set(bad.json()["attendees"]["0"])


def test_front_desk_note_is_refused(api_client_for, staff_user, today_session, enrolled):
    first = today_session.attendees.first()
    response = api_client_for(staff_user).put(
        f"/api/v1/group-sessions/{today_session.pk}/attendance/",
        {"attendees": [{"appointment": first.pk, "status": "attended", "note": "x"}]}, format="json",
    )  # fmt: skip
    assert response.status_code == 400 and "note" in response.json()["attendees"][str(first.pk)]


def test_sign_then_amend_with_a_reason(api_client_for, nurse_user, staff_user, today_session, enrolled):
    client = api_client_for(nurse_user)
    url = f"/api/v1/group-sessions/{today_session.pk}/"
    ids = list(today_session.attendees.values_list("pk", flat=True))
    assert client.post(url + "sign/").status_code == 400  # not held yet
    client.put(url + "attendance/", _attendance(today_session, [{"appointment": i, "status": "attended"} for i in ids]),
               format="json")  # fmt: skip
    assert api_client_for(staff_user).post(url + "sign/").status_code == 403
    response = client.post(url + "sign/")
    assert response.status_code == 200 and response.json()["is_signed"] and len(response.json()["signature_hash"]) == 64
    change = {"attendees": [{"appointment": ids[0], "status": "attended", "time_out": "11:00"}]}
    refused = client.put(url + "attendance/", change, format="json")
    assert refused.status_code == 400 and "amendment_reason" in refused.json()
    amended = client.put(url + "attendance/", {**change, "amendment_reason": "Left early"}, format="json")
    assert amended.status_code == 200
    assert today_session.amendments.get().reason == "Left early"


@pytest.mark.parametrize(("role", "read", "mark"), [("admin", 200, 200), ("doctor", 200, 200), ("nurse", 200, 200),
                                                    ("staff", 200, 200), ("read_only", 200, 403)])  # fmt: skip
def test_role_matrix(api_client_for, user_for_role, today_session, enrolled, role, read, mark):
    client = api_client_for(user_for_role(role))
    first = today_session.attendees.first()
    assert client.get(f"/api/v1/group-sessions/{today_session.pk}/").status_code == read
    response = client.put(f"/api/v1/group-sessions/{today_session.pk}/attendance/",
                          {"attendees": [{"appointment": first.pk, "status": "attended"}]}, format="json")  # fmt: skip
    assert response.status_code == mark


def test_anonymous_gets_401_and_wrong_method_405(api_client, api_client_for, nurse_user, today_session):
    assert api_client.get("/api/v1/group-sessions/").status_code == 401
    assert api_client_for(nurse_user).delete(f"/api/v1/group-sessions/{today_session.pk}/").status_code == 405


def test_one_off_session_and_a_drop_in(api_client_for, nurse_user, psr, clinician, make_patient):
    client = api_client_for(nurse_user)
    response = client.post("/api/v1/group-sessions/", {"service_type": psr.pk, "date": "2026-05-20",
                           "start_time": "13:00", "clinician": clinician.pk, "topic": "Art"}, format="json")  # fmt: skip
    assert response.status_code == 201, response.json()
    session = GroupSession.objects.get(pk=response.json()["id"])
    assert session.group is None
    added = client.post(
        f"/api/v1/group-sessions/{session.pk}/attendees/", {"patient": make_patient().pk}, format="json"
    )
    assert added.status_code == 201 and added.json()["start_time"] == "13:00:00"


def test_attendance_sheet(api_client_for, nurse_user, today_session, enrolled):
    client = api_client_for(nurse_user)
    ids = list(today_session.attendees.order_by("patient__last_name").values_list("pk", flat=True))
    client.put(f"/api/v1/group-sessions/{today_session.pk}/attendance/", _attendance(today_session, [
        {"appointment": ids[0], "status": "attended"}, {"appointment": ids[1], "status": "no_show"}]),
        format="json")  # fmt: skip
    response = client.get("/api/v1/attendance-sheet/", {"program_session": "AM", "week": "2026-W20"})
    assert response.status_code == 200
    body = response.json()
    assert body["week"] == "2026-W20" and body["days"][0] == "2026-05-11"
    ana = body["patients"][0]
    assert ana["cells"][2] == {"date": "2026-05-13", "appointment": ids[0], "status": "attended", "units": 12,
                               "signed": False}  # fmt: skip
    assert ana["total_units"] == 12 and body["totals"]["units"][2] == 12 and body["totals"]["present"][2] == 1
    assert client.get("/api/v1/attendance-sheet/", {"program_session": "AM", "week": "2026-W99"}).status_code == 400
    assert client.get("/api/v1/attendance-sheet/", {"week": "2026-W20"}).status_code == 400
