"""How many queries the patient list spends: the page, its htmx partial and the API read the same entries.

A search lists its page with one query. Its matches are counted once (capped), and the number is remembered in
Django's cache until a patient is written: it decides whether to sort the matches or walk the name order, and
it is the count the list shows. The page, the partial and the API also keep the page in the cache until a
patient is written, so a search asked again reads no entry at all there.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

PAGE_SIZE = 25
TARGETS = {
    "page": ("/patients/", {}),
    "partial": ("/patients/", {"HTTP_HX_REQUEST": "true"}),
    "api": ("/api/v1/patients/", {}),
}

# Entry queries of a search asked again: none, the page, the partial and the API answer from the cached page.
AGAIN = {"page": 0, "partial": 0, "api": 0}


def entry_queries(client, target: str, params: dict) -> list[str]:
    url, headers = TARGETS[target]
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, {**params, "page_size": PAGE_SIZE}, **headers)
    assert response.status_code == 200
    return [query["sql"] for query in queries.captured_queries if "patients_patientlistentry" in query["sql"]]


@pytest.fixture
def signed_in(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.mark.parametrize("target", TARGETS)
def test_a_search_whose_first_page_holds_every_match_runs_no_count(signed_in, target):
    for first_name in ["Ana", "Bea", "Cora", "Dina"]:
        PatientFactory(first_name=first_name, last_name="Quintero")

    first = entry_queries(signed_in, target, {"search": "quinter"})
    again = entry_queries(signed_in, target, {"search": "quinter"})

    assert len(first) == 2  # the count (then remembered), the page
    assert len(again) == AGAIN[target]


@pytest.mark.parametrize("target", TARGETS)
def test_a_search_filling_its_first_page_counts_its_matches_once(signed_in, target):
    PatientFactory.create_batch(PAGE_SIZE + 2, last_name="Quintero")
    entry_queries(signed_in, target, {"search": "quinter"})  # the count, remembered

    assert len(entry_queries(signed_in, target, {"search": "quinter"})) == AGAIN[target]


def test_the_remembered_count_follows_every_patient_write(signed_in, admin_user):
    from patients import services

    quinteros = PatientFactory.create_batch(PAGE_SIZE + 2, last_name="Quintero")

    def count() -> int:
        return signed_in.get("/api/v1/patients/", {"search": "quinter", "page_size": PAGE_SIZE}).json()["count"]

    assert count() == PAGE_SIZE + 2
    PatientFactory(last_name="Quintero")  # a registration
    assert count() == PAGE_SIZE + 3
    services.deactivate_patient(actor=admin_user, patient=quinteros[0])  # a change through the service
    assert count() == PAGE_SIZE + 2
    html = signed_in.get("/patients/", {"search": "quinter"}).content.decode()
    assert f"{PAGE_SIZE + 2} patients match" in html


def test_the_counts_are_the_same_either_way(signed_in):
    PatientFactory.create_batch(3, last_name="Quintero")
    PatientFactory.create_batch(PAGE_SIZE + 2, last_name="Olmedo")

    few = signed_in.get("/api/v1/patients/", {"search": "quinter", "page_size": PAGE_SIZE}).json()
    many = signed_in.get("/api/v1/patients/", {"search": "olmed", "page_size": PAGE_SIZE}).json()

    assert (few["count"], len(few["results"]), few["next"]) == (3, 3, None)
    assert (many["count"], len(many["results"])) == (PAGE_SIZE + 2, PAGE_SIZE) and many["next"]


def test_the_cached_filter_panel_follows_the_role_and_the_filters_set(client, admin_user, staff_user):
    client.force_login(admin_user)
    assert 'name="is_active"' in client.get("/patients/").content.decode()  # cached for administrators
    client.force_login(staff_user)
    assert 'name="is_active"' not in client.get("/patients/").content.decode()  # not the administrators' panel
    assert 'name="blood_type"' not in client.get("/patients/").content.decode()

    client.force_login(admin_user)
    filtered = client.get("/patients/", {"gender": "female"}).content.decode()
    assert '<option value="female" selected>' in filtered and '<details class="filters" open>' in filtered
    unfiltered = client.get("/patients/", {"page_size": 50, "sort": "city"}).content.decode()
    assert '<option value="50" selected>' in unfiltered and 'name="sort" value="city"' in unfiltered


def test_the_cached_page_of_a_search_follows_every_patient_write(signed_in, admin_user):
    from patients import services

    quintero = PatientFactory(first_name="Ana", last_name="Quintero")
    assert "Quintero, Ana" in signed_in.get("/patients/", {"search": "quinter"}).content.decode()  # cached now

    PatientFactory(first_name="Bea", last_name="Quintero")
    html = signed_in.get("/patients/", {"search": "quinter"}, HTTP_HX_REQUEST="true").content.decode()
    assert "Quintero, Bea" in html and "2 patients match" in html

    services.update_patient(actor=admin_user, patient=quintero, data={"first_name": "Anabel"})
    html = signed_in.get("/patients/", {"search": "quinter"}).content.decode()
    assert "Quintero, Anabel" in html and "Quintero, Ana<" not in html


def test_a_cached_page_is_not_shown_to_a_role_that_sees_less(client, admin_user, staff_user):
    PatientFactory(first_name="Ina", last_name="Quintero")
    client.force_login(admin_user)
    html = client.get("/patients/", {"search": "quinter"}).content.decode()
    assert "Quintero, Ina" in html and 'data-testid="export-csv"' in html  # administrators export
    client.force_login(staff_user)
    html = client.get("/patients/", {"search": "quinter"}).content.decode()
    assert "Quintero, Ina" in html and 'data-testid="export-csv"' not in html


def test_every_search_is_audited_even_when_its_page_comes_from_the_cache(signed_in):
    from audit.models import AuditEvent

    PatientFactory(last_name="Quintero")
    before = AuditEvent.objects.count()
    signed_in.get("/patients/", {"search": "quinter"})
    signed_in.get("/patients/", {"search": "quinter"})
    assert AuditEvent.objects.count() == before + 2


def test_the_apis_cached_page_follows_writes_and_the_roles_fields(client, admin_user, staff_user):
    PatientFactory(first_name="Ana", last_name="Quintero", ssn="123-45-6789")

    def names(user) -> list[tuple[str, bool]]:
        client.force_login(user)
        results = client.get("/api/v1/patients/", {"search": "quinter"}).json()["results"]
        return [(row["first_name"], "ssn_masked" in row) for row in results]

    assert names(admin_user) == [("Ana", True)]  # cached now
    assert names(staff_user) == [("Ana", False)]  # front desk does not get the masked SSN
    PatientFactory(first_name="Bea", last_name="Quintero")
    assert names(admin_user) == [("Ana", True), ("Bea", True)]
