import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from accounts.models import Role
from scheduling import services
from scheduling.models import Appointment, AppointmentSeries, ServiceType
from tests.factories import PatientFactory
from tests.scheduling.conftest import next_weekday, past_weekday

pytestmark = pytest.mark.django_db
ALL_ROLES = [Role.ADMIN, Role.DOCTOR, Role.NURSE, Role.STAFF, Role.READ_ONLY]
BOOKERS = [Role.ADMIN, Role.DOCTOR, Role.NURSE, Role.STAFF]


@pytest.fixture
def as_role(user_for_role, api_client_for):
    return lambda role: api_client_for(user_for_role(role))


def payload(patient, service, day, **extra):
    return {"patient": patient.pk, "service_type": service.pk, "date": day.isoformat(), "start_time": "10:00", **extra}


def test_anonymous_gets_401_everywhere(api_client):
    for url in ("/api/v1/service-types/", "/api/v1/appointments/", "/api/v1/appointment-series/", "/api/v1/calendar/"):
        assert api_client.get(url).status_code == 401


@pytest.mark.parametrize("role", ALL_ROLES)
def test_service_types_read_for_all_write_for_admin(as_role, role):
    client = as_role(role)
    response = client.get("/api/v1/service-types/")
    assert response.status_code == 200
    assert [row["code"] for row in response.json()["results"]] == ["EVAL", "IND", "PSR", "TMS"]
    created = client.post(
        "/api/v1/service-types/", {"code": "GRP", "name": "Group therapy", "default_duration_minutes": 90}
    )
    assert created.status_code == (201 if role == Role.ADMIN else 403)
    assert client.delete(f"/api/v1/service-types/{ServiceType.objects.first().pk}/").status_code in (403, 405)


@pytest.mark.parametrize(("role", "status"), [(r, 201) for r in BOOKERS] + [(Role.READ_ONLY, 403)])
def test_create_appointment_matrix(as_role, role, status, patient, ind):
    response = as_role(role).post("/api/v1/appointments/", payload(patient, ind, next_weekday(1)), format="json")
    assert response.status_code == status, response.content
    if status == 201:
        body = response.json()
        assert body["duration_minutes"] == 60 and body["end_time"] == "11:00:00" and body["status"] == "scheduled"


def test_create_validation_errors_are_per_field(as_role, patient, ind):
    response = as_role(Role.STAFF).post(
        "/api/v1/appointments/", payload(patient, ind, next_weekday(5), start_time="10:10"), format="json"
    )
    assert response.status_code == 400
    assert set(response.json()) == {"start_time", "date"}
    response = as_role(Role.STAFF).post("/api/v1/appointments/", {"patient": 99999}, format="json")
    assert response.status_code == 400 and {"patient", "service_type", "date", "start_time"} <= set(response.json())


def test_conflict_is_409_with_the_id_unless_overridden_by_allowed_role(as_role, patient, ind):
    first = (
        as_role(Role.STAFF).post("/api/v1/appointments/", payload(patient, ind, next_weekday(1)), format="json").json()
    )
    again = payload(patient, ind, next_weekday(1), start_time="10:30")
    response = as_role(Role.STAFF).post("/api/v1/appointments/", again, format="json")
    assert response.status_code == 409
    assert response.json()["conflicting_appointment"] == first["id"]
    assert response.json()["conflicts"][0]["reason"] == "patient"
    forbidden = as_role(Role.STAFF).post("/api/v1/appointments/", {**again, "override_reason": "Needed"}, format="json")
    assert forbidden.status_code == 403
    allowed = as_role(Role.NURSE).post("/api/v1/appointments/", {**again, "override_reason": "Needed"}, format="json")
    assert allowed.status_code == 201 and allowed.json()["override_reason"] == "Needed"


def test_patch_status_marks_attendance(as_role, staff_user, patient, ind):
    appointment = services.book_appointment(
        actor=staff_user,
        patient=patient,
        service_type=ind,
        date=past_weekday(1, weeks_back=2),
        start_time=datetime.time(10),
    )
    url = f"/api/v1/appointments/{appointment.pk}/"
    assert as_role(Role.READ_ONLY).patch(url, {"status": "attended"}, format="json").status_code == 403
    response = as_role(Role.STAFF).patch(url, {"status": "attended"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "attended"
    assert as_role(Role.STAFF).patch(url, {"status": "bogus"}, format="json").status_code == 400
    future = services.book_appointment(
        actor=staff_user, patient=patient, service_type=ind, date=next_weekday(1), start_time=datetime.time(10)
    )
    response = as_role(Role.STAFF).patch(f"/api/v1/appointments/{future.pk}/", {"status": "no_show"}, format="json")
    assert response.status_code == 400 and "started" in response.json()["status"][0]


def test_patch_with_scope_edits_series(as_role, staff_user, patient, ind):
    series = services.create_series(
        actor=staff_user,
        request=services.SeriesRequest(
            patient=patient, service_type=ind, start_date=next_weekday(0), start_time=datetime.time(10),
            frequency="weekly", weekdays=("mon",), count=4,
        ),
    )  # fmt: skip
    first = series.occurrences.order_by("date").first()
    response = as_role(Role.STAFF).patch(
        f"/api/v1/appointments/{first.pk}/?scope=all", {"start_time": "13:00"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert set(series.occurrences.values_list("start_time", flat=True)) == {datetime.time(13)}
    assert (
        as_role(Role.STAFF)
        .patch(f"/api/v1/appointments/{first.pk}/?scope=sometimes", {"start_time": "14:00"}, format="json")
        .status_code
        == 400
    )


def test_filters(as_role, staff_user, ind, psr, clinician):
    day = next_weekday(2)
    a = services.book_appointment(
        actor=staff_user,
        patient=PatientFactory(),
        service_type=ind,
        date=day,
        start_time=datetime.time(9),
        clinician=clinician,
    )
    services.book_appointment(
        actor=staff_user,
        patient=PatientFactory(),
        service_type=psr,
        date=day + datetime.timedelta(days=7),
        start_time=datetime.time(9),
    )
    client = as_role(Role.READ_ONLY)
    ids = lambda **params: [row["id"] for row in client.get("/api/v1/appointments/", params).json()["results"]]  # noqa: E731
    assert ids(clinician=clinician.pk) == [a.pk]
    assert ids(service_type=ind.pk) == [a.pk]
    assert ids(patient=a.patient_id) == [a.pk]
    assert ids(date_from=day.isoformat(), date_to=day.isoformat()) == [a.pk]
    assert ids(status="scheduled") != [] and ids(status="attended") == []
    assert client.get("/api/v1/appointments/", {"date_from": "not-a-date"}).status_code == 400


def series_payload(patient, service, start, **extra):
    return {
        "patient": patient.pk, "service_type": service.pk, "start_date": start.isoformat(), "start_time": "10:00",
        "frequency": "weekly", "weekdays": ["mon", "wed"], "count": 4, **extra,
    }  # fmt: skip


def test_series_preview_then_create_then_cancel(as_role, staff_user, patient, ind):
    start = next_weekday(0)
    blocker = services.book_appointment(
        actor=staff_user,
        patient=patient,
        service_type=ind,
        date=start + datetime.timedelta(days=2),
        start_time=datetime.time(10),
    )
    client = as_role(Role.STAFF)
    preview = client.post("/api/v1/appointment-series/preview/", series_payload(patient, ind, start), format="json")
    assert preview.status_code == 200
    body = preview.json()
    assert body["count"] == 4 and body["conflicts"] == 1
    assert body["occurrences"][1]["conflicts"] == [
        {"date": blocker.date.isoformat(), "appointment": blocker.pk, "reason": "patient"}
    ]
    assert not AppointmentSeries.objects.exists()
    assert (
        client.post("/api/v1/appointment-series/", series_payload(patient, ind, start), format="json").status_code
        == 409
    )
    created = client.post(
        "/api/v1/appointment-series/",
        series_payload(patient, ind, start, skip_dates=[blocker.date.isoformat()]),
        format="json",
    )
    assert created.status_code == 201, created.content
    series = created.json()
    assert len(series["occurrences"]) == 3 and series["weekdays"] == ["mon", "wed"]
    assert as_role(Role.READ_ONLY).post(f"/api/v1/appointment-series/{series['id']}/cancel/").status_code == 403
    url = f"/api/v1/appointment-series/{series['id']}/cancel/"
    refused = client.post(url, {"by": "patient"}, format="json")
    assert refused.status_code == 400 and "reason" in refused.json()
    cancelled = client.post(url, {"by": "patient", "reason": "Moved away"}, format="json")
    assert cancelled.status_code == 200
    assert {o["status"] for o in cancelled.json()["occurrences"]} == {"cancelled_by_patient"}
    assert Appointment.objects.count() == 4


def test_series_bounds_are_400(as_role, patient, ind):
    response = as_role(Role.STAFF).post(
        "/api/v1/appointment-series/", series_payload(patient, ind, next_weekday(0), count=300), format="json"
    )
    assert response.status_code == 400 and "count" in response.json()
    response = as_role(Role.STAFF).post(
        "/api/v1/appointment-series/", series_payload(patient, ind, next_weekday(0), count=None), format="json"
    )
    assert response.status_code == 400


def test_calendar_counts_per_day(as_role, staff_user, ind, psr):
    day = past_weekday(1, weeks_back=1)
    make = lambda start, service=ind: services.book_appointment(  # noqa: E731
        actor=staff_user, patient=PatientFactory(), service_type=service, date=day, start_time=start
    )
    attended, no_show, cancelled = make(datetime.time(9)), make(datetime.time(10)), make(datetime.time(11))
    services.set_status(actor=staff_user, appointment=attended, status="attended")
    services.set_status(actor=staff_user, appointment=no_show, status="no_show")
    services.set_status(actor=staff_user, appointment=cancelled, status="cancelled_by_clinic")
    make(datetime.time(13), psr)
    response = as_role(Role.READ_ONLY).get("/api/v1/calendar/", {"month": f"{day:%Y-%m}"})
    assert response.status_code == 200
    body = response.json()
    assert body["month"] == f"{day:%Y-%m}"
    assert len(body["days"]) == __import__("calendar").monthrange(day.year, day.month)[1]
    entry = next(d for d in body["days"] if d["date"] == day.isoformat())
    assert entry == {
        "date": day.isoformat(), "total": 3, "recurring": 0,
        "by_status": {"attended": 1, "no_show": 1, "cancelled_by_clinic": 1, "scheduled": 1},
    }  # fmt: skip
    only_psr = (
        as_role(Role.READ_ONLY).get("/api/v1/calendar/", {"month": f"{day:%Y-%m}", "service_type": psr.pk}).json()
    )
    assert next(d for d in only_psr["days"] if d["date"] == day.isoformat())["total"] == 1
    assert as_role(Role.READ_ONLY).get("/api/v1/calendar/", {"month": "2025-13"}).status_code == 400


def test_calendar_runs_constant_queries(as_role, staff_user, ind, django_assert_max_num_queries):
    client = as_role(Role.ADMIN)
    month = next_weekday(1, weeks_ahead=1)
    client.get("/api/v1/calendar/", {"month": f"{month:%Y-%m}"})
    with django_assert_max_num_queries(6) as few:
        client.get("/api/v1/calendar/", {"month": f"{month:%Y-%m}"})
    for hour in range(9, 16):
        services.book_appointment(
            actor=staff_user, patient=PatientFactory(), service_type=ind, date=month, start_time=datetime.time(hour)
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get("/api/v1/calendar/", {"month": f"{month:%Y-%m}"})


def test_patch_scope_all_at_1130_leaves_the_10_oclock_session(as_role, staff_user, patient, ind):
    with time_machine.travel(datetime.datetime(2026, 5, 13, 11, 30, tzinfo=ZoneInfo("America/New_York")), tick=False):
        request = services.SeriesRequest(
            patient=patient, service_type=ind, start_date=datetime.date(2026, 5, 11), start_time=datetime.time(10),
            frequency="weekly", weekdays=("mon", "wed"), count=4,
        )  # fmt: skip
        series = services.create_series(actor=staff_user, request=request)
        this_morning, later = series.occurrences.filter(date__in=["2026-05-13", "2026-05-18"]).order_by("date")
        client = as_role(Role.STAFF)
        assert client.get(f"/api/v1/appointments/{this_morning.pk}/").json()["has_started"] is True
        response = client.patch(f"/api/v1/appointments/{later.pk}/?scope=all", {"start_time": "13:00"}, format="json")
    assert response.status_code == 200 and response.json()["has_started"] is False
    starts = dict(series.occurrences.values_list("date__day", "start_time"))
    assert starts == {11: datetime.time(10), 13: datetime.time(10), 18: datetime.time(13), 20: datetime.time(13)}
