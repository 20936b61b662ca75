import pytest
from playwright.sync_api import expect

from accounts.models import Role
from tests.browser.conftest import sign_in
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_a_non_admin_opening_the_admin_site_sees_the_403_page(page):
    nurse = UserFactory(email="nurse@clinic.test", full_name="Nell Nurse", role=Role.NURSE)
    sign_in(page, nurse.email, PASSWORD)

    response = page.goto("/admin/")

    assert response.status == 403
    expect(page.get_by_role("heading", name="You don't have access to this page")).to_be_visible()
    expect(page.get_by_role("link", name="Go to the dashboard")).to_be_visible()
