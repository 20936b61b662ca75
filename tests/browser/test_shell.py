import re

import pytest
from playwright.sync_api import expect

from accounts.models import Role
from tests.browser.conftest import sign_in
from tests.factories import PASSWORD, UserFactory

# serialized_rollback: a transactional test flushes the tables, and with them the role groups that
# data migrations created; this restores them for the next test.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

NAVIGATION = {
    Role.ADMIN: ["Dashboard", "Patients", "Calendar", "Groups", "Authorizations", "Audit", "Users", "Admin"],
    Role.DOCTOR: ["Dashboard", "Patients", "Calendar", "Groups", "Authorizations"],
    Role.NURSE: ["Dashboard", "Patients", "Calendar", "Groups", "Authorizations"],
    Role.STAFF: ["Dashboard", "Patients", "Calendar", "Groups", "Authorizations"],
    Role.READ_ONLY: ["Dashboard", "Patients", "Calendar", "Groups", "Authorizations", "Audit"],
}


@pytest.mark.parametrize("role", list(NAVIGATION))
def test_each_role_signs_in_and_sees_its_navigation(page, screenshot, role):
    user = UserFactory(email=f"{role}@clinic.test", full_name=f"Test {role}", role=role)
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))
    sign_in(page, user.email, PASSWORD)
    expect(page.get_by_role("heading", name=f"Welcome, Test {role}")).to_be_visible()
    expect(page.get_by_test_id("current-role")).to_have_text(user.get_role_display())
    nav = page.get_by_role("navigation", name="Main").get_by_role("listitem")
    expect(nav).to_have_text(NAVIGATION[role])
    screenshot(page, f"dashboard-{role}")


def test_wrong_password_shows_message(page):
    user = UserFactory()
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("The email or password is not correct")


def test_inactivity_signs_the_user_out_and_says_why(page, settings, screenshot):
    settings.SESSION_IDLE_TIMEOUT = 2
    user = UserFactory()
    sign_in(page, user.email, PASSWORD)
    # No clicks: the page's own timer takes the user to the login page once the session has expired.
    expect(page).to_have_url(re.compile(r"/accounts/login/"), timeout=15_000)
    message = page.locator(".message").filter(has_text="signed out after 1 minute of inactivity")
    expect(message).to_be_visible()
    screenshot(page, "inactivity-logout")
    message.get_by_role("button", name="Close message").click()
    expect(message).to_have_count(0)


def test_success_message_disappears_after_five_seconds(page):
    user = UserFactory()
    sign_in(page, user.email, PASSWORD)
    page.get_by_role("link", name="Change your password").click()
    page.get_by_label("Old password").fill(PASSWORD)
    page.locator("#id_new_password1").fill("Brand-New-Pass-55")
    page.get_by_label("New password confirmation").fill("Brand-New-Pass-55")
    page.get_by_role("button", name="Change password").click()
    message = page.locator(".message").filter(has_text="Your password has been changed.")
    expect(message).to_be_visible()
    expect(message).to_have_count(0, timeout=8_000)


def test_phone_layout_has_a_menu(browser, live_server, screenshot):
    user = UserFactory(role=Role.ADMIN, full_name="Phone Admin")
    context = browser.new_context(base_url=live_server.url, viewport={"width": 390, "height": 844})
    page = context.new_page()
    sign_in(page, user.email, PASSWORD)
    nav_link = page.get_by_role("navigation", name="Main").get_by_role("link", name="Admin")
    expect(nav_link).to_be_hidden()
    page.get_by_role("button", name="Menu").click()
    expect(nav_link).to_be_visible()
    screenshot(page, "phone-menu")
    context.close()


def test_messages_show_above_an_open_dialog(page):
    user = UserFactory(role=Role.STAFF)
    sign_in(page, user.email, PASSWORD)
    page.goto("/calendar/")
    page.get_by_role("button", name="Add appointment").click()
    expect(page.get_by_role("dialog", name="Add appointment")).to_be_visible()
    page.evaluate("window.Spectrum.notify('Saved while the dialog is open', 'info')")
    message = page.locator(".message").filter(has_text="Saved while the dialog is open")
    expect(message).to_be_visible()
    box = message.bounding_box()
    on_top = page.evaluate(
        "([x, y]) => document.elementFromPoint(x, y).closest('.message') !== null",
        [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2],
    )
    assert on_top, "the message is hidden behind the dialog"


def test_swagger_ui_renders_offline_under_the_csp(page):
    user = UserFactory(role=Role.ADMIN)
    sign_in(page, user.email, PASSWORD)
    errors = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto("/api/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Spectrum API", timeout=15_000)
    expect(page.locator(".opblock-tag").first).to_be_visible()
    assert not [e for e in errors if "Content Security Policy" in e]
