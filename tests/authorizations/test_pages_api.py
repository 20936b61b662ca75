import datetime

import pytest
from django.utils import timezone

from accounts.models import Role
from audit.models import AuditEvent
from authorizations.models import Authorization
from scheduling import day_cache
from scheduling import services as scheduling
from tests.factories import PatientFactory
from tests.scheduling.conftest import past_weekday

pytestmark = pytest.mark.django_db
ALL_ROLES = [Role.ADMIN, Role.DOCTOR, Role.NURSE, Role.STAFF, Role.READ_ONLY]
WRITERS = {Role.ADMIN, Role.DOCTOR}
T = datetime.time


@pytest.fixture
def login(client, user_for_role):
    def as_role(role):
        client.force_login(user_for_role(role))
        return client

    return as_role


@pytest.fixture
def as_api(user_for_role, api_client_for):
    return lambda role: api_client_for(user_for_role(role))


def test_anonymous(client, api_client):
    assert client.get("/authorizations/")["Location"].startswith("/accounts/login/")
    assert api_client.get("/api/v1/authorizations/").status_code == 401


@pytest.mark.parametrize("role", ALL_ROLES)
def test_list_page_for_every_role(login, role, make_authorization):
    make_authorization()
    html = login(role).get("/authorizations/").content.decode()
    assert "Sunshine Health #A00001" in html and "10 remaining" in html


@pytest.mark.parametrize("role", ALL_ROLES)
def test_create_page_and_post_matrix(login, role, patient, ind):
    client = login(role)
    url = f"/authorizations/new/?patient={patient.pk}"
    today = timezone.localdate()
    data = {
        "patient": patient.pk, "payer": "Molina", "auth_number": "M-1", "service_types": [ind.pk], "units_authorized": 12,
        "start_date": today.isoformat(), "end_date": (today + datetime.timedelta(days=90)).isoformat(),
        "approval_date": today.isoformat(),
    }  # fmt: skip
    if role in WRITERS:
        assert client.get(url).status_code == 200
        assert client.post(url, data).status_code == 302
        assert Authorization.objects.get().service_types.get() == ind
    else:
        assert client.get(url).status_code == 403
        assert client.post(url, data).status_code == 403
        assert not Authorization.objects.exists()


def test_form_shows_errors(login, patient, ind):
    response = login(Role.DOCTOR).post(
        f"/authorizations/new/?patient={patient.pk}",
        {"patient": patient.pk, "payer": "Molina", "auth_number": "M-1", "units_authorized": 0,
         "start_date": "2026-05-01", "end_date": "2026-04-01"},
    )  # fmt: skip
    html = response.content.decode()
    assert response.status_code == 200
    assert "This field is required." in html  # services
    assert not Authorization.objects.exists()


def test_edit_is_read_only_for_readers(login, make_authorization):
    authorization = make_authorization()
    html = login(Role.NURSE).get(f"/authorizations/{authorization.pk}/").content.decode()
    assert "disabled" in html and ">Save</button>" not in html
    assert login(Role.NURSE).post(f"/authorizations/{authorization.pk}/", {}).status_code == 403


def test_list_filters(login, make_authorization, psr):
    today = timezone.localdate()
    make_authorization(number="SOON", end=today + datetime.timedelta(days=10))
    make_authorization(
        number="LATER", services=[psr], end=today + datetime.timedelta(days=200), for_patient=PatientFactory()
    )
    make_authorization(number="WAIT", approved=False, for_patient=PatientFactory())
    client = login(Role.STAFF)
    html = client.get("/authorizations/", {"expiring_within_days": 30}).content.decode()
    assert "SOON" in html and "LATER" not in html
    assert "WAIT" in client.get("/authorizations/", {"status": "pending"}).content.decode()
    assert "SOON" not in client.get("/authorizations/", {"status": "pending"}).content.decode()
    assert "LATER" in client.get("/authorizations/", {"service_type": psr.pk}).content.decode()
    assert "SOON" not in client.get("/authorizations/", {"payer": "molina"}).content.decode()


def test_list_page_runs_constant_queries(login, make_authorization, django_assert_max_num_queries):
    client = login(Role.ADMIN)
    make_authorization()
    client.get("/authorizations/")
    with django_assert_max_num_queries(15) as few:
        client.get("/authorizations/")
    for index in range(10):
        make_authorization(number=f"N{index}", for_patient=PatientFactory())
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get("/authorizations/")


def test_dashboard_alerts_and_constant_queries(
    login, staff_user, patient, ind, make_authorization, django_assert_max_num_queries
):
    today = timezone.localdate()
    make_authorization(number="ENDING", end=today + datetime.timedelta(days=5))
    low = make_authorization(number="LOW", units=1, for_patient=PatientFactory(last_name="Lowunits"))
    appointment = scheduling.book_appointment(
        actor=staff_user, patient=low.patient, service_type=ind, date=past_weekday(1, weeks_back=1), start_time=T(10)
    )
    scheduling.set_status(actor=staff_user, appointment=appointment, status="attended")
    make_authorization(number="FINE", for_patient=PatientFactory())
    client = login(Role.STAFF)
    html = client.get("/").content.decode()
    assert "Authorization alerts" in html
    assert "#ENDING" in html and "#LOW" in html and "#FINE" not in html
    assert "0 of 1 units left" in html
    day_cache.forget_all()  # counted with the alerts read again, as after the writes below
    with django_assert_max_num_queries(20) as few:
        client.get("/")
    for index in range(5):
        make_authorization(number=f"E{index}", end=today + datetime.timedelta(days=3), for_patient=PatientFactory())
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get("/").content.decode().count("Sunshine Health #") == 7


def test_patient_page_shows_usage_bar(login, make_authorization, patient):
    make_authorization()
    html = login(Role.STAFF).get(patient.get_absolute_url()).content.decode()
    assert 'data-testid="patient-authorizations"' in html and 'class="usage-bar"' in html
    assert "Add authorization" not in html
    assert "Add authorization" in login(Role.DOCTOR).get(patient.get_absolute_url()).content.decode()


@pytest.mark.parametrize("role", ALL_ROLES)
def test_api_matrix(as_api, role, patient, ind, make_authorization):
    existing = make_authorization()
    client = as_api(role)
    listed = client.get("/api/v1/authorizations/")
    assert listed.status_code == 200
    row = listed.json()["results"][0]
    assert (row["units_used"], row["units_scheduled"], row["units_remaining"], row["status"]) == (0, 0, 10, "active")
    today = timezone.localdate()
    payload = {
        "patient": PatientFactory().pk, "payer": "Molina", "auth_number": "API-1", "service_types": [ind.pk],
        "units_authorized": 8, "start_date": today.isoformat(), "end_date": (today + datetime.timedelta(days=30)).isoformat(),
        "approval_date": today.isoformat(),
    }  # fmt: skip
    created = client.post("/api/v1/authorizations/", payload, format="json")
    updated = client.patch(f"/api/v1/authorizations/{existing.pk}/", {"units_authorized": 20}, format="json")
    if role in WRITERS:
        assert created.status_code == 201 and created.json()["units_remaining"] == 8
        assert updated.status_code == 200, updated.json()
        assert updated.json()["units_remaining"] == 20
    else:
        assert created.status_code == 403 and updated.status_code == 403
    assert client.delete(f"/api/v1/authorizations/{existing.pk}/").status_code in (403, 405)


def test_api_ignores_derived_fields_and_reports_errors(as_api, patient, ind):
    today = timezone.localdate()
    response = as_api(Role.DOCTOR).post(
        "/api/v1/authorizations/",
        {"patient": patient.pk, "payer": "Molina", "auth_number": "Z", "service_types": [ind.pk], "units_authorized": 5,
         "start_date": today.isoformat(), "end_date": (today - datetime.timedelta(days=1)).isoformat(),
         "units_used": 99},
        format="json",
    )  # fmt: skip
    assert response.status_code == 400 and "end_date" in response.json()


def test_api_filters(as_api, make_authorization, psr):
    today = timezone.localdate()
    soon = make_authorization(number="SOON", end=today + datetime.timedelta(days=10))
    make_authorization(
        number="LATER", services=[psr], end=today + datetime.timedelta(days=200), for_patient=PatientFactory()
    )
    client = as_api(Role.READ_ONLY)
    ids = lambda **p: [r["auth_number"] for r in client.get("/api/v1/authorizations/", p).json()["results"]]  # noqa: E731
    assert ids(expiring_within_days=30) == ["SOON"]
    assert ids(service_type=psr.pk) == ["LATER"]
    assert ids(patient=soon.patient_id) == ["SOON"]
    assert ids(status="active") == ["SOON", "LATER"]
    assert client.get("/api/v1/authorizations/", {"status": "bogus"}).status_code == 400


def test_reports_sum_to_hand_computed_numbers(login, staff_user, patient, ind, psr, make_authorization):
    today = timezone.localdate()
    make_authorization(units=10, number="I1")  # IND, patient
    make_authorization(units=20, services=[psr], number="P1", for_patient=PatientFactory(last_name="Group"))
    other = PatientFactory(last_name="Other")
    make_authorization(units=2, number="I2", for_patient=other)
    for weeks, status in [(1, "attended"), (2, "attended"), (3, "no_show")]:
        a = scheduling.book_appointment(
            actor=staff_user,
            patient=patient,
            service_type=ind,
            date=past_weekday(1, weeks_back=weeks),
            start_time=T(10),
        )
        scheduling.set_status(actor=staff_user, appointment=a, status=status)
    for weeks in (1, 2, 3):
        a = scheduling.book_appointment(
            actor=staff_user, patient=other, service_type=ind, date=past_weekday(2, weeks_back=weeks), start_time=T(10)
        )
        scheduling.set_status(actor=staff_user, appointment=a, status="attended")
    a = scheduling.book_appointment(
        actor=staff_user, patient=other, service_type=ind, date=past_weekday(3, weeks_back=1), start_time=T(10)
    )
    scheduling.set_status(actor=staff_user, appointment=a, status="late_cancel")
    client = login(Role.STAFF)
    period = {"date_from": (today - datetime.timedelta(days=40)).isoformat(), "date_to": today.isoformat()}
    rows = {r["service"]: r for r in client.get("/authorizations/reports/utilisation/", period).context["rows"]}
    assert rows["IND"] == {
        "service": "IND",
        "name": "Individual Therapy",
        "authorizations": 2,
        "authorized": 12,
        "used": 5,
        "remaining": 8,
        "over_used": 1,
    }
    assert rows["PSR"]["authorized"] == 20 and rows["PSR"]["used"] == 0
    csv_text = client.get("/authorizations/reports/utilisation/", {**period, "format": "csv"}).content.decode()
    assert csv_text.splitlines()[1] == "IND,Individual Therapy,2,12,5,8,1"
    context = client.get("/authorizations/reports/attendance/", period).context
    by_service = {r["service_type__code"]: r for r in context["by_service"]}
    assert (by_service["IND"]["attended"], by_service["IND"]["no_show"], by_service["IND"]["late_cancel"]) == (5, 1, 1)
    by_patient = {r["patient__last_name"]: r for r in context["by_patient"]}
    assert (by_patient["Lopez"]["no_show"], by_patient["Lopez"]["no_show_rate"]) == (1, 33.3)
    assert by_patient["Other"]["late_cancel"] == 1
    by_patient_csv = {**period, "format": "csv", "by": "patient"}
    # Names and no-show counts per patient are a patient export: front desk may not download them.
    assert client.get("/authorizations/reports/attendance/", by_patient_csv).status_code == 403
    client = login(Role.ADMIN)
    csv_text = client.get("/authorizations/reports/attendance/", by_patient_csv).content.decode()
    assert "patient_number,last_name,first_name,attended" in csv_text.splitlines()[0]
    exports = AuditEvent.objects.filter(event__endswith=".exported").order_by("id")
    assert [e.additional_data["report"] for e in exports] == ["utilisation", "attendance_by_patient"]
    assert sorted(exports[1].additional_data["patient_ids"]) == sorted([patient.pk, other.pk])


def test_cached_dashboard_alerts_follow_appointment_and_authorization_writes(
    login, staff_user, ind, make_authorization
):
    fine = make_authorization(number="FINE", units=1, for_patient=PatientFactory(last_name="Fineunits"))
    client = login(Role.STAFF)
    assert "#FINE" not in client.get("/").content.decode()  # cached (scheduling.day_cache)
    appointment = scheduling.book_appointment(
        actor=staff_user, patient=fine.patient, service_type=ind, date=past_weekday(1, weeks_back=1), start_time=T(10)
    )
    scheduling.set_status(actor=staff_user, appointment=appointment, status="attended")
    assert "#FINE" in client.get("/").content.decode()  # its one unit used: an alert
    fine.units_authorized = 100
    fine.save()
    assert "#FINE" not in client.get("/").content.decode()
