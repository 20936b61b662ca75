"""Sudo mode: each dangerous action asks for the password (or a code) again after REAUTH_MAX_AGE_SECONDS, on pages
and in the API, and a form that needed it goes on with what the user typed."""

import datetime

import pytest

from accounts import selectors
from accounts.models import APIKey, Role
from audit.models import AuditEvent
from patients.models import Patient
from tests.accounts.mfa_helpers import STEP, enrol
from tests.factories import PatientFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clinic_clock")]

LATER = datetime.timedelta(seconds=601)  # just past REAUTH_MAX_AGE_SECONDS (600)


@pytest.fixture
def stale_admin(client, admin_user, frozen_clinic_clock):
    """An administrator who signed in 10 minutes and a second ago."""
    client.force_login(admin_user)
    frozen_clinic_clock.shift(LATER)
    return admin_user


def asks_again(response) -> bool:
    return response.status_code == 403 and 'data-testid="reauth-form"' in response.content.decode()


# --- Pages ---------------------------------------------------------------------------------------------------


def test_a_recent_sign_in_deactivates_a_patient_without_asking(client, admin_user):
    patient = PatientFactory()
    client.force_login(admin_user)
    assert client.post(f"/patients/{patient.pk}/deactivate/").status_code == 302
    patient.refresh_from_db()
    assert not patient.is_active


def test_deactivating_a_patient_asks_again_then_goes_on(client, stale_admin, password):
    patient = PatientFactory()
    url = f"/patients/{patient.pk}/deactivate/"

    response = client.post(url)
    assert asks_again(response)
    assert Patient.objects.get(pk=patient.pk).is_active

    wrong = client.post(url, {"reauth_password": "not-my-password"})
    assert asks_again(wrong) and "That is not correct" in wrong.content.decode()
    assert Patient.objects.get(pk=patient.pk).is_active
    assert AuditEvent.objects.filter(event="accounts.user.login_failed", object_pk=str(stale_admin.pk)).exists()

    done = client.post(url, {"reauth_password": password})
    assert done.status_code == 302
    assert not Patient.objects.get(pk=patient.pk).is_active
    assert AuditEvent.objects.filter(event="accounts.user.reauthenticated", object_pk=str(stale_admin.pk)).exists()


def test_a_code_from_the_app_also_confirms(client, admin_user, frozen_clinic_clock):
    app, _ = enrol(admin_user)
    client.force_login(admin_user)
    frozen_clinic_clock.shift(LATER)
    patient = PatientFactory()
    response = client.post(f"/patients/{patient.pk}/deactivate/", {"reauth_code": app.now()})
    assert response.status_code == 302
    assert not Patient.objects.get(pk=patient.pk).is_active


def test_the_window_lasts_reauth_max_age(client, stale_admin, password, frozen_clinic_clock, settings):
    first, second = PatientFactory(), PatientFactory()
    client.post(f"/patients/{first.pk}/deactivate/", {"reauth_password": password})
    frozen_clinic_clock.shift(datetime.timedelta(seconds=590))
    assert client.post(f"/patients/{second.pk}/deactivate/").status_code == 302
    frozen_clinic_clock.shift(datetime.timedelta(seconds=11))
    assert asks_again(client.get("/exports/patients.csv"))  # 601 s after the password
    settings.REAUTH_MAX_AGE_SECONDS = 3600
    assert client.get("/exports/patients.csv").status_code == 200


def test_deactivating_a_patient_in_the_admin_asks_again(client, stale_admin):
    patient = PatientFactory()
    response = client.post(f"/admin/patients/patient/{patient.pk}/change/", {"first_name": patient.first_name})
    assert asks_again(response)
    assert Patient.objects.get(pk=patient.pk).is_active


def test_changing_a_role_in_the_admin_keeps_the_form_through_the_password(client, stale_admin, staff_user, password):
    url = f"/admin/accounts/user/{staff_user.pk}/change/"
    form = {"email": staff_user.email, "full_name": "Stan Renamed", "role": Role.DOCTOR, "is_active": "on"}

    response = client.post(url, form)

    assert asks_again(response)
    page = response.content.decode()
    assert 'name="full_name" value="Stan Renamed"' in page and 'name="role" value="doctor"' in page
    staff_user.refresh_from_db()
    assert staff_user.role == Role.STAFF
    carried = dict(form, reauth_password=password)
    assert client.post(url, carried).status_code == 302
    staff_user.refresh_from_db()
    assert (staff_user.role, staff_user.full_name) == (Role.DOCTOR, "Stan Renamed")


def test_deactivating_a_user_in_the_admin_asks_again(client, stale_admin, staff_user):
    url = f"/admin/accounts/user/{staff_user.pk}/change/"
    response = client.post(url, {"email": staff_user.email, "full_name": staff_user.full_name, "role": Role.STAFF})
    assert asks_again(response)
    staff_user.refresh_from_db()
    assert staff_user.is_active


def test_other_user_edits_do_not_ask(client, stale_admin, staff_user):
    url = f"/admin/accounts/user/{staff_user.pk}/change/"
    form = {"email": staff_user.email, "full_name": "New Name", "role": Role.STAFF, "is_active": "on"}
    assert client.post(url, form).status_code == 302


def test_resetting_a_factor_asks_again(client, stale_admin, nurse_user):
    enrol(nurse_user)
    response = client.post(f"/accounts/users/{nurse_user.pk}/second-factor/reset/", {"reason": "lost phone"})
    assert asks_again(response)
    assert 'value="lost phone"' in response.content.decode()
    assert selectors.has_second_factor(nurse_user)


def test_an_export_asks_again_and_comes_back_to_the_download(client, stale_admin, password):
    PatientFactory()
    url = "/exports/patients.csv"

    response = client.get(url)
    assert asks_again(response)
    assert 'action="/accounts/reauthenticate/"' in response.content.decode()
    assert not AuditEvent.objects.filter(event="patients.patient.exported").exists()

    back = client.post("/accounts/reauthenticate/", {"next": url, "reauth_password": password})
    assert back.status_code == 302 and back["Location"] == url
    download = client.get(url)
    assert download.status_code == 200
    b"".join(download.streaming_content)


def test_reauthentication_never_redirects_off_site(client, stale_admin, password):
    back = client.post("/accounts/reauthenticate/", {"next": "https://evil.example/", "reauth_password": password})
    assert back.status_code == 302 and back["Location"] == "/"


def test_creating_and_revoking_api_keys_ask_again(client, stale_admin, password):
    form = {"name": "billing sync", "role": Role.STAFF, "expires_on": "2026-08-01"}
    assert asks_again(client.post("/accounts/api-keys/new/", form))
    assert not APIKey.objects.exists()
    created = client.post("/accounts/api-keys/new/", dict(form, reauth_password=password))
    assert created.status_code == 200
    assert created.context["secret"] in created.content.decode()  # shown once, in the answer to the POST
    assert APIKey.objects.get().name == "billing sync"


def test_revoking_a_key_asks_again(client, admin_user, frozen_clinic_clock, password):
    from accounts import services

    key, _ = services.create_api_key(
        actor=admin_user, name="k", role=Role.STAFF, expires_at=datetime.datetime.now(datetime.UTC) + STEP * 100
    )
    client.force_login(admin_user)
    frozen_clinic_clock.shift(LATER)
    assert asks_again(client.post(f"/accounts/api-keys/{key.pk}/revoke/"))
    key.refresh_from_db()
    assert key.revoked_at is None
    assert client.post(f"/accounts/api-keys/{key.pk}/revoke/", {"reauth_password": password}).status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None


# --- API ------------------------------------------------------------------------------------------------------


@pytest.fixture
def stale_token(admin_user, api_client_for, frozen_clinic_clock):
    """An administrator's API client whose sign-in (the token's auth_time) is 10 minutes and a second old."""
    client = api_client_for(admin_user)
    frozen_clinic_clock.shift(LATER)
    return client


def test_api_deactivating_a_patient_needs_a_recent_sign_in(stale_token, admin_user, api_client_for):
    patient = PatientFactory()
    response = stale_token.delete(f"/api/v1/patients/{patient.pk}/")
    assert response.status_code == 403
    assert response.json()["detail"].startswith("This needs a recent sign-in")
    assert Patient.objects.get(pk=patient.pk).is_active
    assert api_client_for(admin_user).delete(f"/api/v1/patients/{patient.pk}/").status_code == 204
    assert not Patient.objects.get(pk=patient.pk).is_active


@pytest.mark.parametrize("change", [{"role": "doctor"}, {"is_active": False}])
def test_api_role_change_and_deactivation_need_a_recent_sign_in(
    stale_token, staff_user, admin_user, api_client_for, change
):
    url = f"/api/v1/users/{staff_user.pk}/"
    assert stale_token.patch(url, change, format="json").status_code == 403
    staff_user.refresh_from_db()
    assert (staff_user.role, staff_user.is_active) == (Role.STAFF, True)
    assert stale_token.patch(url, {"full_name": "Other"}, format="json").status_code == 200  # not an access change
    assert api_client_for(admin_user).patch(url, change, format="json").status_code == 200


def test_api_factor_reset_needs_a_recent_sign_in(stale_token, nurse_user):
    enrol(nurse_user)
    response = stale_token.post(f"/api/v1/users/{nurse_user.pk}/reset-second-factor/", {"reason": "x"}, format="json")
    assert response.status_code == 403
    assert selectors.has_second_factor(nurse_user)


def test_a_refreshed_token_keeps_its_sign_in_time(admin_user, password, api_client, frozen_clinic_clock):
    tokens = api_client.post("/api/v1/auth/token/", {"email": admin_user.email, "password": password}, format="json")
    frozen_clinic_clock.shift(LATER)
    refreshed = api_client.post("/api/v1/auth/token/refresh/", {"refresh": tokens.json()["refresh"]}, format="json")
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {refreshed.json()['access']}")
    patient = PatientFactory()
    assert api_client.delete(f"/api/v1/patients/{patient.pk}/").status_code == 403


def test_the_decorator_and_the_mixin_guard_any_view(rf, admin_user, frozen_clinic_clock):
    """Other features (e.g. changing reminder templates) reuse these two as they are."""
    from django.contrib.sessions.backends.db import SessionStore
    from django.http import HttpResponse
    from django.views import View

    from accounts.reauth import ReauthRequiredMixin, mark_authenticated, reauth_required

    @reauth_required
    def change_templates(request):
        return HttpResponse("changed")

    class ChangeTemplates(ReauthRequiredMixin, View):
        def post(self, request):
            return HttpResponse("changed")

    request = rf.post("/reminders/templates/", {"body": "Hello"})
    request.user = admin_user
    request.session = SessionStore()
    for view in (change_templates, ChangeTemplates.as_view()):
        refused = view(request)
        assert refused.status_code == 403 and b'name="body" value="Hello"' in refused.content
    mark_authenticated(request)
    for view in (change_templates, ChangeTemplates.as_view()):
        assert view(request).content == b"changed"


def test_changing_a_reminder_template_asks_again_and_keeps_the_text(client, stale_admin, password):
    from reminders.models import ReminderTemplate

    path = "/reminders/templates/reminder/email/"
    text = {"subject": "See you soon", "body": "See you {{ date }} at {{ time }}. {{ link }}", "save": "1"}

    response = client.post(path, text)
    assert asks_again(response)
    assert not ReminderTemplate.objects.exists()

    done = client.post(path, {**text, "reauth_password": password})
    assert done.status_code == 302
    assert ReminderTemplate.objects.get().body == text["body"]
