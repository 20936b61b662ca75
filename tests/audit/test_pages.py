"""The audit log page, its CSV export and the compliance report page: role matrix, filters, content."""

import csv
import datetime
import io

import pytest
import time_machine
from django.utils import timezone

from audit import services as audit
from audit.models import AuditEvent
from patients.models import Patient
from tests.audit.conftest import entry
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

LOG = "/audit/"
EXPORT = "/audit/export.csv"
REPORT = "/audit/compliance/"
DOWNLOAD = "/audit/compliance/download/"
ZONE = timezone.get_default_timezone()


@pytest.mark.parametrize("url", [LOG, EXPORT, REPORT, f"{DOWNLOAD}?format=csv"])
@pytest.mark.parametrize(
    ("role", "status"), [("admin", 200), ("read_only", 200), ("doctor", 403), ("nurse", 403), ("staff", 403)]
)
def test_role_matrix(login, url, role, status):
    assert login(role).get(url).status_code == status


@pytest.mark.parametrize("url", [LOG, EXPORT, REPORT, DOWNLOAD])
def test_anonymous_is_sent_to_sign_in(client, url):
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_navigation_shows_audit_to_reviewers_only(login):
    assert 'href="/audit/"' in login("read_only").get("/").content.decode()
    assert 'href="/audit/"' not in login("nurse").get("/").content.decode()


@pytest.fixture
def trail(nurse_user, doctor_user, patient):
    other = PatientFactory(first_name="Other", last_name="Person")
    with time_machine.travel(datetime.datetime(2026, 3, 2, 10, 0, tzinfo=ZONE), tick=False):
        audit.record(event="patients.patient.viewed", target=patient, actor=nurse_user, data={"channel": "page"})
    with time_machine.travel(datetime.datetime(2026, 3, 3, 10, 0, tzinfo=ZONE), tick=False):
        audit.record(event="patients.patient.viewed", target=other, actor=doctor_user, data={"channel": "api"})
        audit.record_security_event(None, "accounts.user.login_failed", user=nurse_user)
    return {"patient": patient, "other": other}


def rows(response) -> list[str]:
    return [entry.event + "|" + (entry.actor_email or "") for entry in response.context["page"].object_list]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (
            {"event": "patients.patient.viewed"},
            ["patients.patient.viewed|doctor@clinic.test", "patients.patient.viewed|nurse@clinic.test"],
        ),
        ({"event": "accounts."}, ["accounts.user.login_failed|nurse@clinic.test"]),
        (
            {"action": "access", "date_from": "2026-03-03", "date_to": "2026-03-03"},
            ["accounts.user.login_failed|nurse@clinic.test", "patients.patient.viewed|doctor@clinic.test"],
        ),
        ({"object_type": "accounts.user"}, ["accounts.user.login_failed|nurse@clinic.test"]),
        ({"date_to": "2026-03-02"}, ["patients.patient.viewed|nurse@clinic.test"]),
    ],
)
def test_filters(login, trail, params, expected):
    # The fixtures happened in March; users created and signed in today stay out of it.
    params = {"date_from": "2026-03-01", "date_to": "2026-03-31", **params}
    assert rows(login("read_only").get(LOG, params)) == expected


def test_filter_by_user_and_by_patient_id_or_number(login, trail, nurse_user):
    client = login("admin")
    assert rows(client.get(LOG, {"user": nurse_user.pk, "event": "patients."})) == [
        "patients.patient.viewed|nurse@clinic.test"
    ]
    patient = trail["patient"]
    by_id = rows(client.get(LOG, {"patient": patient.pk, "action": "access"}))
    by_number = rows(client.get(LOG, {"patient": patient.patient_number.lower(), "action": "access"}))
    assert by_id == by_number == ["patients.patient.viewed|nurse@clinic.test"]
    assert rows(client.get(LOG, {"patient": "P999999"})) == []


def test_invalid_filters_are_explained(login, trail):
    response = login("admin").get(LOG, {"date_from": "2026-03-05", "date_to": "2026-03-01", "action": "x"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "The end date is before the start date." in html and "Select a valid choice" in html


def test_page_shows_who_what_where(login, trail, nurse_user):
    html = login("read_only").get(LOG, {"user": nurse_user.pk, "event": "patients."}).content.decode()
    assert "nurse@clinic.test" in html and "patients.patient.viewed" in html and "channel:" in html
    assert f"?user={nurse_user.pk}" in html and f"patient={trail['patient'].pk}" in html
    assert "1 entry" in html


def test_paging(login, nurse_user):
    for _ in range(55):
        audit.record(event="patients.patient.searched", target_model=Patient, actor=nurse_user)
    client = login("admin")
    first = client.get(LOG, {"event": "patients.patient.searched"})
    assert len(first.context["page"].object_list) == 50 and "55 entries" in first.content.decode()
    second = client.get(LOG, {"event": "patients.patient.searched", "page": 2})
    assert len(second.context["page"].object_list) == 5
    assert client.get(LOG, {"page": "999"}).context["page"].number == 1


def test_csv_export_holds_the_filtered_entries_and_is_itself_recorded(login, trail, read_only_user):
    client = login("read_only")
    response = client.get(EXPORT, {"event": "patients.patient.viewed"})
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="audit-log-')
    table = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [(row["event"], row["actor_email"], row["patient_id"]) for row in table] == [
        ("patients.patient.viewed", "doctor@clinic.test", str(trail["other"].pk)),
        ("patients.patient.viewed", "nurse@clinic.test", str(trail["patient"].pk)),
    ]
    assert table[0]["object_type"] == "patients.patient" and table[0]["additional_data"] == '{"channel": "api"}'
    export = AuditEvent.objects.get(event="audit.auditevent.exported")
    assert export.actor == client.user
    assert export.additional_data["count"] == 2 and export.additional_data["filters"] == {
        "event": "patients.patient.viewed"
    }


def test_csv_cells_cannot_become_formulas(login, nurse_user):
    entry(event="accounts.user.login_failed", email="=HYPERLINK(1)")
    text = b"".join(login("admin").get(EXPORT).streaming_content).decode()
    assert "'=HYPERLINK(1)" in text and ",=HYPERLINK" not in text


def test_invalid_export_filters_answer_400_and_record_nothing(login):
    response = login("admin").get(EXPORT, {"date_from": "nope"})
    assert response.status_code == 400
    assert not AuditEvent.objects.filter(event="audit.auditevent.exported").exists()


def test_compliance_page_defaults_to_the_last_30_days(login):
    response = login("read_only").get(REPORT)
    report = response.context["report"]
    assert report.end == timezone.localdate() and (report.end - report.start).days == 29
    html = response.content.decode()
    assert "Access by user" in html and "Flagged anomalies" in html and "Download CSV" in html


def test_compliance_page_rejects_a_bad_period(login):
    response = login("admin").get(REPORT, {"date_from": "2026-03-10", "date_to": "2026-03-01"})
    assert response.status_code == 400
    assert "The end date is before the start date." in response.content.decode()
    response = login("admin").get(REPORT, {"date_from": "2024-01-01", "date_to": "2026-03-01"})
    assert "at most 366 days" in response.content.decode()


@pytest.mark.parametrize(
    ("export_format", "content_type", "marker"),
    [("csv", "text/csv", "Access by user"), ("html", "text/html", "<h1>Compliance report")],
)
def test_compliance_downloads_are_recorded_exports(login, trail, export_format, content_type, marker):
    client = login("admin")
    response = client.get(DOWNLOAD, {"date_from": "2026-03-01", "date_to": "2026-03-31", "format": export_format})
    assert response.status_code == 200 and response["Content-Type"].startswith(content_type)
    assert f'filename="compliance-report-20260301-20260331.{export_format}"' in response["Content-Disposition"]
    assert marker in response.content.decode()
    export = AuditEvent.objects.get(event="audit.report.exported")
    assert export.actor == client.user
    assert export.additional_data == {
        "channel": "page",
        "format": export_format,
        "count": 3,
        "report": "compliance",
        "from": "2026-03-01",
        "to": "2026-03-31",
    }


def test_compliance_download_refuses_unknown_formats(login):
    response = login("admin").get(DOWNLOAD, {"date_from": "2026-03-01", "date_to": "2026-03-31", "format": "pdf"})
    assert response.status_code == 400
    assert not AuditEvent.objects.filter(event="audit.report.exported").exists()
