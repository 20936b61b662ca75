"""The search's narrow table: kept in step with the patients, and read by PostgreSQL's search when it can."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from patients import demo, services
from patients.models import Patient, PatientSearchEntry
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/patients/"


def entry_of(patient: Patient) -> dict:
    return PatientSearchEntry.objects.filter(patient=patient).values(*sorted(PatientSearchEntry.FIELDS)).get()


def columns_of(patient: Patient) -> dict:
    return Patient.objects.filter(pk=patient.pk).values(*sorted(PatientSearchEntry.FIELDS)).get()


def test_creating_and_changing_a_patient_keeps_the_entry_in_step(admin_user):
    patient = PatientFactory(first_name="Rosa", last_name="Parks", city="Miami")
    assert entry_of(patient) == columns_of(patient)
    assert "rosa parks" in entry_of(patient)["search_document"]

    services.update_patient(actor=admin_user, patient=patient, data={"last_name": "Luxemburg", "city": "Tampa"})
    assert entry_of(patient) == columns_of(patient)
    assert "luxemburg" in entry_of(patient)["search_document"] and "tampa" in entry_of(patient)["search_document"]

    services.deactivate_patient(actor=admin_user, patient=patient)  # saves a few fields only
    assert entry_of(patient)["is_active"] is False
    services.reactivate_patient(actor=admin_user, patient=patient)
    assert entry_of(patient)["is_active"] is True


def test_a_save_of_other_fields_leaves_the_entry_alone():
    patient = PatientFactory()
    with CaptureQueriesContext(connection) as queries:
        patient.save(update_fields=["occupation"])
    assert not any("patients_patientsearchentry" in query["sql"] for query in queries.captured_queries)


def test_a_demo_load_writes_every_entry():
    PatientFactory()  # saved by hand before the load: its entry is not written twice
    demo.load(25, batch_size=10, workers=1)
    assert PatientSearchEntry.objects.count() == Patient.objects.count() == 26
    for patient in Patient.objects.all()[:5]:
        assert entry_of(patient) == columns_of(patient)


def search_sql(client, **params) -> str:
    """The SQL of a search request's queries on the entries, if any (one at most: the count and page keys)."""
    with CaptureQueriesContext(connection) as queries:
        assert client.get(URL, params).status_code == 200
    on_entries = [query["sql"] for query in queries.captured_queries if "patients_patientsearchentry" in query["sql"]]
    assert len(on_entries) <= 1, on_entries
    return " ".join(on_entries)


@pytest.mark.postgres_only
def test_postgres_counts_and_ranks_a_search_from_the_narrow_table(api_client_for, admin_user, staff_user):
    for index in range(3):
        PatientFactory(first_name="Ana", last_name=f"Cortes{index}", gender="female")
    target = PatientFactory(first_name="Cort", last_name="Zimmer", patient_number="CORT")
    admin = api_client_for(admin_user)

    assert "patients_patientsearchentry" in search_sql(admin, search="cort")
    assert "patients_patientsearchentry" in search_sql(admin, search="cort", is_active="all")
    assert "patients_patientsearchentry" in search_sql(api_client_for(staff_user), search="cort")
    # A filter on a column the entries lack: the patients' table answers.
    assert "patients_patientsearchentry" not in search_sql(admin, search="cort", gender="female")

    # The exact patient number still ranks first, then the name order.
    results = admin.get(URL, {"search": "cort"}).json()["results"]
    assert [row["id"] for row in results][0] == target.pk
    assert [row["last_name"] for row in results[1:]] == ["Cortes0", "Cortes1", "Cortes2"]


@pytest.mark.postgres_only
def test_postgres_narrow_table_matches_like_wildcards_literally(api_client_for, admin_user):
    literal = PatientFactory(email="ann_o@example.com")
    PatientFactory(email="annxo@example.com")
    admin = api_client_for(admin_user)

    assert "patients_patientsearchentry" in search_sql(admin, search="ann_o")
    assert [row["id"] for row in admin.get(URL, {"search": "ann_o"}).json()["results"]] == [literal.pk]
    assert admin.get(URL, {"search": "%"}).json()["count"] == 0


def entries_in_table_order() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT last_name FROM patients_patientsearchentry ORDER BY ctid")
        return [row[0] for row in cursor.fetchall()]


# Committed data, as the nightly run meets it: CLUSTER refuses a table with checks still pending in the transaction.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.postgres_only
def test_postgres_order_search_table_rewrites_the_entries_in_name_order():
    for last_name in ["Zimmer", "Adams", "Moreno", "Baker"]:
        PatientFactory(last_name=last_name)
    assert entries_in_table_order() == ["Zimmer", "Adams", "Moreno", "Baker"]

    output = StringIO()
    call_command("order_search_table", stdout=output)
    assert entries_in_table_order() == ["Adams", "Baker", "Moreno", "Zimmer"]
    assert "Rewrote the patient search table in name order" in output.getvalue()
    assert Patient.objects.filter(pk__in=PatientSearchEntry.objects.values("pk")).count() == 4


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.postgres_only
def test_postgres_order_search_table_gives_up_when_the_table_stays_locked():
    PatientFactory(last_name="Zimmer")
    PatientFactory(last_name="Adams")
    other = connections.create_connection("default")  # another session: a long read, say
    other.set_autocommit(False)
    try:
        other.cursor().execute("LOCK TABLE patients_patientsearchentry IN ACCESS SHARE MODE")
        with pytest.raises(CommandError, match="left as it was: canceling statement due to lock timeout"):
            call_command("order_search_table", "--lock-timeout", "1", stdout=StringIO())
    finally:
        other.close()
    assert entries_in_table_order() == ["Zimmer", "Adams"]


def test_order_search_table_has_nothing_to_do_on_sqlite():
    if connection.vendor == "postgresql":
        pytest.skip("SQLite's answer")
    output = StringIO()
    call_command("order_search_table", stdout=output)
    assert "Nothing to do" in output.getvalue()
