"""Recording costs one INSERT per audited action (plus the chain head's lock and move), nothing else in the trail."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit import services as audit
from audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def audit_statements(queries) -> list[str]:
    return [q["sql"].split(" ", 1)[0] for q in queries if '"audit_auditevent"' in q["sql"]]


def capture(call):
    call()  # warm caches (content types, permissions, sessions)
    with CaptureQueriesContext(connection) as captured:
        response = call()
    return response, captured.captured_queries


@pytest.mark.parametrize("role", ["nurse", "doctor", "staff"])
def test_patient_page_writes_one_entry_and_reads_no_trail(login, patient, role):
    client = login(role)
    response, queries = capture(lambda: client.get(f"/patients/{patient.pk}/"))
    assert response.status_code == 200
    assert audit_statements(queries) == ["INSERT"]


def test_api_retrieve_and_search_write_one_entry_each(api_client_for, nurse_user, patient):
    client = api_client_for(nurse_user)
    _, queries = capture(lambda: client.get(f"/api/v1/patients/{patient.pk}/"))
    assert audit_statements(queries) == ["INSERT"]
    _, queries = capture(lambda: client.get("/api/v1/patients/", {"search": "smith"}))
    assert audit_statements(queries) == ["INSERT"]


def test_search_page_writes_one_entry_and_no_extra_count(login, patient, monkeypatch):
    client = login("nurse")
    _, recorded = capture(lambda: client.get("/patients/", {"search": "smith"}))
    assert audit_statements(recorded) == ["INSERT"]
    monkeypatch.setattr(audit, "record_search", lambda **kwargs: None)
    _, unrecorded = capture(lambda: client.get("/patients/", {"search": "smith"}))
    # The INSERT and the chain head's lock and move (audit.chain), nothing more (the count is the page's own).
    assert len(recorded) == len(unrecorded) + 3


def test_refusal_writes_one_entry(login, patient):
    client = login("staff")
    _, queries = capture(lambda: client.post(f"/patients/{patient.pk}/deactivate/"))
    assert audit_statements(queries) == ["INSERT"]


def test_change_writes_its_entry_and_the_read(api_client_for, doctor_user, patient):
    client = api_client_for(doctor_user)
    cities = iter(["Tampa", "Orlando"])
    _, queries = capture(lambda: client.patch(f"/api/v1/patients/{patient.pk}/", {"city": next(cities)}))
    assert audit_statements(queries) == ["INSERT", "INSERT"]  # updated; viewed (the answer holds the record)


def test_the_trail_keeps_only_the_indexes_its_readers_use():
    """Every search and every record opened writes an entry: each index on the trail is paid for on every
    request. auditlog's own (action, correlation id, object keys) serve no page, report or export here."""
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, AuditEvent._meta.db_table)
    indexed = {
        tuple(details["columns"]) for details in constraints.values() if details["index"] and not details["primary_key"]
    }

    assert indexed == {
        ("actor_id", "timestamp"),  # a user's activity; the anomaly report
        ("patient_id", "timestamp"),  # a patient's history and accounting of disclosures
        ("timestamp",),  # the trail newest first, date ranges, retention
        ("event",),  # event filters and the export lookup (on PostgreSQL also a LIKE-prefix twin)
        ("content_type_id",),  # the record-type filter
    }
