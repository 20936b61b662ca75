"""Search semantics and filters, checked through the API (the page uses the same FilterSet)."""

import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/patients/"


@pytest.fixture
def people(db):
    return {
        "john": PatientFactory(first_name="John", last_name="Smith", phone="(305) 555-0123", city="Miami",
                               email="jsmith@example.com", address="12 Coral Way", occupation="Teacher"),
        "jane": PatientFactory(first_name="Jane", last_name="Smithers", preferred_name="Janie", phone="(786) 555-0199",
                               city="Hialeah", state="FL", occupation="Nurse aide"),
        "johnny": PatientFactory(first_name="Johnny", last_name="Appleseed", phone="(954) 222-3344", city="Orlando",
                                 state="FL", address="9 Orchard Rd"),
        "maria": PatientFactory(first_name="María", last_name="Núñez", phone="(407) 123-4567", city="Tampa",
                                state="GA"),
    }  # fmt: skip


def names(client, **params) -> list[str]:
    response = client.get(URL, params)
    assert response.status_code == 200, response.content
    return [f"{row['first_name']} {row['last_name']}" for row in response.json()["results"]]


@pytest.fixture
def client(admin_user):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(admin_user)  # not a JWT: some tests travel in time
    return client


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("smith", ["John Smith", "Jane Smithers"]),
        ("SMI", ["John Smith", "Jane Smithers"]),
        ("john smi", ["John Smith"]),
        ("smi john", ["John Smith"]),
        ("janie", ["Jane Smithers"]),
        ("jsmith@example", ["John Smith"]),
        ("coral way", ["John Smith"]),
        ("hialeah", ["Jane Smithers"]),
        ("teacher", ["John Smith"]),
        ("3055550123", ["John Smith"]),
        ("555-0123", ["John Smith"]),
        ("(305) 555", ["John Smith"]),
        ("555", ["John Smith", "Jane Smithers"]),
        ("núñez", ["María Núñez"]),
        ("nobody-matches", []),
    ],
)
def test_search_matches_any_field_and_words_narrow(client, people, term, expected):
    assert sorted(names(client, search=term)) == sorted(expected)


def test_search_by_state_and_patient_number(client, people):
    assert "María Núñez" in names(client, search="ga")
    number = people["johnny"].patient_number
    assert names(client, search=number.lower()) == ["Johnny Appleseed"]


def test_exact_patient_number_ranks_first(client):
    PatientFactory(first_name="Aaron", last_name="Aardvark", patient_number="P000010", address="P000010 box")
    target = PatientFactory(first_name="Zed", last_name="Zulu", patient_number="P00001")
    results = names(client, search="p00001")
    assert results[0] == "Zed Zulu"
    assert target.patient_number == "P00001"


def test_default_order_is_last_then_first_name_and_sortable(client, people):
    assert names(client) == ["Johnny Appleseed", "María Núñez", "John Smith", "Jane Smithers"]
    assert names(client, ordering="-last_name")[0] == "Jane Smithers"
    assert names(client, ordering="first_name")[0] == "Jane Smithers"
    response = client.get(URL, {"ordering": "ssn"})
    assert response.status_code == 400 and "ordering" in response.json()


def test_filters(client, people):
    assert sorted(names(client, city="miami")) == ["John Smith"]
    assert sorted(names(client, state="fl")) == ["Jane Smithers", "John Smith", "Johnny Appleseed"]
    people["maria"].gender = "male"
    people["maria"].save()
    assert names(client, gender="male") == ["María Núñez"]
    assert names(client, search="smith", city="hialeah") == ["Jane Smithers"]


@time_machine.travel(datetime.datetime(2026, 6, 15, 12, tzinfo=ZoneInfo("America/New_York")), tick=False)
def test_age_bounds_count_birthdays(client):
    PatientFactory(first_name="Turns", last_name="Today", date_of_birth=datetime.date(2006, 6, 15))  # 20 today
    PatientFactory(first_name="Turns", last_name="Tomorrow", date_of_birth=datetime.date(2006, 6, 16))  # 19
    PatientFactory(first_name="Was", last_name="Sixty", date_of_birth=datetime.date(1966, 6, 15))  # 60 today
    PatientFactory(first_name="Is", last_name="Sixtyone", date_of_birth=datetime.date(1965, 6, 15))  # 61 today
    assert sorted(names(client, min_age=20, max_age=60)) == ["Turns Today", "Was Sixty"]
    assert names(client, max_age=19) == ["Turns Tomorrow"]
    assert names(client, min_age=61) == ["Is Sixtyone"]
    assert client.get(URL, {"min_age": "abc"}).status_code == 400


def test_inactive_patients_only_for_admins(client, api_client_for, staff_user, people):
    people["john"].is_active = False
    people["john"].save()
    assert "John Smith" not in names(client)
    assert names(client, is_active="false") == ["John Smith"]
    assert "John Smith" in names(client, is_active="all")
    staff = api_client_for(staff_user)
    assert "John Smith" not in names(staff, search="smith")
    response = staff.get(URL, {"is_active": "false"})
    assert response.status_code == 400
    assert response.json() == {"is_active": ["Only administrators can list inactive patients."]}


def test_clinical_filters_refused_for_staff(api_client_for, staff_user, nurse_user, people):
    response = api_client_for(staff_user).get(URL, {"blood_type": "O+"})
    assert response.status_code == 400
    assert response.json() == {"blood_type": ["Your role may not filter by clinical fields."]}
    assert api_client_for(nurse_user).get(URL, {"blood_type": "O+"}).status_code == 200


def test_paging_and_page_size(client):
    for index in range(7):
        PatientFactory(last_name=f"Name{index}")
    page = client.get(URL, {"page_size": 3, "page": 2}).json()
    assert page["count"] == 7
    assert [row["last_name"] for row in page["results"]] == ["Name3", "Name4", "Name5"]
    assert "page=3" in page["next"] and "page=1" in page["previous"] or page["previous"].endswith("page_size=3")
    assert client.get(URL, {"page_size": 3, "page": 9}).status_code == 404


def test_count_is_capped_for_huge_results(client, monkeypatch):
    from spectrum.pagination import LargeTablePaginator

    monkeypatch.setattr(LargeTablePaginator, "count_limit", 5)
    for index in range(8):
        PatientFactory(last_name=f"Many{index}")
    page = client.get(URL, {"page_size": 3, "page": 3}).json()
    assert page["count"] == 6  # "5+": counting stopped after the limit
    assert [row["last_name"] for row in page["results"]] == ["Many6", "Many7"]
    assert page["next"] is None


@pytest.fixture
def many_cortes(db):
    """31 patients whose names hold "cort", interleaved in name order with others, some inactive."""
    people = []
    for index in range(31):
        people.append(PatientFactory(first_name=f"Ana{index % 4}", last_name=f"Cortes{index:02d}", gender="female"))
        PatientFactory(first_name="Zed", last_name=f"Cortez{index:02d}x", gender="male", is_active=index % 3 != 0)
        PatientFactory(first_name="Bob", last_name=f"Baker{index:02d}")
    return people


@pytest.mark.parametrize("filters", [{}, {"gender": "female"}, {"is_active": "all"}])
def test_every_page_of_a_common_term_is_the_name_order(client, many_cortes, monkeypatch, filters):
    """Every page lists what the plain query lists there, and the count stops at its limit."""
    from patients.models import PatientListEntry
    from spectrum.pagination import LargeTablePaginator

    monkeypatch.setattr(LargeTablePaginator, "count_limit", 8)
    expected = PatientListEntry.objects.filter(search_text__contains="cort")
    if filters.get("gender"):
        expected = expected.filter(gender="female")
    if not filters.get("is_active"):
        expected = expected.filter(is_active=True)
    expected = [p.patient_number for p in expected.order_by("last_name", "first_name", "pk")]

    listed = []
    for page in range(1, 20):
        response = client.get(URL, {"search": "Cort", "page_size": 7, "page": page, **filters})
        if response.status_code == 404:
            break
        assert response.json()["count"] == 9  # "8+"
        listed += [row["patient_number"] for row in response.json()["results"]]
    assert listed == expected and len(expected) > 20
