"""The API's JSON renderer writes what DRF's own writes, with orjson doing the encoding."""

import datetime
import uuid
from decimal import Decimal

import pytest
from django.utils.functional import lazy
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.serializer_helpers import ReturnDict, ReturnList

from patients.models import Patient
from spectrum.api import FastJSONRenderer
from tests.factories import PatientFactory

EASTERN = datetime.timezone(datetime.timedelta(hours=-5))


def drf(data, media_type=None, context=None) -> bytes:
    return JSONRenderer().render(data, media_type, context)


def fast(data, media_type=None, context=None) -> bytes:
    return FastJSONRenderer().render(data, media_type, context)


PAYLOADS = {
    "page of rows": {
        "count": 1001,
        "next": "http://testserver/api/v1/patients/?page=2&search=jos%C3%A9",
        "previous": None,
        "results": ReturnList(
            [
                ReturnDict(
                    {"id": 1, "last_name": "Núñez", "is_active": True, "age": 41, "ssn_masked": None}, serializer=None
                )
            ],
            serializer=None,
        ),
    },
    "dates and times": {
        "date": datetime.date(2026, 11, 22),
        "utc": datetime.datetime(2026, 11, 22, 14, 5, 9, 123456, tzinfo=datetime.UTC),
        "local": datetime.datetime(2026, 11, 22, 9, 5, 9, tzinfo=EASTERN),
        "naive": datetime.datetime(2026, 11, 22, 9, 5, 9, 500),
        "time": datetime.time(9, 30),
        "duration": datetime.timedelta(minutes=90),
    },
    "other types": {
        "decimal": Decimal("12.50"),
        "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "lazy": lazy(lambda: "Only administrators", str)(),
        "tuple": (1, "two", None),
        "float": 0.1,
        "big": 2**40,
        "nested": {"a": [{"b": [False, None, ""]}]},
    },
    "unicode": {"text": 'line\u2028separator\u2029paragraph, emoji 🙂, accents éü, quote " and \\ and \n'},
    "error": {"phone": ["Enter a US phone number, e.g. (305) 555-0123."], "detail": "Not found."},
    "empty": {},
    "list": [1, 2, 3],
}


@pytest.mark.parametrize("name", PAYLOADS)
def test_same_bytes_as_drf(name):
    assert fast(PAYLOADS[name]) == drf(PAYLOADS[name])


@pytest.mark.parametrize(
    "data",
    [
        {1: "integer key", None: "null key"},  # orjson wants string keys
        {"huge": 2**70},  # orjson stops at 64 bits
    ],
)
def test_what_orjson_refuses_drf_renders(data):
    assert fast(data) == drf(data)


def test_indented_output_is_drfs():
    data = {"a": [1, {"b": 2}]}
    assert fast(data, "application/json; indent=2") == drf(data, "application/json; indent=2") != drf(data)
    assert fast(data, None, {"indent": 4}) == drf(data, None, {"indent": 4})


def test_nothing_renders_nothing():
    assert fast(None) == b""


def test_what_drf_cannot_encode_still_fails():
    with pytest.raises(TypeError):
        fast({"object": object()})


@pytest.mark.django_db
def test_patient_list_is_rendered_by_it(admin_user, api_client_for):
    PatientFactory.create_batch(3, last_name="Grünewald")
    response = api_client_for(admin_user).get("/api/v1/patients/", {"search": "grün"})

    assert response.status_code == 200
    assert isinstance(response.accepted_renderer, FastJSONRenderer)
    assert response.content == drf(response.data)
    assert [row["last_name"] for row in response.json()["results"]] == ["Grünewald"] * 3
    assert Patient.objects.count() == 3
