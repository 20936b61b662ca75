import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import Role
from scheduling import services
from scheduling.models import Appointment, ServiceType
from tests.browser.conftest import preview_weekly_series, sign_in
from tests.factories import PASSWORD, PatientFactory, UserFactory

# serialized_rollback: a transactional test flushes the tables, and with them the role groups and
# service types that data migrations created; this restores them for the next test.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_staff_books_a_weekly_series_and_marks_attendance_inline(page, screenshot):
    staff = UserFactory(role=Role.STAFF, full_name="Sam Desk")
    UserFactory(role=Role.NURSE, full_name="Nina Nurse")  # a clinician to book with
    patient = PatientFactory(first_name="Maria", last_name="Lopez")
    other = PatientFactory(first_name="Omar", last_name="Khan")
    # A Monday at least a week ago, so its appointments have started and attendance can be marked.
    today = timezone.localdate()
    monday = today - datetime.timedelta(days=today.weekday() + 7)
    ind = ServiceType.objects.get(code="IND")
    services.book_appointment(
        actor=staff, patient=other, service_type=ind, date=monday, start_time=datetime.time(14, 0)
    )

    sign_in(page, staff.email, PASSWORD)
    page.goto(f"/calendar/?month={monday:%Y-%m}")
    day_cell = page.locator(f"td[data-date='{monday:%Y-%m-%d}']")
    # A past day whose attendance is not marked is told apart from an upcoming day.
    expect(day_cell).to_have_attribute("data-state", "unmarked")

    dialog = preview_weekly_series(
        page, search="lope", patient="Lopez, Maria", day=monday, time="9:00 AM",
        service="PSR – Psychosocial Rehabilitation", weekdays=["Mon", "Wed"], count=6, clinician="Nina Nurse",
    )  # fmt: skip
    preview = dialog.get_by_test_id("series-preview")
    expect(preview).to_contain_text("6 dates")
    expect(preview.get_by_role("listitem")).to_have_count(6)
    screenshot(page, "calendar-series-preview")
    dialog.get_by_role("button", name="Book").click()
    # PSR needs an authorization Maria has not: the warning comes before saving, and booking needs a tick.
    warnings = dialog.get_by_test_id("booking-warnings")
    expect(warnings).to_contain_text("No active authorization covers PSR on 6 dates")
    assert not Appointment.objects.filter(patient=patient).exists()
    screenshot(page, "calendar-booking-warning-step")
    dialog.get_by_label("I have read the authorization warnings above: book anyway").check()
    dialog.get_by_role("button", name="Book").click()

    expect(page.locator(".message-success")).to_contain_text("Booked 6 appointments")
    expect(page).to_have_url(re.compile(rf"/calendar/{monday:%Y-%m-%d}/$"))
    assert Appointment.objects.filter(patient=patient, series__isnull=False).count() == 6
    assert {a.date.weekday() for a in Appointment.objects.filter(patient=patient)} == {0, 2}

    rows = page.locator("table.day-table tbody tr")
    expect(rows).to_have_count(2)
    page.get_by_label(re.compile("Status of M. Lopez")).select_option("attended")
    page.get_by_role("button", name="Save status of M. Lopez").click()
    expect(page.locator("#status-live")).to_contain_text("M. Lopez")
    expect(page.locator("#status-live")).to_contain_text("Attended saved.")
    page.get_by_label(re.compile("Status of O. Khan")).select_option("no_show")
    page.get_by_role("button", name="Save status of O. Khan").click()
    expect(page.locator("#status-live")).to_contain_text("O. Khan")
    expect(page.locator("tr.status-no_show")).to_have_count(1)
    expect(page.locator("tr.status-attended")).to_have_count(1)
    screenshot(page, "calendar-day")
    statuses = dict(Appointment.objects.filter(date=monday).values_list("patient__last_name", "status"))
    assert statuses == {"Lopez": "attended", "Khan": "no_show"}

    page.goto(f"/calendar/?month={monday:%Y-%m}")
    expect(day_cell).to_have_attribute("data-state", "no-show")
    expect(day_cell).to_contain_text("↻")
    screenshot(page, "calendar-month")
