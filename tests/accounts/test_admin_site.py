"""Django's admin site: administrators only; everyone else signs in through our page or sees the 403 page."""

import pytest

from accounts.models import Role
from accounts.permissions import can_use_admin_site
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("role", [Role.DOCTOR, Role.NURSE, Role.STAFF, Role.READ_ONLY])
@pytest.mark.parametrize("path", ["/admin/", "/admin/accounts/user/", "/admin/login/?next=/admin/"])
def test_a_signed_in_non_admin_gets_the_403_page_without_a_loop(client, user_for_role, role, path):
    client.force_login(user_for_role(role))
    response = client.get(path, follow=True)
    assert response.status_code == 403
    assert len(response.redirect_chain) <= 1
    assert "You don't have access to this page" in response.content.decode()
    assert "_auth_user_id" in client.session  # still signed in


def test_an_anonymous_visitor_is_sent_to_our_sign_in_page(client):
    response = client.get("/admin/accounts/user/", follow=True)
    assert response.redirect_chain[-1][0] == "/accounts/login/?next=/admin/accounts/user/"
    assert response.status_code == 200


def test_an_administrator_signing_in_comes_back_to_the_admin_site(client, admin_user, password):
    response = client.post(
        "/accounts/login/?next=/admin/accounts/user/", {"username": admin_user.email, "password": password}
    )
    assert response["Location"] == "/admin/accounts/user/"
    assert client.get(response["Location"]).status_code == 200
    # A signed-in administrator sent to the admin's login page goes on to where they were going.
    assert client.get("/admin/login/?next=/admin/")["Location"] == "/admin/"


def test_the_admin_login_never_redirects_off_site(client, admin_user):
    client.force_login(admin_user)
    assert client.get("/admin/login/?next=https://evil.example/")["Location"] == "/admin/"


def test_only_active_administrators_may_use_the_admin_site():
    assert can_use_admin_site(UserFactory(email="a@clinic.test", role=Role.ADMIN))
    assert not can_use_admin_site(UserFactory(email="b@clinic.test", role=Role.ADMIN, is_active=False))
    assert not can_use_admin_site(UserFactory(email="c@clinic.test", role=Role.NURSE))
