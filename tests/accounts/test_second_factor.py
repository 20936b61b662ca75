"""Two-factor sign-in: enrolment, the code step (TOTP or a recovery code), lockout, the per-role policy, the API
token and an administrator's reset."""

import pyotp
import pytest
from axes.models import AccessAttempt
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import selectors
from accounts.models import RecoveryCode, hash_secret
from audit.models import AuditEvent
from tests.accounts.mfa_helpers import LOGIN, STEP, TOKEN, VERIFY, enrol

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clinic_clock")]

ENROL = "/accounts/security/authenticator/"


def sign_in_password(client, user, password, **extra):
    return client.post(LOGIN, {"username": user.email, "password": password}, **extra)


# --- Enrolment -------------------------------------------------------------------------------------------


def test_enrolment_shows_a_secret_and_turns_on_with_a_code_from_it(client, nurse_user):
    client.force_login(nurse_user)
    page = client.get(ENROL)
    assert page.status_code == 200
    secret = page.context["secret"]
    assert secret in page.content.decode().replace(" ", "") or page.context["secret_groups"]
    assert 'src="data:image/svg+xml' in page.content.decode()  # the QR code, no inline script or style
    # The same secret until it is confirmed (the app may already hold it).
    assert client.get(ENROL).context["secret"] == secret

    response = client.post(ENROL, {"code": pyotp.TOTP(secret).now()})

    assert response.status_code == 200
    codes = response.context["codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    for code in codes:
        assert code in response.content.decode()
    assert selectors.has_second_factor(nurse_user)
    # Stored hashed only.
    stored = set(RecoveryCode.objects.filter(user=nurse_user).values_list("code_hash", flat=True))
    assert stored == {hash_secret(code.replace("-", "")) for code in codes}
    assert not any(code in stored for code in codes)
    assert AuditEvent.objects.filter(
        event="accounts.user.second_factor_enrolled", object_pk=str(nurse_user.pk)
    ).exists()


def test_a_wrong_enrolment_code_says_so_and_turns_nothing_on(client, nurse_user):
    client.force_login(nurse_user)
    client.get(ENROL)
    response = client.post(ENROL, {"code": "000000"})
    assert response.status_code == 400
    assert "That code is not correct" in response.content.decode()
    assert not selectors.has_second_factor(nurse_user)
    assert not RecoveryCode.objects.filter(user=nurse_user).exists()


def test_replacing_an_existing_factor_needs_the_password_again(client, nurse_user, password, frozen_clinic_clock):
    enrol(nurse_user)
    client.force_login(nurse_user)
    frozen_clinic_clock.shift(11 * 60)  # past REAUTH_MAX_AGE_SECONDS
    response = client.get(ENROL)
    assert response.status_code == 403
    assert "Confirm it is you" in response.content.decode()


# --- Signing in with the second factor ---------------------------------------------------------------------


def test_sign_in_with_totp_takes_the_password_then_the_code(client, nurse_user, password, frozen_clinic_clock):
    app, _ = enrol(nurse_user)
    frozen_clinic_clock.shift(STEP)

    response = sign_in_password(client, nurse_user, password)

    assert response.status_code == 302 and response["Location"] == VERIFY
    assert "_auth_user_id" not in client.session  # the password alone signs no one in
    assert client.get("/").status_code == 302  # still anonymous
    response = client.post(VERIFY, {"code": app.now()})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.session["_auth_user_id"] == str(nurse_user.pk)
    assert AuditEvent.objects.filter(event="accounts.user.logged_in", object_pk=str(nurse_user.pk)).count() == 1


def test_a_totp_code_works_once(client, nurse_user, password, frozen_clinic_clock):
    app, _ = enrol(nurse_user)
    frozen_clinic_clock.shift(STEP)
    code = app.now()
    sign_in_password(client, nurse_user, password)
    client.post(VERIFY, {"code": code})
    other = client.__class__()
    sign_in_password(other, nurse_user, password)
    response = other.post(VERIFY, {"code": code})
    assert response.status_code == 400
    assert "_auth_user_id" not in other.session


def test_sign_in_with_a_recovery_code_uses_it_up(client, nurse_user, password):
    _, codes = enrol(nurse_user)
    sign_in_password(client, nurse_user, password)

    response = client.post(VERIFY, {"code": codes[0].upper()}, follow=True)

    assert client.session["_auth_user_id"] == str(nurse_user.pk)
    assert "9 left" in response.content.decode()
    assert selectors.unused_recovery_codes(nurse_user).count() == 9
    assert AuditEvent.objects.filter(event="accounts.user.recovery_code_used", object_pk=str(nurse_user.pk)).exists()
    # The same code again: refused.
    again = client.__class__()
    sign_in_password(again, nurse_user, password)
    assert again.post(VERIFY, {"code": codes[0]}).status_code == 400
    assert "_auth_user_id" not in again.session


def test_the_code_page_without_a_password_step_goes_back_to_sign_in(client):
    response = client.get(VERIFY)
    assert response.status_code == 302 and response["Location"] == LOGIN


def test_the_code_step_expires(client, nurse_user, password, frozen_clinic_clock):
    app, _ = enrol(nurse_user)
    sign_in_password(client, nurse_user, password)
    frozen_clinic_clock.shift(6 * 60)
    response = client.post(VERIFY, {"code": app.now()})
    assert response.status_code == 302 and response["Location"] == LOGIN
    assert "_auth_user_id" not in client.session


def test_failed_codes_count_towards_the_lockout(client, nurse_user, password, settings):
    settings.RATELIMIT_ENABLE = False
    app, _ = enrol(nurse_user)
    sign_in_password(client, nurse_user, password, REMOTE_ADDR="10.0.0.7")
    responses = [client.post(VERIFY, {"code": "123456"}, REMOTE_ADDR="10.0.0.7") for _ in range(5)]

    assert [r.status_code for r in responses[:4]] == [400] * 4
    assert responses[4].status_code == 423
    assert "temporarily locked" in responses[4].content.decode()
    assert AccessAttempt.objects.get(username=nurse_user.email, ip_address="10.0.0.7").failures_since_start == 5
    assert AuditEvent.objects.filter(event="accounts.user.login_failed", object_pk=str(nurse_user.pk)).count() == 5
    assert AuditEvent.objects.filter(event="accounts.user.locked_out", object_pk=str(nurse_user.pk)).exists()
    # Locked: the right password and a right code are refused too.
    again = client.__class__()
    assert sign_in_password(again, nurse_user, password, REMOTE_ADDR="10.0.0.7").status_code == 423
    assert "_auth_user_id" not in again.session


# --- Policy per role ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("role", "must_enrol"), [("admin", True), ("nurse", True), ("staff", False)])
def test_required_roles_land_on_enrolment_and_can_do_nothing_else(
    client, settings, user_for_role, password, role, must_enrol
):
    settings.MFA_REQUIRED_ROLES = ["admin", "doctor", "nurse"]
    user = user_for_role(role)

    response = sign_in_password(client, user, password)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)
    pages = ["/", "/patients/", "/accounts/security/", "/api/v1/auth/me/", "/admin/"]
    if must_enrol:
        for page in pages:
            answer = client.get(page)
            if page.startswith("/api/"):
                assert answer.status_code == 403
                assert "Enrol a second factor first" in answer.json()["detail"]
            else:
                assert answer.status_code == 302 and answer["Location"] == ENROL, page
        assert client.get(ENROL).status_code == 200  # enrolment stays reachable right after signing in
        assert client.post("/accounts/logout/").status_code == 302
    else:
        assert client.get("/").status_code == 200
        assert client.get("/accounts/security/").status_code == 200


def test_after_enrolling_a_required_user_goes_on(client, settings, nurse_user):
    settings.MFA_REQUIRED_ROLES = ["nurse"]
    client.force_login(nurse_user)
    secret = client.get(ENROL).context["secret"]
    client.post(ENROL, {"code": pyotp.TOTP(secret).now()})
    assert client.get("/").status_code == 200


def test_no_role_requires_a_second_factor_by_default_in_tests(settings):
    assert settings.MFA_REQUIRED_ROLES == []


def test_optional_roles_can_enrol_from_the_security_page(client, staff_user):
    client.force_login(staff_user)
    page = client.get("/accounts/security/")
    assert "Set up an authenticator app" in page.content.decode()
    enrol(staff_user)
    assert "Recovery codes left: <strong>10</strong>" in client.get("/accounts/security/").content.decode()


# --- API token ---------------------------------------------------------------------------------------------


def test_the_api_token_needs_the_code_of_a_user_who_has_one(api_client, nurse_user, password, frozen_clinic_clock):
    app, codes = enrol(nurse_user)
    frozen_clinic_clock.shift(STEP)

    missing = api_client.post(TOKEN, {"email": nurse_user.email, "password": password}, format="json")
    assert missing.status_code == 400
    assert "otp" in missing.json()
    wrong = api_client.post(TOKEN, {"email": nurse_user.email, "password": password, "otp": "000000"}, format="json")
    assert wrong.status_code == 401
    assert not nurse_user.outstandingtoken_set.exists()
    frozen_clinic_clock.shift(STEP)  # django-otp also slows down guessing: a wrong code holds the next for 1 s

    right = api_client.post(TOKEN, {"email": nurse_user.email, "password": password, "otp": app.now()}, format="json")
    assert right.status_code == 200
    assert set(right.json()) == {"access", "refresh"}
    recovery = api_client.post(TOKEN, {"email": nurse_user.email, "password": password, "otp": codes[1]}, format="json")
    assert recovery.status_code == 200


def test_wrong_api_codes_lock_the_account(api_client, nurse_user, password, settings):
    settings.RATELIMIT_ENABLE = False
    enrol(nurse_user)
    statuses = [
        api_client.post(
            TOKEN, {"email": nurse_user.email, "password": password, "otp": "111111"}, format="json"
        ).status_code
        for _ in range(5)
    ]
    assert statuses == [401, 401, 401, 401, 423]


def test_a_required_role_without_a_factor_gets_no_token(
    api_client, settings, doctor_user, staff_user, password, api_client_for
):
    settings.MFA_REQUIRED_ROLES = ["doctor"]
    response = api_client.post(TOKEN, {"email": doctor_user.email, "password": password}, format="json")
    assert response.status_code == 403
    assert "Enrol a second factor first" in response.json()["detail"]
    assert not doctor_user.outstandingtoken_set.exists()
    # A token issued before the policy applied is refused too; other roles are unaffected.
    assert api_client_for(doctor_user).get("/api/v1/auth/me/").status_code == 403
    assert api_client.post(TOKEN, {"email": staff_user.email, "password": password}, format="json").status_code == 200


def test_the_schema_documents_the_code_field(admin_user, api_client_for):
    schema = api_client_for(admin_user).get("/api/schema/?format=json").json()
    body = schema["paths"]["/api/v1/auth/token/"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    component = schema["components"]["schemas"][body["$ref"].rsplit("/", 1)[-1]]
    assert "otp" in component["properties"]
    assert "otp" not in component.get("required", [])
    assert "apiKey" in schema["components"]["securitySchemes"]


# --- Administrator's reset ---------------------------------------------------------------------------------


def test_an_administrator_resets_a_factor_with_a_reason_and_never_sees_it(client, admin_user, nurse_user):
    enrol(nurse_user)
    client.force_login(admin_user)
    url = f"/accounts/users/{nurse_user.pk}/second-factor/reset/"
    change_page = client.get(f"/admin/accounts/user/{nurse_user.pk}/change/").content.decode()
    assert url in change_page
    device = TOTPDevice.objects.get(user=nurse_user)
    assert device.key not in change_page
    assert client.get("/admin/otp_totp/totpdevice/").status_code == 404  # django-otp's admin (shows keys) is off

    assert client.post(url, {"reason": ""}).status_code == 400
    assert selectors.has_second_factor(nurse_user)
    response = client.post(url, {"reason": "Lost phone; identity checked in person"})

    assert response.status_code == 302
    assert not selectors.has_second_factor(nurse_user)
    assert not RecoveryCode.objects.filter(user=nurse_user).exists()
    entry = AuditEvent.objects.get(event="accounts.user.second_factor_reset")
    assert entry.actor == admin_user and entry.object_pk == str(nurse_user.pk)
    assert entry.additional_data == {"reason": "Lost phone; identity checked in person", "had_factor": True}


def test_only_administrators_reset_factors(client, doctor_user, nurse_user):
    enrol(nurse_user)
    client.force_login(doctor_user)
    response = client.post(f"/accounts/users/{nurse_user.pk}/second-factor/reset/", {"reason": "x"})
    assert response.status_code == 403
    assert selectors.has_second_factor(nurse_user)


def test_the_api_resets_a_factor(admin_user, nurse_user, api_client_for):
    enrol(nurse_user)
    client = api_client_for(admin_user)
    url = f"/api/v1/users/{nurse_user.pk}/reset-second-factor/"
    assert client.post(url, {}, format="json").status_code == 400
    assert client.post(url, {"reason": "Lost phone"}, format="json").status_code == 204
    assert not selectors.has_second_factor(nurse_user)


def test_new_recovery_codes_replace_the_old_ones(client, nurse_user, password, frozen_clinic_clock):
    _, old = enrol(nurse_user)
    client.force_login(nurse_user)
    response = client.post("/accounts/security/recovery-codes/")
    assert response.status_code == 200
    new = response.context["codes"]
    assert set(new).isdisjoint(old)
    stored = set(RecoveryCode.objects.filter(user=nurse_user).values_list("code_hash", flat=True))
    assert stored == {hash_secret(code.replace("-", "")) for code in new}
    frozen_clinic_clock.shift(STEP * 21)  # past the sudo window
    assert client.post("/accounts/security/recovery-codes/").status_code == 403


def test_administrators_reset_their_own_factor_only_from_the_security_page(client, admin_user):
    enrol(admin_user)
    client.force_login(admin_user)
    response = client.post(f"/accounts/users/{admin_user.pk}/second-factor/reset/", {"reason": "x"})
    assert response.status_code == 403
    assert selectors.has_second_factor(admin_user)


def test_an_htmx_request_of_a_user_who_must_enrol_is_sent_to_enrolment(client, settings, nurse_user):
    settings.MFA_REQUIRED_ROLES = ["nurse"]
    client.force_login(nurse_user)
    response = client.get("/patients/", HTTP_HX_REQUEST="true")
    assert response["HX-Redirect"] == ENROL
