"""Every patient search (page, search-as-you-type, API) writes one entry: terms, filters, results."""

import pytest

from audit.models import AuditEvent
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

LIST = "/patients/"
API = "/api/v1/patients/"


def searches() -> list[dict]:
    return [e.additional_data for e in AuditEvent.objects.filter(event="patients.patient.searched").order_by("id")]


@pytest.fixture
def people(db):
    PatientFactory(first_name="John", last_name="Smith", insurance_type="medicaid")
    PatientFactory(first_name="Jane", last_name="Smithers", insurance_type="private")
    PatientFactory(first_name="Zoe", last_name="Young", insurance_type="medicaid")


def test_search_on_the_page_records_terms_and_results(login, people):
    client = login("staff")
    assert client.get(LIST, {"search": "John Smi", "sort": "city", "page_size": "50"}).status_code == 200
    assert searches() == [{"channel": "page", "terms": ["john", "smi"], "filters": {}, "results": 1}]


def test_search_as_you_type_records_one_entry_per_request(login, people):
    client = login("nurse")
    for typed in ("s", "sm", "smi"):  # Zoe Young (Miami) has no "s"
        client.get(LIST, {"search": typed}, headers={"HX-Request": "true"})
    assert [(s["terms"], s["results"]) for s in searches()] == [(["s"], 2), (["sm"], 2), (["smi"], 2)]


def test_filters_without_terms_are_a_search(login, people):
    login("nurse").get(LIST, {"insurance_type": "medicaid"})
    assert searches() == [{"channel": "page", "terms": [], "filters": {"insurance_type": "medicaid"}, "results": 2}]


def test_plain_listing_and_paging_without_criteria_are_recorded_as_listings(login, people):
    client = login("nurse")
    client.get(LIST)
    client.get(LIST, {"sort": "-last_name", "page": "1"})
    client.get(API)
    listing = {"terms": [], "filters": {}, "results": 3}
    assert searches() == [{"channel": "page", **listing}, {"channel": "page", **listing}, {"channel": "api", **listing}]


def test_invalid_filters_show_nothing_and_record_nothing(login, people):
    response = login("staff").get(LIST, {"search": "smith", "blood_type": "O+"})
    assert "may not filter by clinical fields" in response.content.decode()
    assert searches() == []


def test_later_pages_record_the_page(login):
    PatientFactory.create_batch(30, last_name="Smith")
    login("nurse").get(LIST, {"search": "smith", "page": "2"})
    assert searches() == [{"channel": "page", "terms": ["smith"], "filters": {}, "results": 30, "page": 2}]


def test_api_search_records_terms_filters_and_total(api_client_for, nurse_user, people):
    response = api_client_for(nurse_user).get(API, {"search": "smith", "insurance_type": "medicaid", "page_size": 1})
    assert response.json()["count"] == 1
    assert searches() == [
        {"channel": "api", "terms": ["smith"], "filters": {"insurance_type": "medicaid"}, "results": 1}
    ]
    entry = AuditEvent.objects.get(event="patients.patient.searched")
    assert entry.actor == nurse_user and entry.actor_role == "nurse" and entry.patient_id is None


def test_phone_search_is_recorded_as_digits(api_client_for, nurse_user, people):
    api_client_for(nurse_user).get(API, {"search": "(305) 555"})
    assert searches()[0]["terms"] == ["305555"]


def test_counts_stop_at_the_limit_and_say_so(login, monkeypatch, people):
    from spectrum.pagination import LargeTablePaginator

    monkeypatch.setattr(LargeTablePaginator, "count_limit", 1)
    login("nurse").get(LIST, {"search": "smi"})
    assert searches() == [{"channel": "page", "terms": ["smi"], "filters": {}, "results": 2, "results_exact": False}]


def test_admin_search_and_filters_are_recorded(login, people):
    client = login("admin")
    assert (
        client.get("/admin/patients/patient/", {"q": "smith", "insurance_type__exact": "medicaid"}).status_code == 200
    )
    client.get("/admin/patients/patient/")  # the plain list discloses patients too
    assert searches() == [
        {"channel": "admin", "terms": ["smith"], "filters": {"insurance_type__exact": "medicaid"}, "results": 1},
        {"channel": "admin", "terms": [], "filters": {}, "results": 3},
    ]
