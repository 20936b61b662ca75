import datetime

import pytest
from playwright.sync_api import expect

from accounts.models import Role
from authorizations.models import Authorization
from groups import services
from groups.models import GroupSession
from scheduling.models import Appointment, ServiceType
from tests.browser.axe import axe_violations
from tests.browser.conftest import sign_in
from tests.factories import PASSWORD, PatientFactory, UserFactory

# serialized_rollback: transactional tests flush the data migrations' groups and service types.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
D = datetime.date
T = datetime.time


@pytest.fixture
def psr_am(db):
    """Today's (Wednesday 2026-05-13) PSR AM session, 9:00–12:00, four AM patients; the first authorized."""
    admin = UserFactory(role=Role.ADMIN, email="admin@clinic.test")
    nurse = UserFactory(role=Role.NURSE, full_name="Nell Nurse", email="nurse@clinic.test")
    psr = ServiceType.objects.get(code="PSR")
    group = services.create_group(
        actor=admin,
        data={
            "name": "PSR AM", "service_type": psr, "weekdays": ["mon", "tue", "wed", "thu", "fri"],
            "start_time": T(9), "duration_minutes": 180, "clinician": nurse, "program_session": "AM",
            "location": "Group room 1", "start_date": D(2026, 5, 11), "end_date": D(2026, 5, 29),
        },
    )  # fmt: skip
    patients = [
        PatientFactory(first_name=first, last_name=last, session="AM")
        for first, last in (("Ana", "Alvarez"), ("Ben", "Brown"), ("Cora", "Cruz"), ("Dan", "Diaz"))
    ]
    authorization = Authorization.objects.create(
        patient=patients[0], payer="Sunshine Health", auth_number="PSR-1", units_authorized=100,
        start_date=D(2026, 5, 1), end_date=D(2026, 7, 31), approval_date=D(2026, 5, 1),
    )  # fmt: skip
    authorization.service_types.set([psr])
    for patient in patients:
        services.enroll_patient(actor=admin, group=group, patient=patient, start_date=D(2026, 5, 13))
    return {"nurse": nurse, "patients": patients, "session": group.sessions.get(date=D(2026, 5, 13))}


def row(page, last_name):
    return page.locator(".roster-row", has_text=last_name)


def test_nurse_marks_the_roster_signs_and_sees_units_on_the_sheet_and_authorization(
    browser, live_server, screenshot, psr_am
):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    sign_in(page, psr_am["nurse"].email, PASSWORD)
    page.get_by_role("link", name="Groups", exact=True).click()
    page.get_by_role("link", name="PSR AM 9:00 AM").click()
    expect(page.get_by_test_id("capacity")).to_have_text("4 of 16")
    expect(row(page, "Alvarez")).to_contain_text("100 units left")

    page.get_by_role("button", name="Mark all present").click()
    expect(page.locator("#roster-summary")).to_contain_text("4 marked present (not saved yet)")
    row(page, "Brown").get_by_label("Absent").check()
    row(page, "Cruz").get_by_label("In").fill("09:40")
    row(page, "Alvarez").get_by_label("Progress note").fill("Engaged; led the check-in.")
    page.get_by_label("Group note").fill("Coping skills: grounding exercises.")
    assert not Appointment.objects.filter(status="attended").exists()  # nothing saved before the button
    page.get_by_role("button", name="Save attendance").click()
    expect(page.locator("#roster-summary")).to_have_text("Saved: 4 attendees updated.")
    assert page.locator("#messages .message").count() == 0  # the one summary sits above the roster
    violations = axe_violations(page)
    assert violations == [], violations
    screenshot(page, "group-roster-marked")

    page.get_by_role("button", name="Sign attendance").click()
    expect(page.locator("#roster-summary")).to_contain_text("Signed.")
    session = GroupSession.objects.get(pk=psr_am["session"].pk)
    assert session.signed_by == psr_am["nurse"] and session.status == "held"
    statuses = dict(session.attendees.values_list("patient__last_name", "status"))
    assert statuses == {"Alvarez": "attended", "Brown": "no_show", "Cruz": "attended", "Diaz": "attended"}
    assert session.attendees.get(patient__last_name="Cruz").units_attended == 9

    page.get_by_role("link", name="Weekly sheet").click()
    sheet = page.locator("table.sheet")
    expect(sheet.locator("tr", has_text="Alvarez")).to_contain_text("P 12")
    expect(sheet.locator("tr", has_text="Cruz")).to_contain_text("P 9")
    expect(sheet.locator("tfoot")).to_contain_text("3 / 33")
    violations = axe_violations(page)
    assert violations == [], violations
    screenshot(page, "group-weekly-sheet")

    page.goto(f"/patients/{psr_am['patients'][0].pk}/")
    expect(page.get_by_test_id("patient-authorizations")).to_contain_text("12 used")
    context.close()


@pytest.mark.parametrize("width", [390, 768])
def test_roster_fits_phones_and_tablets_and_arrows_save_nothing(browser, live_server, screenshot, psr_am, width):
    context = browser.new_context(base_url=live_server.url, viewport={"width": width, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    sign_in(page, psr_am["nurse"].email, PASSWORD)
    page.goto(f"/group-sessions/{psr_am['session'].pk}/")
    expect(page.get_by_test_id("capacity")).to_have_text("4 of 16")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    present = row(page, "Alvarez").get_by_label("Present")
    box = present.locator("xpath=..").bounding_box()
    assert box["height"] >= 44  # a touch target
    present.focus()
    page.keyboard.press("Space")
    page.keyboard.press("ArrowRight")
    expect(row(page, "Alvarez").get_by_label("Absent")).to_be_checked()
    page.wait_for_timeout(300)
    assert not Appointment.objects.exclude(status="scheduled").exists()  # arrows choose; only Save saves
    screenshot(page, f"group-roster-{width}")
    context.close()


def test_day_and_week_views_show_the_session_as_one_block_that_opens_the_roster(
    browser, live_server, screenshot, psr_am
):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    sign_in(page, psr_am["nurse"].email, PASSWORD)
    page.goto("/calendar/2026-05-13/")
    block = page.locator(".group-block")
    expect(block).to_have_count(1)
    expect(block).to_contain_text("PSR AM · 4 of 16")
    expect(page.locator(".status-select")).to_have_count(0)  # no row per attendee
    expect(page.get_by_text("Alvarez")).to_have_count(0)
    violations = axe_violations(page)
    assert violations == [], violations
    screenshot(page, "day-view-group-block")

    page.goto(f"/calendar/week/?clinician={psr_am['nurse'].pk}&date=2026-05-13")
    blocks = page.locator("td.week-group-session")
    expect(blocks).to_have_count(5)  # one a day; the attendees are enrolled from Wednesday
    expect(blocks.nth(0)).to_contain_text("PSR AM · 0 of 16")
    expect(blocks.nth(2)).to_contain_text("PSR AM · 4 of 16")
    expect(blocks.first).to_have_attribute("rowspan", "12")
    violations = axe_violations(page)
    assert violations == [], violations
    screenshot(page, "week-view-group-blocks")
    page.get_by_role("link", name="PSR AM · 4 of 16").first.click()
    expect(page).to_have_url(f"{live_server.url}/group-sessions/{psr_am['session'].pk}/")
    expect(row(page, "Alvarez")).to_contain_text("Over-booked")  # 156 units booked of 100
    context.close()
