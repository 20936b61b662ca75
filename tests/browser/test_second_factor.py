"""In Chromium: a nurse whose role requires a second factor signs in, is sent to enrolment, sets up TOTP (the
test is the phone: pyotp computes codes from the secret the page shows), and signs in again with a code."""

import datetime
import re

import pyotp
import pytest
from playwright.sync_api import expect

from accounts.models import Role
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def password_step(page, email: str) -> None:
    page.goto("/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_a_nurse_enrols_totp_and_signs_in_with_it(page, screenshot, settings, ticking_clinic_clock):
    settings.MFA_REQUIRED_ROLES = [Role.ADMIN, Role.DOCTOR, Role.NURSE]
    nurse = UserFactory(email="nell@clinic.test", full_name="Nell Nurse", role=Role.NURSE)

    password_step(page, nurse.email)
    expect(page).to_have_url(re.compile(r"/accounts/security/authenticator/$"))
    expect(page.get_by_role("heading", name="Set up an authenticator app")).to_be_visible()
    # Nothing else is reachable before enrolling.
    page.goto("/patients/")
    expect(page).to_have_url(re.compile(r"/accounts/security/authenticator/$"))
    expect(page.get_by_role("img", name=re.compile("QR code"))).to_be_visible()
    screenshot(page, "mfa-enrol")

    secret = page.get_by_test_id("totp-secret").get_attribute("data-secret")
    phone = pyotp.TOTP(secret)
    page.get_by_label("Code from the app").fill(phone.now())
    page.get_by_role("button", name="Turn on").click()
    codes = page.get_by_test_id("recovery-codes").get_by_role("listitem")
    expect(codes).to_have_count(10)
    screenshot(page, "mfa-recovery-codes")
    page.get_by_role("link", name=re.compile("I have saved them")).click()
    expect(page.get_by_role("heading", name="Welcome, Nell Nurse")).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    ticking_clinic_clock.shift(datetime.timedelta(seconds=30))  # the enrolment's code is spent; the next one
    password_step(page, nurse.email)
    expect(page).to_have_url(re.compile(r"/accounts/login/code/$"))
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    page.get_by_role("textbox", name="Code").fill("000000")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("That code is not correct")
    screenshot(page, "mfa-wrong-code")
    ticking_clinic_clock.shift(datetime.timedelta(seconds=30))  # django-otp holds the next try after a miss
    page.get_by_role("textbox", name="Code").fill(phone.now())
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Welcome, Nell Nurse")).to_be_visible()
    page.goto("/accounts/security/")
    expect(page.get_by_test_id("second-factor-status")).to_contain_text("Recovery codes left: 10")
    screenshot(page, "mfa-security")
