"""A patient opens the link from the reminder the SMTP server received, confirms, and the front desk sees
the appointment confirmed in the day view."""

import datetime
import re

from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import Role
from consents.models import Consent
from scheduling.models import Appointment, ServiceType
from tests.browser.conftest import sign_in
from tests.factories import PASSWORD, PatientFactory, UserFactory


def test_patient_confirms_from_the_emailed_link_and_the_day_view_shows_it(
    page, live_server, smtp_server, settings, screenshot
):
    settings.SITE_URL = live_server.url
    settings.CLINIC_NAME, settings.CLINIC_PHONE = "Harbor Clinic", "(305) 555-0100"
    staff = UserFactory(role=Role.STAFF, full_name="Sam Desk")
    patient = PatientFactory(
        first_name="Maria", last_name="Lopez", email="maria@example.test", reminder_channel="email"
    )
    Consent.objects.create(patient=patient, kind="reminders_email", status="given", recorded_on=timezone.localdate())
    friday = timezone.localdate() + datetime.timedelta(days=2)  # the clinic's test clock: Wednesday 11:30
    appointment = Appointment.objects.create(
        patient=patient, service_type=ServiceType.objects.get(code="IND"), date=friday,
        start_time=datetime.time(10, 0), duration_minutes=60,
    )  # fmt: skip

    call_command("send_reminders")

    [envelope] = smtp_server.envelopes
    assert envelope.rcpt_tos == ["maria@example.test"]
    link = re.search(r"(http://\S+/r/\S+/)", smtp_server.bodies()[0]).group(1)
    page.goto(link)
    expect(page.get_by_test_id("link-when")).to_contain_text(
        f"{friday:%A}, {friday:%B} {friday.day}, {friday.year} at 10:00 AM"
    )
    expect(page.get_by_test_id("link-page")).not_to_contain_text("Individual Therapy")
    screenshot(page, "reminder-link")
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_test_id("link-done")).to_contain_text("your appointment is confirmed")
    screenshot(page, "reminder-link-confirmed")
    appointment.refresh_from_db()
    assert appointment.status == "confirmed"

    sign_in(page, staff.email, PASSWORD)
    page.goto(f"/calendar/{friday:%Y-%m-%d}/")
    expect(page.locator("tr.status-confirmed")).to_have_count(1)
    expect(page.get_by_label(re.compile(r"Status of M\. Lopez"))).to_have_value("confirmed")
    screenshot(page, "reminder-day-view-confirmed")
