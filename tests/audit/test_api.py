"""/api/v1/audit-events/: administrators and auditors read the trail with the page's filters."""

import pytest

from audit import services as audit
from audit.models import AuditEvent

pytestmark = pytest.mark.django_db

URL = "/api/v1/audit-events/"


@pytest.mark.parametrize(
    ("role", "status"), [("admin", 200), ("read_only", 200), ("doctor", 403), ("nurse", 403), ("staff", 403)]
)
def test_role_matrix(api_client_for, user_for_role, role, status):
    assert api_client_for(user_for_role(role)).get(URL).status_code == status


def test_anonymous_gets_401(api_client):
    response = api_client.get(URL)
    assert response.status_code == 401 and "WWW-Authenticate" in response


@pytest.fixture
def viewed(nurse_user, patient):
    return audit.record(event="patients.patient.viewed", target=patient, actor=nurse_user, data={"channel": "api"})


def test_list_shape_and_fields(api_client_for, read_only_user, viewed, patient, nurse_user):
    body = api_client_for(read_only_user).get(URL, {"event": "patients.patient.viewed"}).json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 1
    assert body["results"] == [
        {
            "id": viewed.pk,
            "timestamp": body["results"][0]["timestamp"],
            "event": "patients.patient.viewed",
            "action": "access",
            "actor": nurse_user.pk,
            "actor_email": "nurse@clinic.test",
            "actor_role": "nurse",
            "object_type": "patients.patient",
            "object_id": str(patient.pk),
            "object_repr": str(patient),
            "patient_id": patient.pk,
            "remote_addr": None,
            "user_agent": "",
            "request_id": "",
            "changes": None,
            "additional_data": {"channel": "api"},
        }
    ]


def test_retrieve_and_404(api_client_for, admin_user, viewed):
    client = api_client_for(admin_user)
    assert client.get(f"{URL}{viewed.pk}/").json()["event"] == "patients.patient.viewed"
    assert client.get(f"{URL}99999999/").status_code == 404


def test_same_filters_as_the_page(api_client_for, admin_user, nurse_user, viewed, patient):
    client = api_client_for(admin_user)

    def events(**params) -> list[str]:
        response = client.get(URL, params)
        assert response.status_code == 200, response.content
        return [row["event"] for row in response.json()["results"]]

    assert events(patient=patient.pk) == ["patients.patient.viewed", "patients.patient.created"]
    assert events(patient=patient.patient_number, action="access") == ["patients.patient.viewed"]
    assert events(user=nurse_user.pk, object_type="patients.patient") == ["patients.patient.viewed"]
    assert "accounts.user.created" in events(event="accounts.user", action="create")
    assert events(date_from="2000-01-01", date_to="2000-01-31") == []


def test_invalid_filters_are_400(api_client_for, admin_user):
    response = api_client_for(admin_user).get(URL, {"date_from": "yesterday", "object_type": "x.y"})
    assert response.status_code == 400
    assert set(response.json()) == {"date_from", "object_type"}


def test_paging_and_newest_first(api_client_for, admin_user):
    for number in range(5):
        audit.record(event=f"test.thing.n{number}", target_model=AuditEvent)
    body = api_client_for(admin_user).get(URL, {"event": "test.thing", "page_size": 2}).json()
    assert body["count"] == 5 and body["next"] and body["previous"] is None
    assert [row["event"] for row in body["results"]] == ["test.thing.n4", "test.thing.n3"]


def test_reading_the_api_writes_nothing(api_client_for, admin_user):
    client = api_client_for(admin_user)
    client.get(URL)
    before = AuditEvent.objects.count()
    client.get(URL, {"event": "patients."})
    assert AuditEvent.objects.count() == before
