"""Each recorded action writes exactly one entry, with every field the issue lists.

Actor (id, email at the time, role), action/event, object type and id, patient id when it concerns a
patient, IP address (proxy-aware), user agent, timestamp and request id.
"""

import datetime
import time

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.middleware import SESSION_KEY
from audit.models import AuditEvent
from tests.audit.conftest import AGENT, REQUEST_ID, entries_since
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

ADDRESS = "198.51.100.9"
LOGIN = "/accounts/login/"


def browser(user=None) -> Client:
    client = Client(HTTP_USER_AGENT=AGENT, HTTP_X_REQUEST_ID=REQUEST_ID, REMOTE_ADDR=ADDRESS)
    if user is not None:
        client.force_login(user)
    return client


def api(user=None) -> APIClient:
    client = APIClient(HTTP_USER_AGENT=AGENT, HTTP_X_REQUEST_ID=REQUEST_ID, REMOTE_ADDR=ADDRESS)
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


def only_entry(before: int, event: str) -> AuditEvent:
    entries = entries_since(before, event=event)
    assert len(entries) == 1, [e.event for e in entries_since(before)]
    return entries[0]


def assert_fields(entry: AuditEvent, *, event, actor, object_type, object_pk, patient_id=None, action=None):
    assert entry.event == event
    assert entry.actor_id == actor.pk
    assert entry.actor_email == actor.email
    assert entry.actor_role == actor.role
    assert entry.object_type == object_type
    assert entry.object_pk == str(object_pk)
    assert entry.patient_id == patient_id
    assert entry.remote_addr == ADDRESS
    assert entry.user_agent == AGENT
    assert entry.request_id == REQUEST_ID
    assert abs(timezone.now() - entry.timestamp) < datetime.timedelta(minutes=1)
    if action is not None:
        assert entry.action == action


# --- Security events -------------------------------------------------------------------------------------


def test_login(nurse_user, last_id):
    before = last_id()
    assert browser().post(LOGIN, {"username": nurse_user.email, "password": PASSWORD}).status_code == 302
    assert [e.event for e in entries_since(before)] == ["accounts.user.logged_in"]
    assert_fields(
        only_entry(before, "accounts.user.logged_in"),
        event="accounts.user.logged_in",
        actor=nurse_user,
        object_type="accounts.user",
        object_pk=nurse_user.pk,
    )


def test_login_failure(nurse_user, last_id):
    before = last_id()
    browser().post(LOGIN, {"username": nurse_user.email, "password": "wrong"})
    assert_fields(
        only_entry(before, "accounts.user.login_failed"),
        event="accounts.user.login_failed",
        actor=nurse_user,
        object_type="accounts.user",
        object_pk=nurse_user.pk,
    )


def test_lockout(nurse_user, last_id):
    before = last_id()
    client = browser()
    for _ in range(5):
        client.post(LOGIN, {"username": nurse_user.email, "password": "wrong"})
    assert_fields(
        only_entry(before, "accounts.user.locked_out"),
        event="accounts.user.locked_out",
        actor=nurse_user,
        object_type="accounts.user",
        object_pk=nurse_user.pk,
    )


def test_logout(staff_user, last_id):
    client = browser(staff_user)
    before = last_id()
    client.post("/accounts/logout/")
    assert_fields(
        only_entry(before, "accounts.user.logged_out"),
        event="accounts.user.logged_out",
        actor=staff_user,
        object_type="accounts.user",
        object_pk=staff_user.pk,
    )


def test_inactivity_logout(staff_user, last_id, settings):
    settings.SESSION_IDLE_TIMEOUT = 60
    client = browser(staff_user)
    client.get("/")
    session = client.session
    session[SESSION_KEY] = time.time() - 61
    session.save()
    before = last_id()
    client.get("/")
    assert_fields(
        only_entry(before, "accounts.session.timed_out"),
        event="accounts.session.timed_out",
        actor=staff_user,
        object_type="accounts.user",
        object_pk=staff_user.pk,
    )


def test_password_change(staff_user, last_id):
    client = browser(staff_user)
    before = last_id()
    new = "Another-Long-Pass-77"
    response = client.post(
        "/accounts/password/", {"old_password": PASSWORD, "new_password1": new, "new_password2": new}
    )
    assert response.status_code == 302
    assert [e.event for e in entries_since(before)] == ["accounts.user.password_changed"]
    assert_fields(
        only_entry(before, "accounts.user.password_changed"),
        event="accounts.user.password_changed",
        actor=staff_user,
        object_type="accounts.user",
        object_pk=staff_user.pk,
    )


def test_token_issue_refresh_revoke(doctor_user, last_id):
    client = api()
    before = last_id()
    tokens = client.post("/api/v1/auth/token/", {"email": doctor_user.email, "password": PASSWORD}).json()
    assert_fields(
        only_entry(before, "accounts.token.issued"),
        event="accounts.token.issued",
        actor=doctor_user,
        object_type="accounts.user",
        object_pk=doctor_user.pk,
    )
    before = last_id()
    refreshed = client.post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]}).json()
    assert_fields(
        only_entry(before, "accounts.token.refreshed"),
        event="accounts.token.refreshed",
        actor=doctor_user,
        object_type="accounts.user",
        object_pk=doctor_user.pk,
    )
    before = last_id()
    assert client.post("/api/v1/auth/logout/", {"refresh": refreshed["refresh"]}).status_code == 204
    assert_fields(
        only_entry(before, "accounts.token.revoked"),
        event="accounts.token.revoked",
        actor=doctor_user,
        object_type="accounts.user",
        object_pk=doctor_user.pk,
    )


def test_permission_denied_on_a_patient(staff_user, patient, last_id):
    client = browser(staff_user)
    before = last_id()
    response = client.post(f"/patients/{patient.pk}/deactivate/")
    assert response.status_code == 403
    entry = only_entry(before, "accounts.permission.denied")
    assert_fields(
        entry,
        event="accounts.permission.denied",
        actor=staff_user,
        object_type="accounts.user",
        object_pk=staff_user.pk,
        patient_id=patient.pk,
    )
    assert entry.additional_data == {
        "method": "POST",
        "path": f"/patients/{patient.pk}/deactivate/",
        "route": "patients:patient-deactivate",
    }


# --- Changes ---------------------------------------------------------------------------------------------


def test_patient_created_on_the_page(nurse_user, last_id):
    client = browser(nurse_user)
    before = last_id()
    form = {
        "first_name": "Ana",
        "last_name": "Diaz",
        "date_of_birth": "1985-06-01",
        "gender": "female",
        "marital_status": "single",
        "phone": "305 555 0100",
    }
    assert client.post("/patients/new/", form).status_code == 302
    assert [e.event for e in entries_since(before)] == ["patients.patient.created"]
    entry = only_entry(before, "patients.patient.created")
    assert_fields(
        entry,
        event="patients.patient.created",
        actor=nurse_user,
        object_type="patients.patient",
        object_pk=entry.patient_id,
        patient_id=entry.patient_id,
        action=AuditEvent.Action.CREATE,
    )
    assert entry.changes["first_name"] == ["None", "Ana"]


def test_patient_updated_through_the_api(doctor_user, patient, last_id):
    before = last_id()
    response = api(doctor_user).patch(f"/api/v1/patients/{patient.pk}/", {"city": "Tampa"}, format="json")
    assert response.status_code == 200
    # The change, then the read of the whole record the answer holds.
    assert [e.event for e in entries_since(before)] == ["patients.patient.updated", "patients.patient.viewed"]
    entry = only_entry(before, "patients.patient.updated")
    assert_fields(
        entry,
        event="patients.patient.updated",
        actor=doctor_user,
        object_type="patients.patient",
        object_pk=patient.pk,
        patient_id=patient.pk,
        action=AuditEvent.Action.UPDATE,
    )
    assert entry.changes["city"] == ["Miami", "Tampa"]


def test_patient_deactivated_on_the_page(doctor_user, patient, last_id):
    client = browser(doctor_user)
    before = last_id()
    assert client.post(f"/patients/{patient.pk}/deactivate/").status_code == 302
    entry = only_entry(before, "patients.patient.updated")
    assert_fields(
        entry,
        event="patients.patient.updated",
        actor=doctor_user,
        object_type="patients.patient",
        object_pk=patient.pk,
        patient_id=patient.pk,
    )
    assert entry.changes["is_active"] == ["True", "False"]


# --- Reads -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("channel", ["page", "api", "admin"])
def test_patient_viewed(channel, user_for_role, patient, last_id):
    user = user_for_role("admin" if channel == "admin" else "nurse")
    client = api(user) if channel == "api" else browser(user)
    before = last_id()
    if channel == "page":
        response = client.get(f"/patients/{patient.pk}/")
    elif channel == "api":
        response = client.get(f"/api/v1/patients/{patient.pk}/")
    else:
        response = client.get(f"/admin/patients/patient/{patient.pk}/change/")
    assert response.status_code == 200
    assert [e.event for e in entries_since(before)] == ["patients.patient.viewed"]
    entry = only_entry(before, "patients.patient.viewed")
    assert_fields(
        entry,
        event="patients.patient.viewed",
        actor=user,
        object_type="patients.patient",
        object_pk=patient.pk,
        patient_id=patient.pk,
        action=AuditEvent.Action.ACCESS,
    )
    assert entry.additional_data == {"channel": channel}


@pytest.mark.parametrize("channel", ["page", "api"])
def test_patient_search(channel, nurse_user, patient, last_id):
    client = browser(nurse_user) if channel == "page" else api(nurse_user)
    before = last_id()
    if channel == "page":
        response = client.get("/patients/", {"search": "smith", "gender": "female"})
    else:
        response = client.get("/api/v1/patients/", {"search": "smith", "gender": "female"})
    assert response.status_code == 200
    assert [e.event for e in entries_since(before)] == ["patients.patient.searched"]
    entry = only_entry(before, "patients.patient.searched")
    assert_fields(
        entry, event="patients.patient.searched", actor=nurse_user, object_type="patients.patient", object_pk=""
    )
    assert entry.additional_data == {
        "channel": channel,
        "terms": ["smith"],
        "filters": {"gender": "female"},
        "results": 1,
    }


def test_audit_log_export(read_only_user, last_id):
    client = browser(read_only_user)
    before = last_id()
    response = client.get("/audit/export.csv", {"event": "accounts."})
    assert response.status_code == 200
    b"".join(response.streaming_content)
    entry = only_entry(before, "audit.auditevent.exported")
    assert_fields(
        entry, event="audit.auditevent.exported", actor=read_only_user, object_type="audit.auditevent", object_pk=""
    )
    assert entry.additional_data["filters"] == {"event": "accounts."}
    assert entry.additional_data["format"] == "csv"


def test_address_behind_a_proxy_is_the_client(settings, nurse_user, patient, last_id):
    settings.TRUSTED_PROXY_COUNT = 1
    client = Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7")
    client.force_login(nurse_user)
    before = last_id()
    client.get(f"/patients/{patient.pk}/")
    assert only_entry(before, "patients.patient.viewed").remote_addr == "203.0.113.7"


def test_email_is_kept_as_it_was_at_the_time(nurse_user, patient, last_id):
    client = browser(nurse_user)
    before = last_id()
    client.get(f"/patients/{patient.pk}/")
    nurse_user.email = "renamed@clinic.test"
    nurse_user.save()
    assert only_entry(before, "patients.patient.viewed").actor_email == "nurse@clinic.test"
