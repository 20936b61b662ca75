"""The account lifecycle in real Chromium: an invitation read from the email the SMTP server received, an
unlock from the user list, the timeout dialog, and a form kept across a timeout; an invited nurse whose role
requires a second factor sets her password and enrols TOTP before she can do anything else."""

import datetime
import re

import pyotp
import pytest
from axes.models import AccessAttempt
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from accounts.models import Invitation, Role, User
from audit.models import AuditEvent
from tests.browser.conftest import sign_in
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

NURSE_PASSWORD = "Nightingale-Shift-7"


def test_invited_nurse_sets_a_password_from_the_emailed_link(page, browser, live_server, smtp_server, screenshot):
    admin = UserFactory(email="admin@clinic.test", full_name="Ada Admin", role=Role.ADMIN)
    sign_in(page, admin.email, PASSWORD)
    page.get_by_role("link", name="Users").first.click()
    page.get_by_role("link", name="Invite a user").click()
    page.get_by_label("Full name").fill("Nina Patel")
    page.get_by_label("Email").fill("nina@clinic.test")
    page.get_by_label("Role").select_option(label="Nurse")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_text("Invitation sent to nina@clinic.test.")).to_be_visible()
    expect(page.get_by_test_id("invitation-row")).to_contain_text("Nina Patel")

    assert smtp_server.envelopes[-1].rcpt_tos == ["nina@clinic.test"]
    link = re.search(r"https?://\S+/accounts/invitation/\S+/", smtp_server.bodies()[-1]).group(0)
    nurse_context = browser.new_context(base_url=live_server.url)
    nurse_page = nurse_context.new_page()
    nurse_page.set_default_timeout(10_000)
    try:
        nurse_page.goto(link)
        expect(nurse_page.get_by_role("heading", name="Welcome, Nina Patel")).to_be_visible()
        nurse_page.locator("#id_new_password1").fill("short")
        nurse_page.locator("#id_new_password2").fill("short")
        nurse_page.get_by_role("button", name="Set password and sign in").click()
        expect(nurse_page.get_by_role("alert").filter(has_text="This password is too short")).to_be_visible()
        nurse_page.locator("#id_new_password1").fill(NURSE_PASSWORD)
        nurse_page.locator("#id_new_password2").fill(NURSE_PASSWORD)
        nurse_page.get_by_role("button", name="Set password and sign in").click()
        expect(nurse_page.get_by_test_id("current-user")).to_have_text("Nina Patel")
        expect(nurse_page.get_by_test_id("current-role")).to_have_text("Nurse")
        screenshot(nurse_page, "invitation-accepted")
    finally:
        nurse_context.close()
    nina = User.objects.get(email="nina@clinic.test")
    assert nina.check_password(NURSE_PASSWORD)
    assert Invitation.objects.get(user=nina).accepted_at is not None


def test_invited_nurse_sets_a_password_then_must_enrol_totp_and_signs_in_with_it_later(
    page, browser, live_server, smtp_server, screenshot, settings, ticking_clinic_clock
):
    settings.MFA_REQUIRED_ROLES = [Role.NURSE]  # only the nurse: the inviting administrator is not the subject here
    admin = UserFactory(email="admin@clinic.test", full_name="Ada Admin", role=Role.ADMIN)
    sign_in(page, admin.email, PASSWORD)
    page.goto("/accounts/users/invite/")
    page.get_by_label("Full name").fill("Nina Patel")
    page.get_by_label("Email").fill("nina@clinic.test")
    page.get_by_label("Role").select_option(label="Nurse")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_text("Invitation sent to nina@clinic.test.")).to_be_visible()

    assert smtp_server.envelopes[-1].rcpt_tos == ["nina@clinic.test"]
    link = re.search(r"https?://\S+/accounts/invitation/\S+/", smtp_server.bodies()[-1]).group(0)
    nurse_context = browser.new_context(base_url=live_server.url)
    nurse = nurse_context.new_page()
    nurse.set_default_timeout(10_000)
    try:
        nurse.goto(link)
        expect(nurse.get_by_role("heading", name="Welcome, Nina Patel")).to_be_visible()
        nurse.locator("#id_new_password1").fill(NURSE_PASSWORD)
        nurse.locator("#id_new_password2").fill(NURSE_PASSWORD)
        nurse.get_by_role("button", name="Set password and sign in").click()

        expect(nurse).to_have_url(re.compile(r"/accounts/security/authenticator/$"))
        expect(nurse.get_by_role("heading", name="Set up an authenticator app")).to_be_visible()
        nurse.goto("/patients/")  # nothing else is reachable before enrolling
        expect(nurse).to_have_url(re.compile(r"/accounts/security/authenticator/$"))
        expect(nurse.get_by_role("img", name=re.compile("QR code"))).to_be_visible()
        screenshot(nurse, "invited-nurse-mfa-enrol")

        phone = pyotp.TOTP(nurse.get_by_test_id("totp-secret").get_attribute("data-secret"))
        nurse.get_by_label("Code from the app").fill(phone.now())
        nurse.get_by_role("button", name="Turn on").click()
        expect(nurse.get_by_test_id("recovery-codes").get_by_role("listitem")).to_have_count(10)
        screenshot(nurse, "invited-nurse-recovery-codes")
        nurse.get_by_role("link", name=re.compile("I have saved them")).click()
        expect(nurse.get_by_test_id("current-user")).to_have_text("Nina Patel")

        nurse.get_by_role("button", name="Sign out").click()
        ticking_clinic_clock.shift(datetime.timedelta(seconds=30))  # the enrolment's code is spent; the next one
        nurse.goto("/")
        nurse.get_by_label("Email").fill("nina@clinic.test")
        nurse.get_by_label("Password").fill(NURSE_PASSWORD)
        nurse.get_by_role("button", name="Sign in").click()
        expect(nurse).to_have_url(re.compile(r"/accounts/login/code/$"))
        nurse.get_by_role("textbox", name="Code").fill(phone.now())
        nurse.get_by_role("button", name="Sign in").click()
        expect(nurse.get_by_test_id("current-user")).to_have_text("Nina Patel")
        expect(nurse.get_by_test_id("current-role")).to_have_text("Nurse")
        screenshot(nurse, "invited-nurse-signed-in-with-code")
    finally:
        nurse_context.close()
    nina = User.objects.get(email="nina@clinic.test")
    assert nina.check_password(NURSE_PASSWORD)
    assert Invitation.objects.get(user=nina).accepted_at is not None
    assert TOTPDevice.objects.filter(user=nina, confirmed=True).count() == 1


def test_administrator_unlocks_a_locked_user_from_the_user_list(page, settings, screenshot):
    settings.RATELIMIT_ENABLE = False
    admin = UserFactory(email="admin@clinic.test", full_name="Ada Admin", role=Role.ADMIN)
    locked = UserFactory(email="locked@clinic.test", full_name="Lou Locked", role=Role.STAFF)
    other = UserFactory(email="other@clinic.test", full_name="Otto Other", role=Role.STAFF)
    for email in (locked.email, other.email):
        for _ in range(5):
            Client().post("/accounts/login/", {"username": email, "password": "wrong"}, REMOTE_ADDR="10.9.8.7")

    sign_in(page, admin.email, PASSWORD)
    page.goto("/accounts/users/")
    row = page.locator("[data-testid=user-row]", has_text="locked@clinic.test")
    expect(row.get_by_test_id("lockout-reason")).to_contain_text("5 failed sign-ins from 10.9.8.7")
    screenshot(page, "user-list-locked")
    row.get_by_label("Reason").fill("Identity confirmed by phone")
    row.get_by_role("button", name="Unlock").click()
    expect(page.get_by_text("Lou Locked is unlocked.")).to_be_visible()
    expect(
        page.locator("[data-testid=user-row]", has_text="locked@clinic.test").get_by_test_id("lockout-reason")
    ).to_have_count(0)
    expect(
        page.locator("[data-testid=user-row]", has_text="other@clinic.test").get_by_test_id("lockout-reason")
    ).to_be_visible()

    assert not AccessAttempt.objects.filter(username=locked.email).exists()
    assert AccessAttempt.objects.filter(username=other.email).exists()
    entry = AuditEvent.objects.get(event="accounts.user.unlocked")
    assert entry.actor == admin and entry.additional_data["reason"] == "Identity confirmed by phone"


def session_alive(page) -> bool:
    status = page.evaluate("() => fetch('/accounts/session/', {redirect: 'manual'}).then(r => r.status)")
    return status == 200


def test_timeout_dialog_counts_down_and_stay_signed_in_keeps_the_session(page, settings, screenshot):
    settings.SESSION_IDLE_TIMEOUT = 8
    settings.SESSION_TIMEOUT_WARNING = 4
    user = UserFactory(email="nell@clinic.test", full_name="Nell Nurse", role=Role.NURSE)
    sign_in(page, user.email, PASSWORD)
    dialog = page.get_by_role("alertdialog", name="Are you still there?")
    expect(dialog).to_be_visible(timeout=8_000)
    expect(dialog.get_by_test_id("session-countdown")).to_have_text(re.compile(r"0:0[0-4]"))
    screenshot(page, "session-timeout-dialog")
    dialog.get_by_role("button", name="Stay signed in").click()
    expect(dialog).to_be_hidden()
    page.wait_for_timeout(6_000)  # past the first deadline
    assert "/accounts/login/" not in page.url
    assert session_alive(page)
    expect(page.get_by_test_id("current-user")).to_have_text("Nell Nurse")


def test_form_typed_before_a_timeout_is_kept_and_can_be_sent_after_signing_in_again(page, settings, screenshot):
    settings.SESSION_IDLE_TIMEOUT = 5
    settings.SESSION_TIMEOUT_WARNING = 2
    admin = UserFactory(email="admin@clinic.test", full_name="Ada Admin", role=Role.ADMIN)
    sign_in(page, admin.email, PASSWORD)
    page.goto("/accounts/users/invite/")
    page.get_by_label("Full name").fill("Kept Person")
    page.get_by_label("Email").fill("kept@clinic.test")
    page.get_by_label("Role").select_option(label="Front desk")

    ended = page.get_by_role("alertdialog", name="You were signed out")
    expect(ended).to_be_visible(timeout=15_000)
    expect(ended).to_contain_text("has not been saved")
    assert "/accounts/users/invite/" in page.url  # the page stayed: nothing silently lost
    assert not session_alive(page)
    screenshot(page, "session-ended-form-kept")

    with page.context.expect_page() as new_tab_info:
        ended.get_by_role("link", name="Sign in again in a new tab").click()
    new_tab = new_tab_info.value
    new_tab.get_by_label("Email").fill(admin.email)
    new_tab.get_by_label("Password").fill(PASSWORD)
    new_tab.get_by_role("button", name="Sign in").click()
    expect(new_tab.get_by_test_id("current-user")).to_have_text("Ada Admin")
    new_tab.close()

    page.bring_to_front()
    ended.get_by_role("button", name="Continue where I left off").click()
    expect(ended).to_be_hidden()
    expect(page.get_by_label("Full name")).to_have_value("Kept Person")
    page.get_by_role("button", name="Send invitation").click()  # with the new session's CSRF token
    expect(page.get_by_text("Invitation sent to kept@clinic.test.")).to_be_visible()
    assert User.objects.filter(email="kept@clinic.test", full_name="Kept Person").exists()
