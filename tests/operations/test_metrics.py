import pytest
from axes.models import AccessAttempt
from django.urls import reverse

from operations import backup

pytestmark = pytest.mark.django_db

URL = "/metrics"
TOKEN = "scrape-token-0123456789abcdef"


@pytest.fixture(autouse=True)
def _token(settings):
    settings.METRICS_TOKEN = TOKEN


def test_the_url_is_metrics():
    assert reverse("operations:metrics") == URL


def test_anonymous_gets_401_not_the_metrics(client):
    response = client.get(URL)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert b"django_http" not in response.content


@pytest.mark.parametrize("header", ["Bearer wrong-token", "Bearer ", f"Basic {TOKEN}"])
def test_a_wrong_token_gets_401(client, header):
    assert client.get(URL, HTTP_AUTHORIZATION=header).status_code == 401


def test_no_token_configured_means_no_token_works(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get(URL, HTTP_AUTHORIZATION="Bearer ").status_code == 401
    assert client.get(URL, HTTP_AUTHORIZATION="Bearer anything").status_code == 401


def test_the_scrape_token_reads_the_metrics(client, admin_user, settings):
    client.force_login(admin_user)
    client.get(reverse("patients:patient-list"))  # some traffic and queries to count
    client.logout()
    backup.create_backup(method="django")
    AccessAttempt.objects.create(
        username="locked@clinic.test", ip_address="10.0.0.9", user_agent="x", http_accept="x", path_info="/",
        get_data="", post_data="", failures_since_start=settings.AXES_FAILURE_LIMIT,
    )  # fmt: skip

    response = client.get(URL, HTTP_AUTHORIZATION=f"Bearer {TOKEN}")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    assert (
        'django_http_requests_total_by_view_transport_method_total{method="GET",transport="http",view="patients:patient-list"}'
        in text
    )
    assert "django_http_requests_latency_seconds_by_view_method_bucket" in text
    assert "django_db_execute_total{" in text
    assert "spectrum_active_sessions " in text
    assert 'spectrum_lockouts{kind="account"} 1.0' in text
    assert "spectrum_backup_age_seconds " in text and "spectrum_backup_age_seconds +Inf" not in text
    assert "spectrum_backup_max_age_seconds 93600.0" in text


def test_backup_age_is_infinite_without_a_backup(client):
    text = client.get(URL, HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()
    assert "spectrum_backup_age_seconds +Inf" in text


def test_an_administrators_session_reads_the_metrics(client, admin_user):
    client.force_login(admin_user)
    assert client.get(URL).status_code == 200


@pytest.mark.parametrize("role", ["doctor", "nurse", "staff", "read_only"])
def test_other_roles_get_403(client, user_for_role, role):
    client.force_login(user_for_role(role))
    assert client.get(URL).status_code == 403


def test_only_get(client):
    assert client.post(URL, HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 405
