"""The patient list's read model: kept in step with the patients, and what every list reads."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from patients import demo, services
from patients.models import Patient, PatientListEntry
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/patients/"


def entry_of(patient: Patient) -> dict:
    return PatientListEntry.objects.filter(patient=patient).values(*PatientListEntry.COPIED_FIELDS).get()


def columns_of(patient: Patient) -> dict:
    return Patient.objects.filter(pk=patient.pk).values(*PatientListEntry.COPIED_FIELDS).get()


def test_creating_and_changing_a_patient_keeps_the_entry_in_step(admin_user):
    patient = PatientFactory(first_name="Rosa", last_name="Parks", city="Miami")
    assert entry_of(patient) == columns_of(patient)
    assert "rosa parks" in PatientListEntry.objects.get(patient=patient).search_text

    services.update_patient(actor=admin_user, patient=patient, data={"last_name": "Lúxemburg", "city": "Tampa"})
    entry = PatientListEntry.objects.get(patient=patient)
    assert entry_of(patient) == columns_of(patient)
    assert "lúxemburg" in entry.search_text and "tampa" in entry.search_text
    assert entry.last_name_key == "luxemburg"  # the list's order ignores case and accents

    services.deactivate_patient(actor=admin_user, patient=patient)  # saves a few fields only
    assert entry_of(patient)["is_active"] is False
    services.reactivate_patient(actor=admin_user, patient=patient)
    assert entry_of(patient)["is_active"] is True


def test_a_save_of_other_fields_leaves_the_entry_alone():
    patient = PatientFactory()
    with CaptureQueriesContext(connection) as queries:
        patient.save(update_fields=["referral_source"])
    assert not any("patients_patientlistentry" in query["sql"] for query in queries.captured_queries)


def test_a_demo_load_writes_every_entry():
    PatientFactory()  # saved by hand before the load: its entry is not written twice
    demo.load(25, batch_size=10, workers=1)
    assert PatientListEntry.objects.count() == Patient.objects.count() == 26
    for patient in Patient.objects.all()[:5]:
        assert entry_of(patient) == columns_of(patient)


def test_the_list_reads_the_entries_not_the_patients(api_client_for, admin_user):
    PatientFactory(first_name="Ana", last_name="Cortes")
    with CaptureQueriesContext(connection) as queries:
        assert api_client_for(admin_user).get(URL, {"search": "cort", "gender": "female"}).status_code == 200
    listing = [query["sql"] for query in queries.captured_queries if "patients_patientlistentry" in query["sql"]]
    assert listing and not any('"patients_patient"' in sql for sql in listing)


def test_like_wildcards_in_a_search_match_literally(api_client_for, admin_user):
    literal = PatientFactory(email="ann_o@example.com")
    PatientFactory(email="annxo@example.com")
    admin = api_client_for(admin_user)
    assert [row["id"] for row in admin.get(URL, {"search": "ann_o"}).json()["results"]] == [literal.pk]
    assert admin.get(URL, {"search": "%"}).json()["count"] == 0


def test_sorting_the_matches_and_walking_the_name_order_list_the_same(api_client_for, admin_user, monkeypatch):
    """Whether a search counts as having few matches (remembered a while) changes only how the page is read."""
    from django.core.cache import cache

    from patients import selectors

    for index in range(12):
        PatientFactory(first_name=f"Ana{index % 3}", last_name=f"Cortes{index % 5}")
        PatientFactory(first_name="Bob", last_name=f"Baker{index}")
    admin = api_client_for(admin_user)

    def listed():
        cache.clear()
        return [row["id"] for row in admin.get(URL, {"search": "cort", "page_size": 50}).json()["results"]]

    sorted_matches = listed()
    monkeypatch.setattr(selectors, "SORT_MATCHES_UP_TO", 3)
    assert listed() == sorted_matches and len(sorted_matches) == 12
