import datetime

import pytest
from django.urls import reverse

from accounts.models import Role
from scheduling import day_cache, services
from scheduling.models import Appointment, AppointmentStatusChange
from tests.factories import PatientFactory
from tests.scheduling.conftest import next_weekday, past_weekday

pytestmark = pytest.mark.django_db
ALL_ROLES = [Role.ADMIN, Role.DOCTOR, Role.NURSE, Role.STAFF, Role.READ_ONLY]


@pytest.fixture
def login(client, user_for_role):
    def as_role(role):
        client.force_login(user_for_role(role))
        return client

    return as_role


def make(actor, service, day, hour, **kwargs):
    return services.book_appointment(
        actor=actor, patient=kwargs.pop("patient", None) or PatientFactory(), service_type=service, date=day,
        start_time=datetime.time(hour), **kwargs,
    )  # fmt: skip


def test_anonymous_is_sent_to_login(client):
    for url in ("/calendar/", "/calendar/2025-07-01/", "/calendar/week/", "/appointments/new/"):
        assert client.get(url)["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("role", ALL_ROLES)
def test_every_role_sees_the_calendar_bookers_get_the_button(login, role):
    html = login(role).get("/calendar/?month=2025-07").content.decode()
    assert "July 2025" in html and '<th scope="col">Sun</th>' in html
    assert ("Add appointment" in html) == (role != Role.READ_ONLY)


def test_month_view_counts_colours_and_recurring_marker(login, staff_user, ind):
    day = past_weekday(1, weeks_back=1)
    attended = make(staff_user, ind, day, 9)
    services.set_status(actor=staff_user, appointment=attended, status="attended")
    other_day = day + datetime.timedelta(days=1)
    no_show = make(staff_user, ind, other_day, 9)
    make(staff_user, ind, other_day, 10)
    services.set_status(actor=staff_user, appointment=no_show, status="no_show")
    patient = PatientFactory()
    services.create_series(
        actor=staff_user,
        request=services.SeriesRequest(
            patient=patient, service_type=ind, start_date=day + datetime.timedelta(days=2), start_time=datetime.time(12),
            frequency="weekly", weekdays=("thu",), count=1,
        ),
    )  # fmt: skip
    response = login(Role.NURSE).get("/calendar/", {"month": f"{day:%Y-%m}"})
    days = {d["date"]: d for week in response.context["weeks"] for d in week if d}
    assert days[day]["state"] == "attended" and days[day]["total"] == 1
    assert days[other_day]["state"] == "no-show" and days[other_day]["total"] == 2
    series_day = day + datetime.timedelta(days=2)
    if series_day.month == day.month:
        assert days[series_day]["recurring"] == 1
        assert 'title="Recurring appointments"' in response.content.decode()


def test_month_and_day_views_run_constant_queries(login, staff_user, ind, django_assert_max_num_queries):
    client = login(Role.STAFF)
    day = next_weekday(1)
    make(staff_user, ind, day, 16)
    client.get("/calendar/", {"month": f"{day:%Y-%m}"})
    client.get(f"/calendar/{day}/")
    with django_assert_max_num_queries(20) as month_few:
        client.get("/calendar/", {"month": f"{day:%Y-%m}"})
    day_cache.days_changed([day])  # the day's rows read and rendered again, as after the writes below
    with django_assert_max_num_queries(20) as day_few:
        client.get(f"/calendar/{day}/")
    for hour in range(9, 16):
        make(staff_user, ind, day, hour)
    with django_assert_max_num_queries(len(month_few.captured_queries)):
        client.get("/calendar/", {"month": f"{day:%Y-%m}"})
    with django_assert_max_num_queries(len(day_few.captured_queries)):
        html = client.get(f"/calendar/{day}/").content.decode()
    assert html.count('class="status-select"') == 8


def test_day_view_lists_in_time_order_with_details(login, staff_user, ind, clinician):
    day = next_weekday(2)
    make(staff_user, ind, day, 14, patient=PatientFactory(last_name="Later"))
    make(staff_user, ind, day, 9, patient=PatientFactory(last_name="Early"), clinician=clinician)
    html = login(Role.READ_ONLY).get(f"/calendar/{day}/").content.decode()
    assert html.index("Early") < html.index("Later")
    assert "Nina Nurse" in html and "60 min" in html and "9:00 AM–10:00 AM" in html
    assert 'class="status-select"' not in html  # read only: no inline editing


def test_unknown_day_is_404(login):
    assert login(Role.STAFF).get("/calendar/2025-02-30/").status_code == 404


def test_inline_status_change_returns_the_control_and_one_confirmation_naming_the_patient(login, staff_user, ind):
    appointment = make(staff_user, ind, past_weekday(1, weeks_back=2), 10)
    patient = appointment.patient
    client = login(Role.STAFF)
    url = reverse("scheduling:appointment-status", args=[appointment.pk])
    assert client.get(url).status_code == 405
    response = client.post(url, {"status": "no_show"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-status="no_show"' in html and "<html" not in html
    # The confirmation replaces the page's one live region (out of band), naming the patient; no header.
    assert html.count('id="status-live"') == 1 and 'hx-swap-oob="true"' in html
    assert (
        f"{patient.first_name[0]}. {patient.last_name} ({patient.patient_number}) at 10:00 AM: No-show saved." in html
    )
    assert "HX-Trigger" not in response
    appointment.refresh_from_db()
    assert appointment.status == "no_show"


def test_inline_status_error_is_shown_in_the_row(login, staff_user, ind):
    appointment = make(staff_user, ind, next_weekday(1), 10)
    response = login(Role.STAFF).post(
        reverse("scheduling:appointment-status", args=[appointment.pk]),
        {"status": "attended"},
        headers={"HX-Request": "true"},
    )
    assert "can only be recorded once the appointment has started" in response.content.decode()
    appointment.refresh_from_db()
    assert appointment.status == "scheduled"


def test_read_only_cannot_change_status(login, staff_user, ind):
    appointment = make(staff_user, ind, past_weekday(1, weeks_back=2), 10)
    assert (
        login(Role.READ_ONLY)
        .post(reverse("scheduling:appointment-status", args=[appointment.pk]), {"status": "attended"})
        .status_code
        == 403
    )


def test_booking_form_shows_field_errors_and_conflicts(login, staff_user, patient, ind):
    client = login(Role.STAFF)
    day = next_weekday(1)
    data = {
        "patient": patient.pk, "service_type": ind.pk, "date": day.isoformat(), "start_time": "10:00",
        "acknowledge_warnings": "on",  # IND needs an authorization the patient has not: warned, then booked
    }  # fmt: skip
    response = client.post("/appointments/new/", {**data, "start_time": "07:00"}, headers={"HX-Request": "true"})
    assert "Select a valid choice" in response.content.decode()
    response = client.post("/appointments/new/", data, headers={"HX-Request": "true"})
    assert response.status_code == 200 and response["HX-Redirect"] == f"/calendar/{day}/"
    response = client.post("/appointments/new/", data, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert "The patient already has appointment" in html and 'name="override_reason"' in html
    assert Appointment.objects.count() == 1


def test_series_preview_fragment(login, patient, ind):
    data = {
        "patient": patient.pk, "service_type": ind.pk, "date": next_weekday(0).isoformat(), "start_time": "10:00",
        "frequency": "weekly", "weekdays": ["mon", "wed"], "count": "4", "interval": "1",
    }  # fmt: skip
    html = login(Role.STAFF).post("/appointments/preview/", data).content.decode()
    assert "4 dates" in html and html.count('name="skip_dates"') == 4
    html = login(Role.STAFF).post("/appointments/preview/", {**data, "count": "", "weekdays": []}).content.decode()
    assert "alert-error" in html


def test_booking_without_javascript_is_a_page(login, patient, ind):
    client = login(Role.STAFF)
    assert "Add appointment" in client.get("/appointments/new/").content.decode()
    response = client.post(
        "/appointments/new/",
        {
            "patient": patient.pk, "service_type": ind.pk, "date": next_weekday(1).isoformat(), "start_time": "10:00",
            "acknowledge_warnings": "on",
        },
    )  # fmt: skip
    assert response.status_code == 302
    assert login(Role.READ_ONLY).get("/appointments/new/").status_code == 403


def test_patient_picker_finds_active_patients(login):
    PatientFactory(first_name="Maria", last_name="Lopez")
    PatientFactory(first_name="Marta", last_name="Lopes", is_active=False)
    html = login(Role.STAFF).get("/appointments/patients/", {"q": "lop"}).content.decode()
    assert "Lopez, Maria" in html and "Lopes" not in html
    assert login(Role.READ_ONLY).get("/appointments/patients/", {"q": "lop"}).status_code == 403


def test_edit_page_with_scope_and_history(login, staff_user, patient, ind):
    series = services.create_series(
        actor=staff_user,
        request=services.SeriesRequest(
            patient=patient, service_type=ind, start_date=next_weekday(0), start_time=datetime.time(10),
            frequency="weekly", weekdays=("mon",), count=3,
        ),
    )  # fmt: skip
    first = series.occurrences.order_by("date").first()
    client = login(Role.NURSE)
    url = reverse("scheduling:appointment-edit", args=[first.pk])
    html = client.get(url).content.decode()
    assert "This and the following appointments" in html and "Status history" in html
    data = {
        "service_type": ind.pk,
        "date": first.date.isoformat(),
        "start_time": "11:00",
        "duration_minutes": 60,
        "scope": "all",
    }
    assert client.post(url, data).status_code == 302
    assert set(series.occurrences.values_list("start_time", flat=True)) == {datetime.time(11)}
    assert login(Role.READ_ONLY).get(url).status_code == 403


def test_cancel_series_page_action(login, staff_user, patient, ind):
    series = services.create_series(
        actor=staff_user,
        request=services.SeriesRequest(
            patient=patient, service_type=ind, start_date=next_weekday(0), start_time=datetime.time(10),
            frequency="weekly", weekdays=("mon",), count=3,
        ),
    )  # fmt: skip
    client = login(Role.STAFF)
    url = reverse("scheduling:series-cancel", args=[series.pk])
    # The confirmation says how many will be cancelled and asks for a reason; nothing changes yet.
    html = client.get(url).content.decode()
    assert "3 future appointments will be cancelled." in html and "Cancel 3 appointments" in html
    assert 'name="reason"' in html and 'name="expected_count" value="3"' in html
    response = client.post(url, {"by": "patient", "expected_count": "3"})
    assert response.status_code == 200 and "This field is required." in response.content.decode()
    assert set(series.occurrences.values_list("status", flat=True)) == {"scheduled"}
    # Told 2, but there are 3: asked again, nothing cancelled.
    response = client.post(url, {"by": "patient", "reason": "Moved away", "expected_count": "2"})
    assert "The series changed while you were looking" in response.content.decode()
    assert set(series.occurrences.values_list("status", flat=True)) == {"scheduled"}
    response = client.post(url, {"by": "patient", "reason": "Moved away", "expected_count": "3"}, follow=True)
    html = response.content.decode()
    assert "Series cancelled: 3 future appointments cancelled." in html
    assert set(series.occurrences.values_list("status", flat=True)) == {"cancelled_by_patient"}
    assert set(
        AppointmentStatusChange.objects.filter(
            appointment__series=series, to_status="cancelled_by_patient"
        ).values_list("reason", flat=True)
    ) == {"Moved away"}
    # The patient page shows them as cancelled, struck through, and never among "Upcoming".
    upcoming = html.split("<h3>Upcoming</h3>")[1].split("<h3>")[0]
    assert "None booked." in upcoming
    cancelled = html.split('data-testid="cancelled-appointments"')[1].split("</ul>")[0]
    assert cancelled.count("<s>") == 3 and "Cancelled by patient" in cancelled


def test_week_view_shows_the_clinicians_slots(login, staff_user, ind, clinician):
    day = next_weekday(1)
    make(staff_user, ind, day, 10, patient=PatientFactory(last_name="Weekly"), clinician=clinician)
    html = (
        login(Role.NURSE).get("/calendar/week/", {"clinician": clinician.pk, "date": day.isoformat()}).content.decode()
    )
    assert "Weekly" in html and "Nina Nurse" in html


def test_dashboard_shows_today_and_unmarked(login, staff_user, ind):
    past = make(staff_user, ind, past_weekday(2, weeks_back=1), 10, patient=PatientFactory(last_name="Unmarked"))
    html = login(Role.STAFF).get("/").content.decode()
    assert "Attendance to record" in html and "Unmarked" in html
    services.set_status(actor=staff_user, appointment=past, status="attended")
    assert "Every past appointment is marked." in login(Role.STAFF).get("/").content.decode()


def test_patient_page_shows_appointments_and_attendance_rate(login, staff_user, patient, ind):
    for weeks_back, status in [(1, "attended"), (2, "attended"), (3, "no_show"), (4, "late_cancel")]:
        appointment = make(staff_user, ind, past_weekday(1, weeks_back=weeks_back), 10, patient=patient)
        services.set_status(actor=staff_user, appointment=appointment, status=status)
    make(staff_user, ind, next_weekday(1), 10, patient=patient)
    html = login(Role.STAFF).get(patient.get_absolute_url()).content.decode()
    assert 'data-testid="attendance-rate">50%' in html
    assert "Upcoming" in html and "No-show" in html


def test_admins_can_download_the_day(login, staff_user, ind):
    day = next_weekday(1)
    make(staff_user, ind, day, 10, patient=PatientFactory(last_name="Exported"))
    html = login(Role.ADMIN).get(f"/calendar/{day}/").content.decode()
    assert f"/exports/appointments.csv?date_from={day}&amp;date_to={day}" in html
    assert "Download CSV" not in login(Role.STAFF).get(f"/calendar/{day}/").content.decode()
    download = login(Role.ADMIN).get(f"/exports/appointments.csv?date_from={day}&date_to={day}")
    csv_text = b"".join(download.streaming_content).decode()  # streamed
    assert len(csv_text.strip().splitlines()) == 2 and str(day) in csv_text
