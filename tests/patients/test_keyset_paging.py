"""Keyset paging of the patient list: ``after``/``before`` name a patient's id, never a sort value.

Once the count stops at its limit ("1,000+", here lowered to 5) the "Next" and "Previous" links carry the id of
the last or first row shown; the server looks that row's sort values up in the list the user sees.
"""

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.models import AuditEvent
from patients import selectors
from patients.filters import SORT_CHOICES
from patients.models import PatientListEntry
from spectrum.pagination import LargeTablePaginator
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

API = "/api/v1/patients/"
LIST = "/patients/"
NOT_LISTED = ["That patient is not in this list. Start again from the first page."]


@pytest.fixture(autouse=True)
def capped_count(monkeypatch):
    monkeypatch.setattr(LargeTablePaginator, "count_limit", 5)


@pytest.fixture
def crowd(db, frozen_clinic_clock):
    """Fourteen patients sharing last names, first names, birth dates, cities and registration times (every
    sort has ties, broken by the key), plus an inactive one in the middle of the name order."""
    born = [datetime.date(1980, 1, 1), datetime.date(1990, 6, 15), datetime.date(1975, 3, 3)]
    cities = ["Miami", "Tampa", "Hialeah"]
    people = [
        PatientFactory(
            first_name=["Ana", "Bea", "Ana", "Cora"][index % 4],
            last_name=["Garcia", "Lopez", "Garcia", "Diaz", "Perez"][index % 5],
            date_of_birth=born[index % 3],
            city=cities[index % 3],
            patient_number="P1" if index == 0 else f"P1{index:02d}",  # a search for "P1" ranks P1 first
        )
        for index in range(14)
    ]
    registered = timezone.now() - datetime.timedelta(days=3)
    PatientListEntry.objects.filter(pk__in=[p.pk for p in people[::2]]).update(created_at=registered)
    hidden = PatientFactory(first_name="Ana", last_name="Garcia", is_active=False)
    return {"people": people, "hidden": hidden}


def expected_order(sort: str = "last_name", *, search: str = "") -> list[int]:
    """The active patients in ``sort``'s order, as the plain query lists them (every search below matches
    them all); a patient number searched for comes first."""
    columns = selectors.SORTS[sort.lstrip("-")]
    descending = "-" if sort.startswith("-") else ""
    entries = PatientListEntry.objects.filter(is_active=True)
    order = list(entries.order_by(*(f"{descending}{column}" for column in columns)).values_list("pk", flat=True))
    exact = list(entries.filter(patient_number=search).values_list("pk", flat=True))
    return exact + [pk for pk in order if pk not in exact]


def walk(client, url: str, params: dict | None, link: str) -> list[list[int]]:
    """Every page from ``url`` on, following the answers' ``link`` (next or previous)."""
    pages = []
    while url:
        response = client.get(url, params)
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["count"] == 6  # "5+": the links carry cursors
        pages.append([row["id"] for row in body["results"]])
        url, params = body[link], None
        assert not url or ("page=" not in url and "after=" in url if link == "next" else "before=" in url)
    return pages


@pytest.mark.parametrize("sort", [key for key, _ in SORT_CHOICES])
@pytest.mark.parametrize("search", ["", "305", "P1"])
def test_next_and_previous_walk_the_whole_list_in_its_order(api_client_for, admin_user, crowd, sort, search):
    """Ascending and descending, every sort, with ties in the sort key. Every patient's phone holds "305" (a
    search sorting its matches by ``Lower()`` of the name keys) and every number "P1" (the exact match first)."""
    client = api_client_for(admin_user)
    params = {"ordering": sort, "page_size": 3, **({"search": search} if search else {})}

    forward = walk(client, API, params, "next")
    assert [pk for page in forward for pk in page] == expected_order(sort, search=search)
    assert len(forward) == 5 and crowd["hidden"].pk not in expected_order(sort)

    backward = walk(client, API, {**params, "before": forward[-1][0]}, "previous")
    assert backward == forward[-2::-1]


def test_the_page_s_links_walk_by_cursor_past_the_counted_total(client, admin_user, crowd):
    client.force_login(admin_user)
    listed, url, params = [], LIST, {"page_size": 4}
    while url:
        html = client.get(url, params).content.decode()
        assert "5+ patients" in html
        listed += [int(pk) for pk in re.findall(r'href="/patients/(\d+)/"', html)]
        found = re.search(r'href="(\?[^"]*after=\d+[^"]*)"', html)
        url, params = (LIST + found.group(1).replace("&amp;", "&")) if found else None, None
    assert listed == expected_order()


@pytest.mark.parametrize("role", ["nurse", "staff", "doctor"])
def test_a_hidden_patient_is_refused_as_anchor_without_telling_it_exists(api_client_for, user_for_role, crowd, role):
    client = api_client_for(user_for_role(role))
    hidden = client.get(API, {"after": crowd["hidden"].pk})
    missing = client.get(API, {"after": 9_999_999})
    assert hidden.status_code == missing.status_code == 400
    assert hidden.json() == missing.json() == {"after": NOT_LISTED}


def test_an_anchor_the_filters_exclude_is_refused(api_client_for, admin_user, crowd):
    miami = next(p for p in crowd["people"] if p.city == "Miami")
    response = api_client_for(admin_user).get(API, {"city": "Tampa", "before": miami.pk})
    assert response.status_code == 400 and response.json() == {"before": NOT_LISTED}


def test_an_administrator_may_page_from_an_inactive_patient_listing_all(api_client_for, admin_user, crowd):
    client = api_client_for(admin_user)
    assert client.get(API, {"after": crowd["hidden"].pk}).status_code == 400  # not in the everyday list
    assert client.get(API, {"after": crowd["hidden"].pk, "is_active": "all"}).status_code == 200


@pytest.mark.parametrize(
    ("params", "errors"),
    [
        ({"after": "abc"}, {"after": ["Enter a whole number."]}),
        ({"before": "²"}, {"before": ["Enter a whole number."]}),
        ({"after": "0"}, {"after": ["Ensure this value is greater than or equal to 1."]}),
        ({"after": "99999999999999999999"}, {"after": ["Ensure this value is less than or equal to 9223372036854775807."]}),
        ({"after": "1", "before": "2"}, {"before": ["Page after one patient or before one, not both."]}),
        ({"after": "1", "page": "2"}, {"after": ["Page by number or from a patient, not both."]}),
    ],
)  # fmt: skip
def test_a_bad_cursor_is_a_400_per_field(api_client_for, admin_user, crowd, params, errors):
    response = api_client_for(admin_user).get(API, params)
    assert response.status_code == 400
    assert response.json() == errors


def test_a_bad_or_hidden_cursor_is_a_form_error_on_the_page(client, nurse_user, crowd):
    client.force_login(nurse_user)
    garbage = client.get(LIST, {"after": "abc"})
    hidden = client.get(LIST, {"after": crowd["hidden"].pk}, HTTP_HX_REQUEST="true")
    assert garbage.status_code == hidden.status_code == 200
    assert "Enter a whole number." in garbage.content.decode()
    assert NOT_LISTED[0] in hidden.content.decode()
    assert 'data-testid="result-count"' not in hidden.content.decode()  # no list, not even an empty one


def page_queries(client, params: dict) -> list[str]:
    client.get(API, params)  # the count, then remembered in Django's cache
    with CaptureQueriesContext(connection) as queries:
        response = client.get(API, params)
    assert response.status_code == 200
    return [query["sql"] for query in queries.captured_queries]


def test_a_keyset_page_costs_the_same_at_any_depth_and_uses_no_offset(api_client_for, admin_user, crowd, monkeypatch):
    # The page's own reads, not the cached answer of the same request asked again (patients.selectors).
    monkeypatch.setattr("patients.selectors.cached_list_page", lambda scope, build: build())
    client = api_client_for(admin_user)
    order = expected_order()
    shallow = page_queries(client, {"page_size": 2, "after": order[1]})
    deep = page_queries(client, {"page_size": 2, "after": order[-4]})
    backwards = page_queries(client, {"page_size": 2, "before": order[-2]})

    assert len(shallow) == len(deep) == len(backwards)
    assert not [sql for sql in shallow + deep + backwards if "OFFSET" in sql.upper()]
    numbered = page_queries(client, {"page_size": 2, "page": 6})
    assert [sql for sql in numbered if "OFFSET" in sql.upper()]  # what the cursor avoids


def test_each_keyset_page_writes_its_search_audit_entry(api_client_for, client, admin_user, crowd):
    order = expected_order()
    api_client_for(admin_user).get(API, {"search": "ana", "after": order[0]})
    client.force_login(admin_user)
    client.get(LIST, {"gender": "female", "before": order[5]})

    entries = AuditEvent.objects.filter(event="patients.patient.searched").order_by("id")
    assert [entry.additional_data for entry in entries] == [
        {"channel": "api", "terms": ["ana"], "filters": {}, "results": 6, "results_exact": False, "after": order[0]},
        {
            "channel": "page",
            "terms": [],
            "filters": {"gender": "female"},
            "results": 6,
            "results_exact": False,
            "before": order[5],
        },
    ]


def test_every_sort_column_is_not_null():
    """Keyset paging compares with the sort values, and NULL sorts differently on SQLite and PostgreSQL
    (``spectrum.pagination``): a nullable sort column needs its own clause first."""
    for columns in selectors.SORTS.values():
        for column in columns:
            assert not PatientListEntry._meta.get_field(column).null, column
