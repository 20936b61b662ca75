"""A 403 on a PHI path (pages, API, admin) is recorded for signed-in users; nothing else is."""

import pytest
from django.test import Client

from audit.models import AuditEvent

pytestmark = pytest.mark.django_db

DENIED = "accounts.permission.denied"


def denials() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(event=DENIED).order_by("id"))


@pytest.mark.parametrize(
    ("role", "method", "path", "patient_arg"),
    [
        ("read_only", "get", "/patients/new/", False),
        ("read_only", "get", "/patients/{pk}/edit/", True),
        ("staff", "post", "/patients/{pk}/deactivate/", True),
        ("nurse", "post", "/patients/{pk}/reactivate/", True),
        ("nurse", "get", "/audit/", False),
        ("doctor", "get", "/audit/compliance/", False),
        ("staff", "get", "/audit/export.csv", False),
    ],
)
def test_refused_pages_are_recorded(login, patient, role, method, path, patient_arg):
    client = login(role)
    url = path.format(pk=patient.pk)
    assert getattr(client, method)(url).status_code == 403
    [entry] = denials()
    assert entry.actor == client.user and entry.actor_role == role
    assert entry.patient_id == (patient.pk if patient_arg else None)
    assert entry.additional_data["path"] == url and entry.additional_data["method"] == method.upper()


@pytest.mark.parametrize(
    ("role", "method", "path", "patient_arg"),
    [
        ("read_only", "post", "/api/v1/patients/", False),
        ("read_only", "patch", "/api/v1/patients/{pk}/", True),
        ("staff", "delete", "/api/v1/patients/{pk}/", True),
        ("nurse", "get", "/api/v1/audit-events/", False),
    ],
)
def test_refused_api_calls_are_recorded_with_jwt(
    api_client_for, user_for_role, patient, role, method, path, patient_arg
):
    user = user_for_role(role)
    url = path.format(pk=patient.pk)
    assert getattr(api_client_for(user), method)(url, {}, format="json").status_code == 403
    [entry] = denials()
    assert entry.actor == user and entry.request_id
    assert entry.patient_id == (patient.pk if patient_arg else None)


def test_query_strings_are_not_recorded(login):
    login("nurse").get("/audit/", {"patient": "P000001", "event": "x"})
    assert denials()[0].additional_data["path"] == "/audit/"


def test_anonymous_visitors_not_found_and_other_paths_are_not_recorded(client, login, api_client, patient):
    assert client.get(f"/patients/{patient.pk}/edit/").status_code == 302
    assert api_client.get("/api/v1/patients/").status_code == 401
    nurse = login("nurse")
    assert nurse.get("/patients/999999/").status_code == 404
    assert nurse.get("/api/v1/users/").status_code == 403  # not PHI: the user list
    assert denials() == []


def test_csrf_refusal_on_a_phi_path_is_recorded(nurse_user, patient):
    client = Client(enforce_csrf_checks=True)
    client.force_login(nurse_user)
    assert client.post(f"/patients/{patient.pk}/edit/", {}).status_code == 403
    assert len(denials()) == 1
