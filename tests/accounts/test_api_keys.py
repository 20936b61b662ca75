"""API keys for scripts: created by administrators (shown once, stored hashed), used with ``Authorization: Api-Key``
(audited under the key's name, rate limited, with the key's role), expired and revoked."""

import datetime

import pytest
from django.utils import timezone

from accounts import services
from accounts.models import APIKey, Role, hash_secret
from audit.models import AuditEvent
from scheduling import selectors as scheduling_selectors
from tests.factories import PatientFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clinic_clock")]


def make_key(actor, role=Role.STAFF, name="billing sync", days=30):
    return services.create_api_key(
        actor=actor, name=name, role=role, expires_at=timezone.now() + datetime.timedelta(days=days)
    )


def key_client(api_client, secret):
    api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    return api_client


def test_an_administrator_creates_a_key_shown_once_and_stored_hashed(client, admin_user):
    client.force_login(admin_user)
    response = client.post(
        "/accounts/api-keys/new/", {"name": "billing sync", "role": Role.STAFF, "expires_on": "2026-08-01"}
    )

    assert response.status_code == 200
    secret = response.context["secret"]
    assert secret in response.content.decode()
    key = APIKey.objects.get()
    assert (key.name, key.role, key.created_by) == ("billing sync", Role.STAFF, admin_user)
    assert key.key_hash == hash_secret(secret) and secret not in key.key_hash
    assert key.account.is_api_key_account and not key.account.has_usable_password()
    listing = client.get("/accounts/api-keys/").content.decode()
    assert "billing sync" in listing and secret not in listing and "never" in listing
    entry = AuditEvent.objects.get(event="accounts.apikey.created")
    assert entry.actor == admin_user and entry.additional_data["role"] == Role.STAFF


def test_bad_key_input_is_refused_with_messages(client, admin_user):
    client.force_login(admin_user)
    response = client.post("/accounts/api-keys/new/", {"name": "", "role": "boss", "expires_on": "2020-01-01"})
    assert response.status_code == 400
    assert not APIKey.objects.exists()
    errors = response.context["form"].errors
    assert {"name", "role"} <= set(errors)
    past = client.post("/accounts/api-keys/new/", {"name": "x", "role": Role.STAFF, "expires_on": "2020-01-01"})
    assert past.status_code == 400 and "in the future" in past.content.decode()


@pytest.mark.parametrize("role", [Role.DOCTOR, Role.STAFF, Role.READ_ONLY])
def test_only_administrators_manage_keys(client, user_for_role, role):
    client.force_login(user_for_role(role))
    assert client.get("/accounts/api-keys/").status_code == 403
    assert (
        client.post(
            "/accounts/api-keys/new/", {"name": "x", "role": Role.ADMIN, "expires_on": "2026-08-01"}
        ).status_code
        == 403
    )
    assert not APIKey.objects.exists()


def test_a_request_with_a_key_acts_with_its_role_and_is_audited_under_its_name(api_client, admin_user):
    key, secret = make_key(admin_user)
    PatientFactory(last_name="Smith")

    response = key_client(api_client, secret).get("/api/v1/patients/", {"search": "smith"})

    assert response.status_code == 200
    assert response.json()["count"] == 1
    used = AuditEvent.objects.get(event="accounts.apikey.used")
    assert used.actor == key.account and used.object_repr == "API key: billing sync"
    assert used.additional_data["route"] == "api:patient-list"
    search = AuditEvent.objects.get(event="patients.patient.searched")
    assert search.actor == key.account and str(search.actor) == "API key: billing sync"
    assert search.actor_role == Role.STAFF
    key.refresh_from_db()
    assert key.last_used_at == timezone.now()


def test_a_key_cannot_do_more_than_its_role(api_client, admin_user):
    _, secret = make_key(admin_user, role=Role.READ_ONLY)
    response = key_client(api_client, secret).post("/api/v1/patients/", {"first_name": "A"}, format="json")
    assert response.status_code == 403


def test_a_key_never_counts_as_a_recent_sign_in(api_client, admin_user):
    _, secret = make_key(admin_user, role=Role.ADMIN)
    patient = PatientFactory()
    response = key_client(api_client, secret).delete(f"/api/v1/patients/{patient.pk}/")
    assert response.status_code == 403
    patient.refresh_from_db()
    assert patient.is_active


def test_an_expired_key_is_refused(api_client, admin_user, frozen_clinic_clock):
    key, secret = make_key(admin_user, days=1)
    frozen_clinic_clock.shift(datetime.timedelta(days=1, seconds=1))
    response = key_client(api_client, secret).get("/api/v1/patients/")
    assert response.status_code == 401
    assert AuditEvent.objects.get(event="accounts.apikey.refused").additional_data["why"] == "expired"


def test_a_revoked_key_is_refused_at_once(client, api_client, admin_user):
    key, secret = make_key(admin_user)
    assert key_client(api_client, secret).get("/api/v1/patients/").status_code == 200
    client.force_login(admin_user)
    assert client.post(f"/accounts/api-keys/{key.pk}/revoke/").status_code == 302

    assert api_client.get("/api/v1/patients/").status_code == 401
    key.refresh_from_db()
    assert key.revoked_by == admin_user and not key.account.is_active
    assert AuditEvent.objects.filter(event="accounts.apikey.revoked", actor=admin_user).exists()
    assert "Revoked" in client.get("/accounts/api-keys/").content.decode()


def test_wrong_and_malformed_keys_get_401(api_client, admin_user):
    _, secret = make_key(admin_user)
    for value in (f"{secret}x", "nope", "", f"{secret} extra"):
        api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {value}")
        assert api_client.get("/api/v1/patients/").status_code == 401, value


def test_keys_work_when_mfa_is_required_for_their_role(api_client, admin_user, settings):
    settings.MFA_REQUIRED_ROLES = ["admin", "doctor", "nurse"]
    key, secret = make_key(admin_user, role=Role.DOCTOR)
    # Scripts cannot type codes: the key was created by an administrator in sudo mode instead.
    assert key_client(api_client, secret).get("/api/v1/patients/").status_code == 200
    # Its account cannot sign in with a password at all.
    token = api_client.post("/api/v1/auth/token/", {"email": key.account.email, "password": ""}, format="json")
    assert token.status_code in (400, 401)


def test_keys_are_rate_limited_like_users(api_client, admin_user, settings):
    settings.RATELIMIT_API_READ = "2/m"
    _, secret = make_key(admin_user)
    client = key_client(api_client, secret)
    assert [client.get("/api/v1/patients/").status_code for _ in range(3)] == [200, 200, 429]


def test_key_accounts_are_not_people(admin_user, api_client_for):
    key, _ = make_key(admin_user, role=Role.DOCTOR)
    assert key.account not in scheduling_selectors.clinicians()
    emails = [user["email"] for user in api_client_for(admin_user).get("/api/v1/users/").json()["results"]]
    assert key.account.email not in emails
