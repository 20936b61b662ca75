"""Bad input gets a clear error (a form message or a 400 with per-field messages), never a 500.

One section per class of input that used to give a 500, each on pages and in the API; and unknown filter
names, which used to widen a list (or an export) silently.
"""

import datetime

import pytest
import time_machine
from django.contrib import admin
from django.core.management import CommandError, call_command
from django.test import Client

from accounts.models import Role, User
from audit.models import AuditEvent
from authorizations.models import Authorization
from scheduling import services
from scheduling.models import Appointment, ServiceType
from tests.factories import PatientFactory, UserFactory

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 3, 4)  # a Wednesday
MONDAY = datetime.date(2026, 3, 9)


@pytest.fixture(autouse=True)
def _frozen_clock():
    with time_machine.travel(datetime.datetime(2026, 3, 4, 9, 0, tzinfo=datetime.UTC), tick=False):
        yield


@pytest.fixture
def patient(db):
    return PatientFactory(first_name="Maria", last_name="Lopez")


@pytest.fixture
def ind(db):
    return ServiceType.objects.get(code="IND")


@pytest.fixture
def clinician(db):
    return UserFactory(email="nina@clinic.test", role=Role.NURSE)


@pytest.fixture
def appointment(admin_user, patient, ind, clinician):
    return services.book_appointment(
        actor=admin_user, patient=patient, service_type=ind, date=MONDAY, start_time=datetime.time(10),
        clinician=clinician, notes="Bring forms",
    )  # fmt: skip


@pytest.fixture
def page_as(client):
    def login(user) -> Client:
        client.force_login(user)
        return client

    return login


@pytest.fixture
def api_as(api_client_for):
    return api_client_for


# --- Non-ASCII digits: '²' passes str.isdigit() but not int() --------------------------------------


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("/calendar/", "clinician"), ("/calendar/", "service_type"), ("/calendar/week/", "clinician"),
        (f"/calendar/{MONDAY}/", "clinician"), (f"/calendar/{MONDAY}/", "service_type"),
    ],
)  # fmt: skip
def test_calendar_pages_refuse_a_non_ascii_digit_filter_with_a_message(page_as, admin_user, appointment, url, name):
    response = page_as(admin_user).get(url, {name: "²"})

    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()


def test_calendar_pages_and_api_mean_the_same_by_a_filter(page_as, api_as, admin_user, appointment, clinician):
    other = UserFactory(email="dora@clinic.test", role=Role.DOCTOR)

    page = page_as(admin_user).get("/calendar/", {"month": "2026-03", "clinician": other.pk})
    api = api_as(admin_user).get("/api/v1/calendar/", {"month": "2026-03", "clinician": other.pk})
    mine = api_as(admin_user).get("/api/v1/calendar/", {"month": "2026-03", "clinician": clinician.pk})

    assert page.status_code == api.status_code == mine.status_code == 200
    assert page.context["month_total"] == sum(day["total"] for day in api.json()["days"]) == 0
    assert sum(day["total"] for day in mine.json()["days"]) == 1
    unknown = api_as(admin_user).get("/api/v1/calendar/", {"clinician": "²", "service_type": "99999999999999999999"})
    assert unknown.status_code == 400 and set(unknown.json()) == {"clinician", "service_type"}


def test_booking_page_opened_with_a_non_ascii_patient_id_chooses_no_patient(page_as, admin_user, patient):
    response = page_as(admin_user).get("/appointments/new/", {"patient": "²", "date": "²"})

    assert response.status_code == 200 and "chosen_patient" not in response.context
    chosen = page_as(admin_user).get("/appointments/new/", {"patient": patient.pk})
    assert chosen.context["chosen_patient"] == patient


def test_new_authorization_page_with_a_non_ascii_patient_id_is_not_found(page_as, admin_user):
    assert page_as(admin_user).get("/authorizations/new/", {"patient": "²"}).status_code == 404


def test_audit_page_and_api_find_no_patient_by_a_non_ascii_id(page_as, api_as, admin_user, appointment):
    page = page_as(admin_user).get("/audit/", {"patient": "²"})
    api = api_as(admin_user).get("/api/v1/audit-events/", {"patient": "²"})

    assert page.status_code == 200 and list(page.context["page"].object_list) == []
    assert api.status_code == 200 and api.json()["results"] == []


def test_authorization_api_refuses_a_non_ascii_or_huge_patient_id(api_as, admin_user):
    for value in ("²", "99999999999999999999"):
        response = api_as(admin_user).get("/api/v1/authorizations/", {"patient": value})
        assert response.status_code == 400 and "patient" in response.json()


def test_export_refuses_a_non_ascii_patient_id(page_as, admin_user, appointment):
    response = page_as(admin_user).get("/exports/appointments.csv", {"patient": "²"})

    assert response.status_code == 400 and "No patient" in response.content.decode()
    assert not AuditEvent.objects.filter(event="scheduling.appointment.exported").exists()


# --- Dates at the ends of the calendar ---------------------------------------------------------------


def test_appointments_cannot_be_booked_years_away_in_the_api(api_as, admin_user, patient, ind):
    for day in ("9999-12-31", "0001-01-01", "2031-03-10"):  # the last is a Monday six years ahead
        response = api_as(admin_user).post(
            "/api/v1/appointments/",
            {"patient": patient.pk, "service_type": ind.pk, "date": day, "start_time": "10:00"},
            format="json",
        )
        assert response.status_code == 400, response.content
        assert "Appointments are booked between" in response.json()["date"][0]
    assert not Appointment.objects.exists()


def test_appointments_cannot_be_booked_years_away_on_the_page(page_as, admin_user, patient, ind):
    response = page_as(admin_user).post(
        "/appointments/new/",
        {"patient": patient.pk, "service_type": ind.pk, "date": "9999-12-31", "start_time": "10:00"},
    )

    assert response.status_code == 200 and "between" in str(response.context["booking_form"].errors["date"])
    assert not Appointment.objects.exists()


def test_series_preview_refuses_far_dates_in_api_and_page(api_as, page_as, admin_user, patient, ind):
    body = {
        "patient": patient.pk, "service_type": ind.pk, "start_date": "9999-12-27", "start_time": "10:00",
        "frequency": "weekly", "weekdays": ["mon"], "count": 3,
    }  # fmt: skip
    api = api_as(admin_user).post("/api/v1/appointment-series/preview/", body, format="json")
    assert api.status_code == 400 and "start_date" in api.json()

    page = page_as(admin_user).post(
        "/appointments/preview/",
        {"patient": patient.pk, "service_type": ind.pk, "date": "9999-12-27", "start_time": "10:00",
         "frequency": "weekly", "weekdays": ["mon"], "count": 3},
    )  # fmt: skip
    assert page.status_code == 200 and page.context["occurrences"] is None
    assert page.context["form"].errors


@pytest.mark.parametrize(
    ("url", "params"),
    [
        ("/calendar/", {"month": "9999-12"}),
        ("/calendar/week/", {"date": "9999-12-31"}),
        ("/calendar/week/", {"date": "0001-01-01"}),
    ],
)
def test_calendar_pages_asked_for_far_dates_say_so_and_show_today(page_as, admin_user, url, params):
    response = page_as(admin_user).get(url, params)

    assert response.status_code == 400
    assert "between 1900-01-01 and 2100-12-31" in response.content.decode()
    shown = response.context.get("month") or response.context["week"][0]
    assert shown.year == 2026


def test_calendar_day_page_of_a_far_date_is_not_found(page_as, admin_user):
    assert page_as(admin_user).get("/calendar/9999-12-31/").status_code == 404


def test_calendar_api_refuses_a_far_month(api_as, admin_user):
    response = api_as(admin_user).get("/api/v1/calendar/", {"month": "9999-12"})

    assert response.status_code == 400 and "month" in response.json()


@pytest.mark.parametrize("url", ["/audit/", "/audit/export.csv", "/api/v1/audit-events/"])
def test_audit_trail_refuses_a_far_end_date(page_as, admin_user, url):
    response = page_as(admin_user).get(url, {"date_to": "9999-12-31"})

    assert response.status_code == 400
    assert "between 1900-01-01 and 2100-12-31" in response.content.decode()


def test_birth_dates_are_bounded_by_the_settings(api_as, admin_user, settings):
    settings.BIRTH_DATE_MIN_YEAR = 1910
    response = api_as(admin_user).post(
        "/api/v1/patients/", {"first_name": "Ana", "last_name": "Ruiz", "date_of_birth": "1905-01-01"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["date_of_birth"] == ["Give a date between 01/01/1910 and 12/31/2100."]


# --- Page numbers --------------------------------------------------------------------------------------

HUGE = "99999999999999999999"


@pytest.mark.parametrize(
    "url", ["/api/v1/patients/", "/api/v1/audit-events/", "/api/v1/authorizations/", "/api/v1/appointments/"]
)
def test_api_lists_answer_404_for_a_page_beyond_the_bound(api_as, admin_user, appointment, url):
    for page in (HUGE, "²", "10001"):
        response = api_as(admin_user).get(url, {"page": page})
        assert response.status_code == 404, (page, response.content)
        assert "detail" in response.json()


@pytest.mark.parametrize("url", ["/patients/", "/audit/", "/authorizations/", f"/calendar/{MONDAY}/"])
def test_pages_show_a_page_for_a_page_number_beyond_the_bound(page_as, admin_user, appointment, url):
    response = page_as(admin_user).get(url, {"page": HUGE})

    assert response.status_code == 200
    assert response.context["page"].number == 1


# --- Text: NUL bytes, control characters, unbounded length ----------------------------------------------


@pytest.mark.parametrize(
    "url", ["/appointments/patients/", "/patients/", "/audit/", "/admin/patients/patient/", "/exports/patients.csv"]
)
def test_pages_refuse_a_nul_byte_in_the_query_string(page_as, admin_user, patient, url):
    response = page_as(admin_user).get(url, {"q": "Lo\x00pez"})

    assert response.status_code == 400
    assert "could not read that request" in response.content.decode()
    assert not AuditEvent.objects.filter(event__endswith=".searched").exists()


@pytest.mark.parametrize("url", ["/api/v1/patients/", "/api/v1/audit-events/", "/api/v1/authorizations/"])
def test_api_refuses_a_nul_byte_in_the_query_string(api_as, admin_user, url):
    response = api_as(admin_user).get(url, {"search": "Lo\x00pez"})

    assert response.status_code == 400
    assert response.json() == {"detail": "The query string holds a NUL byte."}


def test_patient_picker_still_finds_patients(page_as, admin_user, patient):
    found = page_as(admin_user).get("/appointments/patients/", {"q": "Lopez"})

    # The picker lists the patients' list entries (patients.selectors.patient_list): compare by patient.
    assert found.status_code == 200 and [entry.pk for entry in found.context["patients"]] == [patient.pk]


@pytest.mark.parametrize("notes", ["a\x00b", "tab\x1bescape", "lone\rreturn", "x" * 10_001])
def test_appointment_notes_refuse_control_characters_and_overlong_text(api_as, page_as, admin_user, appointment, notes):
    api = api_as(admin_user).patch(f"/api/v1/appointments/{appointment.pk}/", {"notes": notes}, format="json")
    assert api.status_code == 400 and "notes" in api.json()

    page = page_as(admin_user).post(
        f"/appointments/{appointment.pk}/edit/",
        {"service_type": appointment.service_type_id, "date": MONDAY, "start_time": "10:00",
         "duration_minutes": 60, "notes": notes},
    )  # fmt: skip
    assert page.status_code == 200 and "notes" in page.context["form"].errors
    appointment.refresh_from_db()
    assert appointment.notes == "Bring forms"


def test_line_breaks_and_tabs_are_text(api_as, admin_user, appointment):
    notes = "First line\r\nSecond\tline\nThird"
    response = api_as(admin_user).patch(f"/api/v1/appointments/{appointment.pk}/", {"notes": notes}, format="json")

    assert response.status_code == 200, response.content
    appointment.refresh_from_db()
    assert appointment.notes == notes


@pytest.fixture
def series(admin_user, patient, ind):
    return services.create_series(
        actor=admin_user,
        request=services.SeriesRequest(
            patient=patient, service_type=ind, start_date=MONDAY, start_time=datetime.time(14), frequency="weekly",
            weekdays=("mon",), count=2,
        ),
    )  # fmt: skip


def test_series_cancel_reason_refuses_a_nul_byte_on_page_and_api(api_as, page_as, admin_user, series):
    api = api_as(admin_user).post(
        f"/api/v1/appointment-series/{series.pk}/cancel/", {"reason": "a\x00b"}, format="json"
    )
    page = page_as(admin_user).post(f"/series/{series.pk}/cancel/", {"reason": "a\x00b"}, follow=True)

    assert api.status_code == 400 and "reason" in api.json()
    assert page.status_code == 200 and "Null characters are not allowed." in page.content.decode()
    series.refresh_from_db()
    assert series.cancelled_at is None


def test_service_type_code_refuses_a_carriage_return(api_as, admin_user):
    response = api_as(admin_user).post(
        "/api/v1/service-types/", {"code": "GR\rP", "name": "Group", "default_duration_minutes": 60}, format="json"
    )

    assert response.status_code == 400 and "code" in response.json()
    assert not ServiceType.objects.filter(name="Group").exists()


def test_service_type_code_refuses_a_carriage_return_in_the_admin(rf, admin_user):
    request = rf.post("/admin/scheduling/servicetype/add/")
    request.user = admin_user
    form_class = admin.site.get_model_admin(ServiceType).get_form(request)

    form = form_class({"code": "GR\rP", "name": "Group", "default_duration_minutes": 60, "unit_minutes": 15})

    assert not form.is_valid() and "control characters" in str(form.errors["code"])


def test_authorization_notes_refuse_control_characters(api_as, admin_user, patient, ind):
    response = api_as(admin_user).post(
        "/api/v1/authorizations/",
        {"patient": patient.pk, "payer": "Sunshine", "auth_number": "A1", "units_authorized": 5,
         "start_date": "2026-03-01", "end_date": "2026-06-01", "service_types": [ind.pk], "notes": "a\x07b"},
        format="json",
    )  # fmt: skip

    assert response.status_code == 400 and "notes" in response.json()
    assert not Authorization.objects.exists()


def test_user_names_refuse_control_characters(api_as, admin_user):
    response = api_as(admin_user).post(
        "/api/v1/users/",
        {"email": "new@clinic.test", "full_name": "New\x00User", "role": "staff", "password": "A-long-passphrase-42"},
        format="json",
    )

    assert response.status_code == 400 and "full_name" in response.json()


# --- JSON bodies that are not objects ----------------------------------------------------------------------


@pytest.mark.parametrize("body", ["[]", '"x"', "[[1]]", "1"])
def test_api_writes_refuse_json_that_is_not_an_object(api_as, api_client, admin_user, appointment, series, body):
    client = api_as(admin_user)
    calls = [
        client.post(f"/api/v1/appointment-series/{series.pk}/cancel/", body, content_type="application/json"),
        client.patch(f"/api/v1/appointments/{appointment.pk}/", body, content_type="application/json"),
        api_client.post("/api/v1/auth/logout/", body, content_type="application/json"),  # unauthenticated
    ]

    for response in calls:
        assert response.status_code == 400, response.content
        assert response.json() == {"detail": "The request body must be a JSON object."}
    series.refresh_from_db()
    assert series.cancelled_at is None


def test_logout_with_a_refresh_token_that_is_not_text_is_refused(api_client):
    response = api_client.post("/api/v1/auth/logout/", {"refresh": [1]}, format="json")

    assert 400 <= response.status_code < 500


# --- Users -----------------------------------------------------------------------------------------------------


def test_a_user_can_be_created_inactive_in_the_api(api_as, admin_user):
    response = api_as(admin_user).post(
        "/api/v1/users/",
        {"email": "later@clinic.test", "full_name": "Starts Later", "role": "staff", "is_active": False},
        format="json",
    )  # fmt: skip

    assert response.status_code == 201, response.content
    assert response.json()["is_active"] is False
    assert User.objects.get(email="later@clinic.test").is_active is False
    assert response.json()["invitation_status"] == "pending"  # sent (resent) once the account is activated


# --- Unknown filters (hardening item 8) ------------------------------------------------------------------------


def test_export_command_refuses_an_unknown_filter(admin_user, patient, capsys):
    with pytest.raises(CommandError, match="Unknown filter cty"):
        call_command("export", "--what", "patients", "--user", admin_user.email, "--filter", "cty=Miami")

    assert "Lopez" not in capsys.readouterr().out
    assert not AuditEvent.objects.filter(event="patients.patient.exported").exists()


@pytest.mark.parametrize("what", ["patients", "appointments", "authorizations"])
def test_export_page_refuses_an_unknown_filter(page_as, admin_user, appointment, what):
    response = page_as(admin_user).get(f"/exports/{what}.csv", {"cty": "Miami"})

    assert response.status_code == 400 and "Unknown filter cty" in response.content.decode()


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/patients/", "/api/v1/appointments/", "/api/v1/appointment-series/", "/api/v1/service-types/",
        "/api/v1/authorizations/", "/api/v1/audit-events/", "/api/v1/users/",
    ],
)  # fmt: skip
def test_api_lists_refuse_an_unknown_filter(api_as, admin_user, url):
    response = api_as(admin_user).get(url, {"cty": "Miami"})

    assert response.status_code == 400
    assert "Unknown filter cty" in str(response.json())


@pytest.mark.parametrize("url", ["/authorizations/", "/audit/", "/calendar/"])
def test_list_pages_refuse_an_unknown_filter(page_as, admin_user, url):
    response = page_as(admin_user).get(url, {"cty": "Miami"})

    assert response.status_code == 400
    assert "Unknown filter cty" in response.content.decode()
