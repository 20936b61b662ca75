"""Every operation of the OpenAPI schema lists the error answers it can give, with their JSON bodies."""

import pytest

from tests.api.openapi import api_schema

SCHEMA = api_schema()
OPERATIONS = {
    f"{method.upper()} {path}": operation
    for path, operations in SCHEMA["paths"].items()
    for method, operation in operations.items()
}


def documented(label: str) -> set[str]:
    return set(OPERATIONS[label]["responses"])


@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_every_operation_documents_authentication_outages_and_json_error_bodies(label):
    responses = OPERATIONS[label]["responses"]

    assert {"401", "503"} <= set(responses)
    for status, response in responses.items():
        if status >= "400":
            assert set(response["content"]) == {"application/json"}, (label, status)
    assert responses["503"]["headers"]["Retry-After"]["required"] is True


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("DELETE /api/v1/patients/{id}/", {"204", "401", "403", "404", "409", "429", "503"}),
        ("GET /api/v1/appointment-series/", {"200", "400", "401", "403", "404", "429", "503"}),
        ("POST /api/v1/patients/", {"201", "400", "401", "403", "409", "415", "429", "503"}),
        ("GET /api/v1/auth/me/", {"200", "401", "403", "429", "503"}),
        ("POST /api/v1/auth/token/", {"200", "400", "401", "415", "423", "429", "503"}),
        ("GET /api/v1/patients/{id}/", {"200", "401", "403", "404", "429", "503"}),
    ],
)
def test_operation_documents_the_statuses_it_can_answer_with(label, expected):
    assert documented(label) == expected


def test_error_bodies_are_detail_messages_or_per_field_messages():
    schemas = SCHEMA["components"]["schemas"]

    assert schemas["Error"]["required"] == ["detail"]
    assert schemas["ValidationError"]["type"] == "object"
    assert OPERATIONS["POST /api/v1/patients/"]["responses"]["400"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ValidationError"
    }
    assert OPERATIONS["POST /api/v1/patients/"]["responses"]["409"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"
    }


def test_patient_fields_some_roles_may_not_see_are_documented_but_never_required():
    patient = SCHEMA["components"]["schemas"]["Patient"]

    assert {"diagnosis", "allergies", "ssn_masked"} <= set(patient["properties"])
    assert not {"diagnosis", "allergies", "ssn_masked"} & set(patient["required"])
    assert "Absent from the answers given to roles" in patient["properties"]["ssn_masked"]["description"]
