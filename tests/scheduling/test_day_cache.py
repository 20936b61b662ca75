"""The day view's and the dashboard's cached rows (scheduling.day_cache): every write path shows in the next
page, each role sees its own rows, and the CSRF token on the page is always the requesting session's."""

import datetime
import re
import zoneinfo

import pytest
from django.conf import settings
from django.test import Client

from accounts.models import Role
from scheduling import day_cache, services
from scheduling.models import Appointment, ServiceType
from tests.factories import PatientFactory, UserFactory
from tests.scheduling.conftest import next_weekday

pytestmark = pytest.mark.django_db
Status = Appointment.Status


def book(actor, day, hour, minute=0, **kwargs) -> Appointment:
    return services.book_appointment(
        actor=actor, patient=kwargs.pop("patient", None) or PatientFactory(),
        service_type=ServiceType.objects.get(code="IND"), date=day, start_time=datetime.time(hour, minute), **kwargs,
    )  # fmt: skip


def row(html: str, appointment: Appointment) -> str:
    found = re.search(rf'<tr id="appointment-{appointment.pk}".*?</tr>', html, re.S)
    return found.group(0) if found else ""


@pytest.fixture
def staff(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.fixture
def day():
    return next_weekday(1)


@pytest.fixture
def booked(admin_user, day):
    return book(admin_user, day, 10, patient=PatientFactory(first_name="Maria", last_name="Lopez"))


def page(client, day: datetime.date) -> str:
    response = client.get(f"/calendar/{day}/")
    assert response.status_code == 200
    return response.content.decode()


def test_status_saved_from_the_day_view_shows_in_the_next_day_view(staff, day, booked):
    assert 'class="status-scheduled"' in row(page(staff, day), booked)
    response = staff.post(f"/appointments/{booked.pk}/status/", {"status": Status.CONFIRMED}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "Confirmed saved." in response.content.decode()
    assert 'class="status-confirmed"' in row(page(staff, day), booked)


def test_status_changed_through_the_api_shows_in_the_next_day_view(staff, api_client_for, staff_user, day, booked):
    page(staff, day)
    response = api_client_for(staff_user).patch(
        f"/api/v1/appointments/{booked.pk}/", {"status": Status.CONFIRMED}, format="json"
    )
    assert response.status_code == 200
    assert 'class="status-confirmed"' in row(page(staff, day), booked)


def test_a_move_to_another_day_leaves_the_first_day_and_reaches_the_other(staff, admin_user, day, booked):
    other = day + datetime.timedelta(days=1)
    page(staff, day), page(staff, other)
    fresh = Appointment.objects.get(pk=booked.pk)  # read from the database, as a request would
    services.update_appointment(actor=admin_user, appointment=fresh, changes={"date": other})
    assert row(page(staff, day), booked) == ""
    assert "Lopez, Maria" in row(page(staff, other), booked)


def test_saving_or_deleting_the_model_directly_shows_as_the_admin_and_shell_do(staff, day, booked):
    page(staff, day)
    appointment = Appointment.objects.get(pk=booked.pk)  # read fresh, as the admin's change form does
    appointment.start_time = datetime.time(14)
    appointment.save()
    assert "2:00 PM–" in row(page(staff, day), booked)
    appointment.status_history.all().delete()
    appointment.delete()
    assert row(page(staff, day), booked) == ""


def test_closing_the_day_shows_its_appointments_cancelled(staff, admin_user, day, booked):
    page(staff, day)
    services.add_closed_day(date=day, reason="Snow", by=admin_user, cancel_appointments=True)
    assert 'class="status-cancelled_by_clinic"' in row(page(staff, day), booked)


def test_a_new_booking_shows_in_the_next_day_view(staff, admin_user, day, booked):
    page(staff, day)
    added = book(admin_user, day, 11, patient=PatientFactory(last_name="Newcomer"))
    assert "Newcomer" in row(page(staff, day), added)


def test_renaming_the_patient_shows_on_every_cached_day(staff, day, booked):
    page(staff, day)
    patient = booked.patient
    patient.last_name = "Lopez-Garcia"
    patient.save()
    assert "Lopez-Garcia, Maria" in row(page(staff, day), booked)


def test_bulk_writes_show_once_the_loader_forgets_the_cached_rows(staff, day, booked):
    page(staff, day)
    Appointment.objects.filter(pk=booked.pk).update(status=Status.CONFIRMED)  # bypasses save() and signals
    day_cache.forget_all()  # what bulk loaders (demo data, benchmarks) do after such writes
    assert 'class="status-confirmed"' in row(page(staff, day), booked)


def test_read_only_sees_no_status_controls_where_staff_cached_the_day(client, staff, user_for_role, day, booked):
    assert 'class="status-select"' in row(page(staff, day), booked)
    reader = Client()
    reader.force_login(user_for_role(Role.READ_ONLY))
    html = page(reader, day)
    assert "Lopez, Maria" in row(html, booked)
    assert 'class="status-select"' not in html and "csrfmiddlewaretoken" not in row(html, booked)


def test_staff_do_not_see_deactivated_patients_rows_an_administrator_cached(staff, admin_user, day, booked):
    hidden = book(admin_user, day, 11, patient=PatientFactory(last_name="Gone"))
    hidden.patient.is_active = False
    hidden.patient.save()
    administrator = Client()
    administrator.force_login(admin_user)
    assert "Gone" in row(page(administrator, day), hidden)
    html = page(staff, day)
    assert row(html, hidden) == "" and "Lopez, Maria" in row(html, booked)
    assert "1 appointment of deactivated patients is not listed." in html


@pytest.fixture
def wednesday_1130(frozen_clinic_clock) -> datetime.date:
    """For tests that book today at set hours: the clock stands at Wednesday 2026-05-13 11:30 whatever moment
    the run starts at (CI moves it to other hours and DST mornings). Ask for it before signing in."""
    zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    frozen_clinic_clock.move_to(datetime.datetime(2026, 5, 13, 11, 30, tzinfo=zone))
    return datetime.date(2026, 5, 13)


def test_todays_status_options_follow_the_clinic_clock(wednesday_1130, frozen_clinic_clock, staff, admin_user):
    today = wednesday_1130
    soon = book(admin_user, today, 11, 45)
    before = row(page(staff, today), soon)
    assert '<option value="attended" disabled>' in before  # outcomes only once it has started
    frozen_clinic_clock.shift(datetime.timedelta(minutes=10))  # 11:40 (steps shorter than the idle sign-out)
    assert '<option value="attended" disabled>' in row(page(staff, today), soon)
    frozen_clinic_clock.shift(datetime.timedelta(minutes=6))  # 11:46: it has started
    after = row(page(staff, today), soon)
    assert '<option value="attended">' in after


def _token_for(html: str, appointment: Appointment) -> str:
    found = re.search(rf'name="csrfmiddlewaretoken" value="([^"]+)" form="status-form-{appointment.pk}"', html)
    assert found, "the page ties a CSRF input to each status form"
    return found.group(1)


def test_each_session_gets_its_own_csrf_token_with_cached_rows(staff_user, day, booked):
    first, second = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    first.force_login(staff_user)
    second.force_login(UserFactory(role=Role.STAFF, email="second-staff@clinic.test"))
    first_token = _token_for(page(first, day), booked)  # renders and caches the rows
    second_html = page(second, day)  # the rows from the cache
    assert "csrfmiddlewaretoken" not in row(second_html, booked)  # the cached fragment holds no token
    second_token = _token_for(second_html, booked)
    # The first session's token does not pass for the second: the page gave the second its own.
    refused = second.post(
        f"/appointments/{booked.pk}/status/", {"status": "confirmed", "csrfmiddlewaretoken": first_token}
    )
    assert refused.status_code == 403
    saved = second.post(
        f"/appointments/{booked.pk}/status/", {"status": "confirmed", "csrfmiddlewaretoken": second_token}
    )
    assert saved.status_code == 302
    booked.refresh_from_db()
    assert booked.status == Status.CONFIRMED
    assert re.search(r"hx-headers='\{&quot;X-CSRFToken&quot;|hx-headers='\{\"X-CSRFToken\"", second_html)


def test_dashboard_shows_a_status_saved_elsewhere(wednesday_1130, staff, admin_user):
    today = wednesday_1130
    later = book(admin_user, today, 15, patient=PatientFactory(last_name="Aftersoon"))
    html = staff.get("/").content.decode()
    assert f'id="status-form-{later.pk}"' in html and 'data-status="scheduled"' in html
    services.set_status(actor=admin_user, appointment=later, status=Status.CONFIRMED, reason="")
    html = staff.get("/").content.decode()
    assert 'data-status="confirmed"' in html
    assert _token_for(html, later)


@pytest.mark.parametrize(("asked", "shown"), [("2", "51–60 of 60"), ("0", "51–60 of 60"), ("x", "1–50 of 60")])
def test_cached_page_and_pager_agree_on_the_page(staff, day, asked, shown):
    from tests.scheduling.test_calendar_queries import add

    add(day, 60)
    page(staff, day)  # the first page, cached
    html = staff.get(f"/calendar/{day}/", {"page": asked}).content.decode()
    assert shown in html
    assert html.count('class="status-select"') == (10 if shown.startswith("51") else 50)


@pytest.fixture
def cache_down(settings):
    """Redis unreachable (a closed port): Spectrum runs degraded, not down (spectrum.outages)."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }


def test_without_the_cache_the_day_view_and_dashboard_render_fresh_and_statuses_save(staff, day, booked, cache_down):
    assert 'class="status-scheduled"' in row(page(staff, day), booked)
    assert staff.get("/").status_code == 200
    response = staff.post(f"/appointments/{booked.pk}/status/", {"status": Status.CONFIRMED}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "Confirmed saved." in response.content.decode()
    booked.refresh_from_db()
    assert booked.status == Status.CONFIRMED
    assert 'class="status-confirmed"' in row(page(staff, day), booked)


def test_a_closed_day_without_appointments_shows_its_notice_in_the_next_day_view(staff, admin_user, day):
    assert "Clinic closed" not in page(staff, day)  # the empty day is cached now
    services.add_closed_day(date=day, reason="Snow", by=admin_user, cancel_appointments=True)
    assert "Clinic closed: Snow" in page(staff, day)


def test_the_filter_forms_choices_follow_new_clinicians_and_renamed_services(staff, day):
    assert "Nadia Newhire" not in page(staff, day)  # the filter form is cached now
    UserFactory(role=Role.NURSE, full_name="Nadia Newhire")
    service = ServiceType.objects.get(code="IND")
    service.name = "Individual therapy (60)"
    service.save()
    html = page(staff, day)
    assert ">Nadia Newhire</option>" in html and "IND – Individual therapy (60)</option>" in html


def test_the_filter_form_keeps_the_chosen_clinician_in_the_month_and_the_day(staff, day):
    clinician = UserFactory(role=Role.NURSE, full_name="Carla Chosen")
    html = staff.get("/calendar/", {"month": f"{day:%Y-%m}", "clinician": clinician.pk}).content.decode()
    assert f'<option value="{clinician.pk}" selected>Carla Chosen</option>' in html
    assert f'name="month" value="{day:%Y-%m}"' in html
    html = staff.get(f"/calendar/{day}/", {"clinician": clinician.pk}).content.decode()
    assert f'<option value="{clinician.pk}" selected>Carla Chosen</option>' in html and 'name="month"' not in html
