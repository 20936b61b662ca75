import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import Role
from authorizations.models import Authorization
from tests.browser.conftest import preview_weekly_series, sign_in
from tests.factories import PASSWORD, PatientFactory, UserFactory

# serialized_rollback: transactional tests flush the data migrations' groups and service types.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_doctor_authorizes_ten_units_and_staff_sees_over_use_in_series_preview(browser, live_server, screenshot):
    doctor = UserFactory(role=Role.DOCTOR, full_name="Dr. Dana Reyes")
    staff = UserFactory(role=Role.STAFF, full_name="Sam Desk")
    patient = PatientFactory(first_name="Maria", last_name="Lopez")
    today = timezone.localdate()
    monday = today + datetime.timedelta(days=7 - today.weekday())

    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    sign_in(page, doctor.email, PASSWORD)
    page.goto(f"/patients/{patient.pk}/")
    page.get_by_role("link", name="Add authorization").click()
    page.get_by_label("Payer").fill("Sunshine Health")
    page.get_by_label("Authorization number").fill("SH-2026-001")
    page.get_by_label("Units authorized").fill("10")
    page.get_by_label("IND – Individual Therapy").check()
    page.get_by_label("Start date").fill(f"{today:%Y-%m-%d}")
    page.get_by_label("End date").fill(f"{today + datetime.timedelta(days=120):%Y-%m-%d}")
    page.get_by_label("Approval date").fill(f"{today:%Y-%m-%d}")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".message-success")).to_contain_text("Authorization Sunshine Health #SH-2026-001 recorded.")
    expect(page.get_by_test_id("patient-authorizations")).to_contain_text("10 remaining of 10")
    screenshot(page, "authorization-on-patient")
    assert Authorization.objects.get().units_authorized == 10
    context.close()

    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    sign_in(page, staff.email, PASSWORD)
    page.goto(f"/calendar/?month={monday:%Y-%m}")
    dialog = preview_weekly_series(
        page, search="lopez", patient="Lopez, Maria", day=monday, time="10:00 AM",
        service="IND – Individual Therapy", weekdays=["Mon", "Thu"], count=12,
    )  # fmt: skip
    preview = dialog.get_by_test_id("series-preview")
    expect(preview).to_contain_text("12 dates")
    warnings = preview.get_by_test_id("authorization-warning")
    expect(warnings).to_have_count(2)
    expect(warnings.first).to_contain_text("would be over-used: 11 units booked or used of 10 authorized")
    screenshot(page, "series-preview-over-use")
    context.close()
