import pytest
from rest_framework_simplejwt.tokens import AccessToken

from accounts.models import Role, User
from audit.models import AuditEvent

pytestmark = pytest.mark.django_db

TOKEN = "/api/v1/auth/token/"
REFRESH = "/api/v1/auth/token/refresh/"
LOGOUT = "/api/v1/auth/logout/"
ME = "/api/v1/auth/me/"


def obtain(api_client, user, password):
    response = api_client.post(TOKEN, {"email": user.email, "password": password}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def test_token_obtain_returns_access_and_refresh(api_client, doctor_user, password):
    tokens = obtain(api_client, doctor_user, password)
    assert set(tokens) == {"access", "refresh"}
    access = AccessToken(tokens["access"])
    assert access["user_id"] == str(doctor_user.pk) or access["user_id"] == doctor_user.pk
    # exp and iat are whole seconds taken from two clock reads: allow the second between them.
    assert abs(access["exp"] - access["iat"] - 15 * 60) <= 1
    assert AuditEvent.objects.filter(event="accounts.token.issued", object_pk=str(doctor_user.pk)).exists()


def test_token_obtain_wrong_password_is_401_json(api_client, doctor_user):
    response = api_client.post(TOKEN, {"email": doctor_user.email, "password": "bad"}, format="json")
    assert response.status_code == 401
    assert "detail" in response.json()


def test_token_obtain_missing_fields_is_400_per_field(api_client):
    response = api_client.post(TOKEN, {}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"email", "password"}


def test_me_returns_identity_with_bearer_token(api_client, nurse_user, password):
    tokens = obtain(api_client, nurse_user, password)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    response = api_client.get(ME)
    assert response.status_code == 200
    assert response.json() == {
        "id": nurse_user.pk,
        "email": nurse_user.email,
        "full_name": nurse_user.full_name,
        "role": "nurse",
    }


def test_me_with_session_authentication(client, staff_user):
    client.force_login(staff_user)
    assert client.get(ME).json()["role"] == "staff"


def test_anonymous_gets_401_with_www_authenticate(api_client):
    response = api_client.get(ME)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["detail"]


def test_refresh_rotates_and_blacklists_old_refresh(api_client, doctor_user, password):
    tokens = obtain(api_client, doctor_user, password)
    response = api_client.post(REFRESH, {"refresh": tokens["refresh"]}, format="json")
    assert response.status_code == 200
    rotated = response.json()
    assert set(rotated) == {"access", "refresh"}
    assert rotated["refresh"] != tokens["refresh"]
    reused = api_client.post(REFRESH, {"refresh": tokens["refresh"]}, format="json")
    assert reused.status_code == 401
    assert AuditEvent.objects.filter(event="accounts.token.refreshed", object_pk=str(doctor_user.pk)).count() == 1


def test_logout_revokes_refresh_token(api_client, doctor_user, password):
    tokens = obtain(api_client, doctor_user, password)
    response = api_client.post(LOGOUT, {"refresh": tokens["refresh"]}, format="json")
    assert response.status_code == 204
    assert api_client.post(REFRESH, {"refresh": tokens["refresh"]}, format="json").status_code == 401
    assert AuditEvent.objects.filter(event="accounts.token.revoked", object_pk=str(doctor_user.pk)).exists()


def test_logout_with_garbage_token_is_401(api_client):
    assert api_client.post(LOGOUT, {"refresh": "garbage"}, format="json").status_code == 401


def test_token_endpoints_are_rate_limited_per_address(api_client, doctor_user):
    statuses = [
        api_client.post(TOKEN, {"email": f"x{i}@clinic.test", "password": "bad"}, format="json").status_code
        for i in range(11)
    ]
    assert statuses[:10] == [401] * 10
    assert statuses[10] == 429
    response = api_client.post(REFRESH, {"refresh": "x"}, format="json")
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0


def test_login_page_rate_limit_is_429_with_retry_after(client):
    for i in range(10):
        client.post("/accounts/login/", {"username": f"x{i}@clinic.test", "password": "bad"})
    response = client.post("/accounts/login/", {"username": "y@clinic.test", "password": "bad"})
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert "Too many attempts" in response.content.decode()
    assert f"wait {response['Retry-After']} second" in response.content.decode()


def test_api_reads_and_writes_have_separate_per_user_limits(settings, api_client_for, admin_user, staff_user):
    settings.RATELIMIT_API_READ = "3/m"
    settings.RATELIMIT_API_WRITE = "2/m"
    admin = api_client_for(admin_user)
    assert [admin.get(ME).status_code for _ in range(4)] == [200, 200, 200, 429]
    other = api_client_for(staff_user)
    assert other.get(ME).status_code == 200  # per user, not global
    writes = [
        admin.patch(f"/api/v1/users/{staff_user.pk}/", {"full_name": "S"}, format="json").status_code for _ in range(3)
    ]
    assert writes == [200, 200, 429]
    limited = admin.get(ME)
    assert limited.json()["detail"] and int(limited["Retry-After"]) > 0


# --- /api/v1/users/: admins only -------------------------------------------------------------------

USERS = "/api/v1/users/"


@pytest.mark.parametrize("role", [Role.DOCTOR, Role.NURSE, Role.STAFF, Role.READ_ONLY])
def test_users_endpoint_forbidden_to_non_admins(role, user_for_role, api_client_for):
    user = user_for_role(role)
    client = api_client_for(user)
    assert client.get(USERS).status_code == 403
    assert client.get(f"{USERS}{user.pk}/").status_code == 403
    assert (
        client.post(
            USERS, {"email": "z@clinic.test", "role": "staff", "password": "Abcdefgh-1234"}, format="json"
        ).status_code
        == 403
    )
    assert client.patch(f"{USERS}{user.pk}/", {"role": "admin"}, format="json").status_code == 403
    user.refresh_from_db()
    assert user.role == role


def test_users_endpoint_anonymous_is_401(api_client):
    assert api_client.get(USERS).status_code == 401


def test_admin_lists_users_paginated(api_client_for, admin_user, staff_user, nurse_user):
    response = api_client_for(admin_user).get(USERS, {"page_size": 2})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 3 and len(body["results"]) == 2 and body["next"]
    assert "password" not in body["results"][0]


def test_page_size_is_capped_at_200(api_client_for, admin_user):
    response = api_client_for(admin_user).get(USERS, {"page_size": 1000})
    assert response.status_code == 200  # capped, not refused


def test_admin_creates_user_by_invitation_without_a_password(api_client_for, admin_user):
    payload = {"email": "New.Nurse@Clinic.test", "full_name": "New Nurse", "role": "nurse"}
    response = api_client_for(admin_user).post(USERS, payload, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["email"] == "new.nurse@clinic.test" and body["role"] == "nurse" and "password" not in body
    assert body["invitation_status"] == "pending"
    user = User.objects.get(email="new.nurse@clinic.test")
    assert not user.has_usable_password()  # the invited user sets it
    assert list(user.groups.values_list("name", flat=True)) == ["nurse"]
    assert AuditEvent.objects.filter(event="accounts.user.created", object_pk=str(user.pk), actor=admin_user).exists()


def test_create_user_errors_are_per_field(api_client_for, admin_user, staff_user):
    response = api_client_for(admin_user).post(
        USERS, {"email": staff_user.email.upper(), "role": "janitor"}, format="json"
    )
    assert response.status_code == 400
    body = response.json()
    assert "role" in body
    response = api_client_for(admin_user).post(
        USERS, {"email": staff_user.email.upper(), "role": "staff"}, format="json"
    )
    body = response.json()
    assert body["email"] == ["A user with this email already exists."]


def test_api_refuses_a_password_from_an_administrator(api_client_for, admin_user, staff_user):
    client = api_client_for(admin_user)
    response = client.post(
        USERS, {"email": "p@clinic.test", "role": "staff", "password": "Abcdefgh-1234"}, format="json"
    )
    assert response.status_code == 400
    assert "password" in response.json()
    assert not User.objects.filter(email="p@clinic.test").exists()
    response = client.patch(f"{USERS}{staff_user.pk}/", {"password": "Abcdefgh-1234"}, format="json")
    assert response.status_code == 400
    staff_user.refresh_from_db()
    assert not staff_user.check_password("Abcdefgh-1234")


def test_admin_deactivates_user_via_is_active(api_client_for, admin_user, staff_user):
    response = api_client_for(admin_user).patch(f"{USERS}{staff_user.pk}/", {"is_active": False}, format="json")
    assert response.status_code == 200
    staff_user.refresh_from_db()
    assert staff_user.is_active is False
    assert api_client_for(admin_user).delete(f"{USERS}{staff_user.pk}/").status_code == 405


def test_admin_cannot_deactivate_self(api_client_for, admin_user):
    response = api_client_for(admin_user).patch(f"{USERS}{admin_user.pk}/", {"is_active": False}, format="json")
    assert response.status_code == 400
    assert "is_active" in response.json()


def test_deactivated_user_token_stops_working(api_client_for, staff_user):
    client = api_client_for(staff_user)
    staff_user.is_active = False
    staff_user.save()
    assert client.get(ME).status_code == 401


def test_unknown_user_is_404_json(api_client_for, admin_user):
    response = api_client_for(admin_user).get(f"{USERS}999999/")
    assert response.status_code == 404
    assert response.json() == {"detail": "No User matches the given query."}


def test_wrong_method_is_405(api_client_for, admin_user):
    assert api_client_for(admin_user).delete(ME).status_code == 405
