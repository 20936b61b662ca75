"""API sign-ins end when the password, the active flag or the role changes, and 12 hours after sign-in at the latest."""

from datetime import timedelta

import pytest
import time_machine
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from accounts.models import Role, User
from audit.models import AuditEvent

pytestmark = pytest.mark.django_db

TOKEN = "/api/v1/auth/token/"
REFRESH = "/api/v1/auth/token/refresh/"
LOGOUT = "/api/v1/auth/logout/"
ME = "/api/v1/auth/me/"
NEW_PASSWORD = "Brand-New-Pass-88"
SIGN_IN_AT = "2026-03-02 14:00 +00:00"


@pytest.fixture(autouse=True)
def _no_rate_limits(settings):
    settings.RATELIMIT_ENABLE = False  # these tests sign in and refresh more than 10 times a minute


def sign_in(user, password) -> dict:
    response = APIClient().post(TOKEN, {"email": user.email, "password": password}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def refresh(tokens: dict):
    return APIClient().post(REFRESH, {"refresh": tokens["refresh"]}, format="json")


def me(tokens: dict):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    return client.get(ME)


def usable_refresh_tokens(user) -> int:
    return OutstandingToken.objects.filter(user=user, blacklistedtoken__isnull=True).count()


def change_password_on_the_page(client, user, password):
    client.force_login(user)
    response = client.post(
        "/accounts/password/",
        {"old_password": password, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302


def change_password_by_reset_link(user):
    """ "Forgot your password?": the emailed link's page (administrators no longer set passwords)."""
    from django.contrib.auth.tokens import default_token_generator
    from django.test import Client
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    client = Client()
    user = User.objects.get(pk=user.pk)  # signing in moved last_login, which the token covers
    uid, token = urlsafe_base64_encode(force_bytes(user.pk)), default_token_generator.make_token(user)
    form_url = client.get(f"/accounts/password/reset/{uid}/{token}/")["Location"]
    response = client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 302, response.content


def change_password_in_code(user):
    """What `manage.py changepassword` and any other script do."""
    user.set_password(NEW_PASSWORD)
    user.save()


@pytest.mark.parametrize("path", ["page", "reset", "code"])
def test_a_new_password_ends_every_api_sign_in(client, admin_user, nurse_user, password, path):
    first, second = sign_in(nurse_user, password), sign_in(nurse_user, password)
    if path == "page":
        change_password_on_the_page(client, nurse_user, password)
    elif path == "reset":
        change_password_by_reset_link(nurse_user)
    else:
        change_password_in_code(nurse_user)

    assert usable_refresh_tokens(nurse_user) == 0
    entry = AuditEvent.objects.get(event="accounts.user.tokens_revoked", object_pk=str(nurse_user.pk))
    assert entry.additional_data == {"tokens": 2, "because": ["password"]}
    for tokens in (first, second):
        assert refresh(tokens).status_code == 401
        assert me(tokens).status_code == 401
    assert refresh(sign_in(nurse_user, NEW_PASSWORD)).status_code == 200


def test_a_password_changed_in_sql_refuses_the_refresh(nurse_user, password):
    tokens = sign_in(nurse_user, password)
    nurse_user.set_password(NEW_PASSWORD)
    User.objects.filter(pk=nurse_user.pk).update(password=nurse_user.password)  # no save(): no blacklist

    response = refresh(tokens)
    assert response.status_code == 401
    assert "password has changed" in response.json()["detail"]


def test_deactivation_ends_every_api_sign_in(admin_user, staff_user, password, api_client_for):
    tokens = sign_in(staff_user, password)
    client = api_client_for(admin_user)  # signed in just now: a role change needs a recent sign-in
    assert client.patch(f"/api/v1/users/{staff_user.pk}/", {"is_active": False}, format="json").status_code == 200

    assert usable_refresh_tokens(staff_user) == 0
    assert refresh(tokens).status_code == 401
    assert me(tokens).status_code == 401


def test_deactivation_in_the_admin_site_ends_every_api_sign_in(client, admin_user, staff_user, password):
    tokens = sign_in(staff_user, password)
    client.force_login(admin_user)
    response = client.post(
        f"/admin/accounts/user/{staff_user.pk}/change/",
        {"email": staff_user.email, "full_name": staff_user.full_name, "role": Role.NURSE},  # is_active unticked
    )
    assert response.status_code == 302, response.content
    staff_user.refresh_from_db()
    assert not staff_user.is_active and staff_user.role == Role.NURSE

    assert usable_refresh_tokens(staff_user) == 0
    entry = AuditEvent.objects.get(event="accounts.user.tokens_revoked", object_pk=str(staff_user.pk))
    assert entry.additional_data["because"] == ["deactivated", "role"]
    assert entry.actor == admin_user
    assert refresh(tokens).status_code == 401


def test_a_role_change_ends_every_api_sign_in(admin_user, staff_user, password, api_client_for):
    tokens = sign_in(staff_user, password)
    client = api_client_for(admin_user)  # signed in just now: a role change needs a recent sign-in
    response = client.patch(f"/api/v1/users/{staff_user.pk}/", {"role": Role.NURSE}, format="json")
    assert response.status_code == 200

    assert usable_refresh_tokens(staff_user) == 0
    assert refresh(tokens).status_code == 401


def test_other_changes_and_other_users_keep_their_sign_ins(admin_user, staff_user, nurse_user, password):
    staff_tokens, nurse_tokens = sign_in(staff_user, password), sign_in(nurse_user, password)
    staff_user.full_name = "Stanley Staff"
    staff_user.save()
    nurse_user.set_password(NEW_PASSWORD)
    nurse_user.save()

    assert refresh(staff_tokens).status_code == 200
    assert refresh(nurse_tokens).status_code == 401


def test_a_refresh_token_family_ends_at_the_absolute_lifetime(settings, doctor_user, password):
    """Rotating every 7 hours (each rotation gives 8 more) still ends 12 hours after the sign-in."""
    assert settings.JWT_REFRESH_ABSOLUTE_HOURS == 12
    with time_machine.travel(SIGN_IN_AT, tick=False) as clock:
        tokens = sign_in(doctor_user, password)
        clock.shift(timedelta(hours=7))
        response = refresh(tokens)
        assert response.status_code == 200
        tokens = response.json()
        # The rotated token's own expiry is capped at the family's end, not 7 + 8 hours.
        from accounts.tokens import SignInRefreshToken

        rotated = SignInRefreshToken(tokens["refresh"])
        assert rotated["exp"] - rotated["auth_time"] == 12 * 3600

        clock.shift(timedelta(hours=5) - timedelta(seconds=1))
        response = refresh(tokens)
        assert response.status_code == 200  # 11:59:59 after sign-in
        tokens = response.json()

        clock.shift(timedelta(seconds=1))
        response = refresh(tokens)
        assert response.status_code == 401
        assert response.json()["code"] == "token_not_valid"


def test_the_absolute_lifetime_is_a_setting(settings, doctor_user, password):
    settings.JWT_REFRESH_ABSOLUTE_HOURS = 2
    with time_machine.travel(SIGN_IN_AT, tick=False) as clock:
        tokens = sign_in(doctor_user, password)
        clock.shift(timedelta(hours=2))
        assert refresh(tokens).status_code == 401


def test_a_refresh_token_without_a_sign_in_time_is_refused(doctor_user):
    """Tokens issued before the absolute lifetime existed sign in again."""
    from rest_framework_simplejwt.tokens import RefreshToken

    response = refresh({"refresh": str(RefreshToken.for_user(doctor_user))})
    assert response.status_code == 401


@pytest.mark.parametrize("body", ["[]", '"x"', "[[1]]", "null", "{}"])
@pytest.mark.parametrize("endpoint", [LOGOUT, REFRESH, TOKEN])
def test_token_endpoints_answer_a_body_that_is_not_an_object_with_400(api_client, endpoint, body):
    """Unauthenticated, as these endpoints are: never a 500."""
    response = api_client.post(endpoint, body, content_type="application/json")
    assert response.status_code == 400
    assert isinstance(response.json(), dict)


def test_the_schema_documents_the_tokens_sign_in_and_refresh_return(client, admin_user):
    client.force_login(admin_user)
    schemas = client.get("/api/schema/?format=json").json()["components"]["schemas"]
    assert {"access", "refresh"} <= set(schemas["TokenObtainPair"]["properties"])
    assert {"access", "refresh"} <= set(schemas["TokenRefresh"]["properties"])
