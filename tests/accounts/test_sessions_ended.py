"""A password change, a reset, a deactivation or a role change ends the user's other browser sessions
(deleted from the database) as well as their refresh tokens."""

import pytest
from django.contrib.sessions.models import Session
from django.test import Client

from accounts.models import Role
from audit.models import AuditEvent

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Brand-New-Pass-88"


def signed_in(user, password) -> Client:
    client = Client()
    assert client.post("/accounts/login/", {"username": user.email, "password": password}).status_code == 302
    return client


def is_signed_in(client: Client) -> bool:
    return client.get("/").status_code == 200


def test_password_change_ends_the_other_sessions_and_keeps_this_one(nurse_user, password, doctor_user):
    laptop, phone = signed_in(nurse_user, password), signed_in(nurse_user, password)
    colleague = signed_in(doctor_user, password)
    response = laptop.post(
        "/accounts/password/",
        {"old_password": password, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert is_signed_in(laptop)
    assert not is_signed_in(phone)
    assert is_signed_in(colleague)
    entry = AuditEvent.objects.get(event="accounts.user.sessions_ended")
    assert entry.additional_data == {"sessions": 1, "because": ["password"]}


@pytest.mark.parametrize(
    ("change", "because"),
    [({"is_active": False}, ["deactivated"]), ({"role": Role.STAFF}, ["role"])],
)
def test_deactivation_and_role_change_end_every_session(client, admin_user, nurse_user, password, change, because):
    first, second = signed_in(nurse_user, password), signed_in(nurse_user, password)
    admin = signed_in(admin_user, password)
    response = admin.patch(f"/api/v1/users/{nurse_user.pk}/", change, content_type="application/json")
    assert response.status_code == 200
    assert not is_signed_in(first) and not is_signed_in(second)
    assert is_signed_in(admin)
    assert AuditEvent.objects.get(event="accounts.user.sessions_ended").additional_data["because"] == because


def test_administrator_changing_own_role_keeps_own_session(admin_user, password):
    admin = signed_in(admin_user, password)
    other = signed_in(admin_user, password)
    response = admin.post(
        f"/admin/accounts/user/{admin_user.pk}/change/",
        {"email": admin_user.email, "full_name": admin_user.full_name, "role": "admin", "is_active": "on"},
    )
    assert response.status_code == 302
    assert is_signed_in(admin) and is_signed_in(other)  # nothing changed that ends sessions


def test_unrelated_change_ends_nothing(nurse_user, password):
    browser = signed_in(nurse_user, password)
    nurse_user.full_name = "Nell N. Nurse"
    nurse_user.save()
    assert is_signed_in(browser)
    assert Session.objects.count() == 1
