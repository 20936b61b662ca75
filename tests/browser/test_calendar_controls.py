"""The day view's status controls by keyboard, the day view on a tablet and a phone, and axe on the calendar."""

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import Role
from scheduling import services
from scheduling.models import Appointment, ServiceType
from tests.browser.axe import axe_violations
from tests.browser.conftest import sign_in
from tests.factories import PASSWORD, PatientFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def _today_with_appointments(staff, count: int = 6) -> list[Appointment]:
    """Today's morning (already started at the clinic's test time, 11:30): PSR and individual visits."""
    nurse = UserFactory(role=Role.NURSE, full_name="Nina Nurse-Hernandez")
    psr = ServiceType.objects.get(code="PSR")
    ind = ServiceType.objects.get(code="IND")
    today = timezone.localdate()
    made = []
    names = [("Ryan", "Alvarez-Montgomery"), ("Ryan", "Baker"), ("Maria", "Lopez"), ("Omar", "Khan")]
    for index in range(count):
        first, last = names[index % len(names)]
        patient = PatientFactory(first_name=first, last_name=f"{last}{'' if index < len(names) else index}")
        service, hour = (psr, 9) if index % 2 == 0 else (ind, (10, 11, 9)[index // 2 % 3])
        made.append(
            services.book_appointment(
                actor=staff,
                patient=patient,
                service_type=service,
                date=today,
                start_time=datetime.time(hour, 0),
                clinician=nurse if service == ind else None,
            )  # fmt: skip
        )
    return made


def _tab_to(page, element_id: str, limit: int = 80) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement && document.activeElement.id") == element_id:
            return
    raise AssertionError(f"Tab never reached #{element_id}")


def test_front_desk_changes_a_status_by_keyboard_and_nothing_is_saved_before_enter(page, screenshot):
    staff = UserFactory(role=Role.STAFF, full_name="Sam Desk")
    appointments = _today_with_appointments(staff, count=2)
    target = appointments[0]  # Ryan Alvarez-Montgomery, PSR at 9:00
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url) if "/status/" in request.url else None)

    sign_in(page, staff.email, PASSWORD)
    page.goto(f"/calendar/{timezone.localdate():%Y-%m-%d}/")
    _tab_to(page, f"status-{target.pk}")
    select = page.locator(f"#status-{target.pk}")
    # Arrow keys move the choice: the control shows it is unsaved, and nothing is sent or saved.
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    expect(select).to_have_value("attended")
    expect(page.locator(".status-form.is-dirty")).to_have_count(1)
    page.wait_for_timeout(500)
    assert requests == []
    target.refresh_from_db()
    assert target.status == Appointment.Status.SCHEDULED
    screenshot(page, "day-status-chosen-not-saved")

    page.keyboard.press("Enter")
    live = page.locator("#status-live")
    expect(live).to_contain_text(f"R. Alvarez-Montgomery ({target.patient.patient_number}) at 9:00 AM: Attended saved.")
    expect(page.locator(f"#appointment-{target.pk}")).to_have_class(re.compile(r"\bstatus-attended\b"))
    # Focus stays on the control just saved; one confirmation, not a pile of messages.
    assert page.evaluate("() => document.activeElement.id") == f"status-{target.pk}"
    expect(page.locator("#status-live")).to_have_count(1)
    expect(page.locator(".message")).to_have_count(0)
    target.refresh_from_db()
    assert target.status == Appointment.Status.ATTENDED
    assert len(requests) == 1
    screenshot(page, "day-status-saved")

    # The Save button is the other explicit choice, reached by Tab and pressed with the keyboard.
    other = appointments[1]
    _tab_to(page, f"status-{other.pk}")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Tab")
    page.wait_for_timeout(300)
    other.refresh_from_db()
    assert other.status == Appointment.Status.SCHEDULED
    page.keyboard.press("Enter")
    expect(live).to_contain_text(f"R. Baker ({other.patient.patient_number}) at 10:00 AM: Attended saved.")
    other.refresh_from_db()
    assert other.status == Appointment.Status.ATTENDED


@pytest.mark.parametrize(("width", "height"), [(768, 1024), (390, 844)])
def test_day_view_fits_a_tablet_and_a_phone_without_sideways_scroll(browser, live_server, screenshot, width, height):
    staff = UserFactory(role=Role.STAFF, full_name="Sam Desk")
    _today_with_appointments(staff, count=6)
    context = browser.new_context(base_url=live_server.url, viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(10_000)
    sign_in(page, staff.email, PASSWORD)
    page.goto(f"/calendar/{timezone.localdate():%Y-%m-%d}/")
    expect(page.locator(".status-select")).to_have_count(6)
    overflow = page.evaluate(
        """() => {
          const doc = document.documentElement;
          const wide = [...document.querySelectorAll('.table-wrap, .day-table, main')]
            .filter(el => el.scrollWidth > el.clientWidth + 1).map(el => el.className || el.tagName);
          return {page: doc.scrollWidth - doc.clientWidth, wide};
        }"""
    )
    assert overflow == {"page": 0, "wide": []}
    # Every status control and its Save button is whole on screen (not cut off on the right).
    for box in page.locator(".status-select, .status-save").evaluate_all(
        "els => els.map(el => { const r = el.getBoundingClientRect(); return [r.left, r.right, r.width]; })"
    ):
        left, right, box_width = box
        assert left >= 0 and right <= width and box_width >= 44
    screenshot(page, f"day-view-{width}px")
    context.close()


def test_axe_finds_no_violations_on_the_day_and_week_views(page, axe_source, screenshot):
    staff = UserFactory(role=Role.STAFF, full_name="Sam Desk")
    _today_with_appointments(staff, count=4)
    nurse = UserFactory._meta.model.objects.get(full_name="Nina Nurse-Hernandez")
    sign_in(page, staff.email, PASSWORD)
    page.goto(f"/calendar/{timezone.localdate():%Y-%m-%d}/")
    expect(page.locator(".status-select")).to_have_count(4)
    violations = axe_violations(page)
    assert violations == [], violations
    page.goto(f"/calendar/week/?clinician={nurse.pk}")
    expect(page.locator(".week-appointment")).to_have_count(2)
    violations = axe_violations(page)
    assert violations == [], violations
    screenshot(page, "week-view")
