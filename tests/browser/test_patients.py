import re

import pytest
from playwright.sync_api import expect

from accounts.models import Role
from patients.models import Patient
from tests.browser.conftest import sign_in
from tests.factories import PASSWORD, PatientFactory, UserFactory

# serialized_rollback: a transactional test flushes the tables, and with them the role groups that
# data migrations created; this restores them for the next test.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_nurse_searches_opens_and_corrects_a_phone_number(page, screenshot):
    nurse = UserFactory(role=Role.NURSE, full_name="Nell Nurse")
    target = PatientFactory(first_name="John", last_name="Smith", phone="(305) 555-0123", allergies="Penicillin")
    PatientFactory(first_name="Jane", last_name="Smithers", phone="(786) 555-0199")
    for index in range(20):
        PatientFactory(first_name=f"Other{index}", last_name="Person")
    sign_in(page, nurse.email, PASSWORD)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Patients").click()
    expect(page.get_by_test_id("result-count")).to_have_text("22 patients")

    search = page.get_by_role("searchbox", name="Search patients")
    search.press_sequentially("john smi", delay=60)  # typing: each keystroke replaces the previous request
    expect(page.get_by_test_id("result-count")).to_have_text("1 patient match “john smi”")
    expect(page).to_have_url(re.compile(r"/patients/\?search=john(\+|%20)smi$"))
    screenshot(page, "patients-search")

    search.press("ArrowDown")  # keyboard: into the results
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=re.compile("John .*Smith"))).to_be_visible()
    expect(page.get_by_test_id("clinical")).to_contain_text("Penicillin")
    screenshot(page, "patient-detail")

    page.get_by_role("link", name="Edit").click()
    phone = page.get_by_label("Phone", exact=True)
    phone.fill("555-12")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator(".field-error")).to_have_text("Enter a 10-digit US phone number, e.g. (305) 555-0123.")
    screenshot(page, "patient-form-error")
    page.get_by_label("Phone", exact=True).fill("786.555.0142")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator(".message-success")).to_contain_text("Changes saved.")
    expect(page.get_by_test_id("phone")).to_have_text("(786) 555-0142")
    target.refresh_from_db()
    assert target.phone == "(786) 555-0142"


def test_deactivate_asks_for_confirmation(page):
    doctor = UserFactory(role=Role.DOCTOR)
    patient = PatientFactory(first_name="Del", last_name="Eted")
    sign_in(page, doctor.email, PASSWORD)
    page.goto(f"/patients/{patient.pk}/")
    page.get_by_role("button", name="Deactivate").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    assert Patient.objects.get(pk=patient.pk).is_active
    page.get_by_role("button", name="Deactivate").click()
    page.get_by_role("dialog").get_by_role("button", name="Deactivate").click()
    expect(page.locator(".message-success")).to_contain_text("deactivated")
    assert not Patient.objects.get(pk=patient.pk).is_active


def test_filters_narrow_the_list_and_refusals_are_shown_at_the_field(page, screenshot):
    staff = UserFactory(role=Role.STAFF)
    PatientFactory(first_name="Ana", last_name="Lopez", gender="female", city="Miami")
    PatientFactory(first_name="Bo", last_name="Lopez", gender="male", city="Tampa")
    sign_in(page, staff.email, PASSWORD)
    page.goto("/patients/")
    page.get_by_text("Filters").click()
    page.get_by_label("Gender").select_option("female")  # a change submits the filters (htmx)
    expect(page.get_by_test_id("result-count")).to_have_text("1 patient")
    expect(page).to_have_url(re.compile(r"gender=female"))
    expect(page.locator("#id_is_active")).to_have_count(0)  # inactive patients are for administrators

    page.goto("/patients/?is_active=false")  # a bookmark from an administrator
    expect(page.get_by_role("alert").first).to_contain_text("Only administrators can list inactive patients.")
    screenshot(page, "patients-filter-refused")


def test_front_desk_finds_a_misspelled_patient_under_did_you_mean(page):
    staff = UserFactory(role=Role.STAFF, full_name="Fran Front-Desk")
    john = PatientFactory(first_name="John", last_name="Smith", phone="(305) 555-0123")
    PatientFactory(first_name="Zoe", last_name="Young")
    sign_in(page, staff.email, PASSWORD)
    page.goto("/patients/")

    page.get_by_role("searchbox", name="Search patients").press_sequentially("Jonh Smtih", delay=40)
    expect(page.get_by_role("heading", name="No patients match")).to_be_visible()
    suggestions = page.get_by_test_id("did-you-mean")
    expect(suggestions.get_by_role("heading", name="Did you mean")).to_be_visible()
    suggestions.get_by_role("link", name="Smith, John").click()

    expect(page.get_by_role("heading", name=re.compile("John .*Smith"))).to_be_visible()
    assert page.url.endswith(john.get_absolute_url())
