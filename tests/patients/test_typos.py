"""Search that forgives typos ("Did you mean"), says why a row matched, and duplicates caught at registration.

The same code runs on SQLite and PostgreSQL: CI runs this module on both.
"""

import pytest
from django.urls import reverse

from accounts.models import Role
from audit.models import AuditEvent
from patients import selectors, services
from patients.models import Patient
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

API = "/api/v1/patients/"
LIST = reverse("patients:patient-list")
PICKER = reverse("scheduling:patient-picker")


@pytest.fixture
def people(db):
    return {
        "john": PatientFactory(first_name="John", last_name="Smith", city="Miami", phone="(305) 555-0123"),
        "maria": PatientFactory(first_name="Maria", last_name="Rodriguez", city="Pembroke Pines"),
        "ann": PatientFactory(first_name="Ann", last_name="Johnson", city="Tampa"),
        "zoe": PatientFactory(first_name="Zoe", last_name="Young", city="Orlando"),
    }


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("Jonh Smtih", "john"),  # a transposition in each word
        ("Smtih", "john"),
        ("Rodirguez", "maria"),  # a transposition
        ("Rodrigez", "maria"),  # a deletion
        ("Jhonson", "ann"),  # a transposition at the start
        ("Johnsen", "ann"),  # a substitution
        ("Smiht John", "john"),  # words in any order
    ],
)
def test_a_name_one_typo_away_is_offered_under_did_you_mean(api_client_for, staff_user, people, typed, expected):
    body = api_client_for(staff_user).get(API, {"search": typed}).json()
    assert body["count"] == 0 and body["results"] == []
    assert [row["id"] for row in body["did_you_mean"]][:1] == [people[expected].pk]


def test_did_you_mean_is_not_asked_when_the_search_finds_patients(api_client_for, staff_user, people, monkeypatch):
    def fail(**kwargs):
        raise AssertionError("a search that found patients must not pay for Did you mean")

    monkeypatch.setattr(selectors, "did_you_mean", fail)
    for _ in range(selectors.DID_YOU_MEAN_BELOW):
        PatientFactory(first_name="Johanna", last_name="Smithers")
    body = api_client_for(staff_user).get(API, {"search": "smith"}).json()
    assert body["count"] == 4 and body["did_you_mean"] == []


def test_did_you_mean_never_offers_what_the_role_may_not_see(api_client_for, staff_user, admin_user, people):
    people["john"].is_active = False
    people["john"].save()
    assert api_client_for(staff_user).get(API, {"search": "Jonh Smtih"}).json()["did_you_mean"] == []
    assert api_client_for(admin_user).get(API, {"search": "Jonh Smtih"}).json()["did_you_mean"] == []


def test_the_page_and_its_partial_show_did_you_mean(client, staff_user, people):
    client.force_login(staff_user)
    for headers in ({}, {"HX-Request": "true"}):
        html = client.get(LIST, {"search": "Jonh Smtih"}, headers=headers).content.decode()
        assert "No patients match" in html and "Did you mean" in html
        section = html[html.index('data-testid="did-you-mean"') :]
        assert "Smith, John" in section and people["john"].get_absolute_url() in section
        assert "Young, Zoe" not in html
    assert "Did you mean" not in client.get(LIST, {"search": "smith"}).content.decode()


def test_the_booking_picker_offers_did_you_mean(client, staff_user, people):
    client.force_login(staff_user)
    html = client.get(PICKER, {"q": "Rodirguez"}).content.decode()
    assert "No active patient matches" in html and "Did you mean" in html
    assert f'data-patient-id="{people["maria"].pk}"' in html
    assert "Did you mean" not in client.get(PICKER, {"q": "rodriguez"}).content.decode()


def test_a_search_still_writes_its_audit_entry_when_it_suggests(api_client_for, staff_user, people):
    api_client_for(staff_user).get(API, {"search": "Jonh Smtih"})
    entry = AuditEvent.objects.filter(event="patients.patient.searched").latest("timestamp")
    assert entry.additional_data["terms"] == ["jonh", "smtih"] and entry.additional_data["results"] == 0


@pytest.mark.parametrize(
    ("term", "matched_on"),
    [
        ("pembroke", "city: Pembroke Pines"),
        ("555-0123", "phone"),
        ("rodriguez", ""),
        ("maria pembroke", "city: Pembroke Pines"),
    ],
)
def test_a_row_says_why_it_matched_when_it_is_not_the_name(api_client_for, staff_user, people, term, matched_on):
    rows = api_client_for(staff_user).get(API, {"search": term}).json()["results"]
    assert [row["matched_on"] for row in rows] == [matched_on]


def test_the_page_says_why_a_row_matched(client, staff_user, people):
    client.force_login(staff_user)
    html = client.get(LIST, {"search": "pembroke"}).content.decode()
    assert "Rodriguez, Maria" in html and "matched on city: Pembroke Pines" in html


# --- Duplicates at registration ----------------------------------------------------------------------------

BASE = {"first_name": "Jonathan", "last_name": "Smith", "date_of_birth": "1980-04-02", "phone": "(786) 555-0100"}


@pytest.fixture
def jonathan(db):
    return PatientFactory(
        first_name="Jonathan", last_name="Smith", preferred_name="Jon", date_of_birth="1980-04-02", phone="", ssn=""
    )


@pytest.mark.parametrize(
    "changes",
    [
        {"first_name": "Jonahtan"},  # a transposition
        {"last_name": "Smyth"},  # a substitution
        {"last_name": "Smth"},  # a deletion
        {"first_name": "Jon"},  # their preferred name
        {"first_name": "JONATHAN", "last_name": "smith"},  # the same name, in other case
    ],
)
def test_same_birth_date_and_a_similar_name_is_a_likely_duplicate(nurse_user, jonathan, changes):
    with pytest.raises(services.DuplicatePatientError) as exc:
        services.create_patient(actor=nurse_user, data={**BASE, "phone": "", **changes})
    assert exc.value.duplicates == [jonathan]
    assert "same date of birth and a similar name" in exc.value.message
    assert Patient.objects.count() == 1


def test_a_different_name_or_birth_date_is_not_a_duplicate(nurse_user, jonathan):
    services.create_patient(actor=nurse_user, data={**BASE, "phone": "", "first_name": "Maria"})
    services.create_patient(actor=nurse_user, data={**BASE, "phone": "", "date_of_birth": "1980-04-03"})
    assert Patient.objects.count() == 3


def test_the_same_phone_is_a_likely_duplicate(nurse_user):
    existing = PatientFactory(first_name="Other", last_name="Person", phone="786-555-0100")
    with pytest.raises(services.DuplicatePatientError) as exc:
        services.create_patient(actor=nurse_user, data={**BASE, "phone": "7865550100"})
    assert exc.value.duplicates == [existing] and "same phone" in exc.value.message


def test_the_same_ssn_is_a_likely_duplicate(nurse_user):
    existing = PatientFactory(first_name="Other", last_name="Person", ssn="123-45-6789", phone="")
    with pytest.raises(services.DuplicatePatientError) as exc:
        services.create_patient(actor=nurse_user, data={**BASE, "ssn": "123456789"})
    assert exc.value.duplicates == [existing] and "same SSN" in exc.value.message


def test_an_edit_that_makes_a_record_like_another_warns_too(nurse_user, jonathan):
    other = PatientFactory(first_name="Maria", last_name="Lopez", date_of_birth="1980-04-02", phone="")
    with pytest.raises(services.DuplicatePatientError):
        services.update_patient(actor=nurse_user, patient=other, data={"first_name": "Jonatan", "last_name": "Smith"})
    other.refresh_from_db()
    assert other.first_name == "Maria"


def test_the_api_answers_409_with_the_reason(api_client_for, staff_user, jonathan):
    response = api_client_for(staff_user).post(API, {**BASE, "first_name": "Jonahtan"}, format="json")
    assert response.status_code == 409
    body = response.json()
    assert body["duplicates"] == [{"id": jonathan.pk, "patient_number": jonathan.patient_number}]
    assert "same date of birth and a similar name" in body["detail"]


def test_the_page_warns_with_the_reason(client, user_for_role, jonathan):
    client.force_login(user_for_role(Role.STAFF))
    form = {**BASE, "first_name": "Jonahtan", "gender": "male", "marital_status": "single", "state": "FL"}
    html = client.post(reverse("patients:patient-create"), form).content.decode()
    assert "Possible duplicate" in html and jonathan.patient_number in html
    assert "same date of birth and a similar name" in html
    assert Patient.objects.count() == 1
