"""Under /api/ every error answer is JSON: an unknown address is a 404 and a method an endpoint does not take
is a 405, like the errors of the API's own views; pages keep their styled error pages."""

import re

import pytest

from tests.api.openapi import api_schema

METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.mark.parametrize(
    "path", ["/api/", "/api/v1/", "/api/v1/nothing-here/", "/api/v1/patients/1/nothing-here/", "/api/v2/patients/"]
)
def test_unknown_api_address_answers_json_404(api_client_for, admin_user, path):
    response = api_client_for(admin_user).get(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


def test_unknown_api_address_answers_json_404_to_anonymous_clients(api_client):
    response = api_client.post("/api/v1/nothing-here/", {"a": 1}, format="json")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_unknown_page_address_keeps_the_styled_page(client, admin_user):
    client.force_login(admin_user)

    response = client.get("/nothing-here/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert "find that page" in response.content.decode()


def _operations() -> list[tuple[str, set[str]]]:
    paths = api_schema()["paths"]
    # Every path parameter ({id}, and {document_pk} of a patient's document) becomes 1.
    return [(re.sub(r"\{\w+\}", "1", path), set(operations) & METHODS) for path, operations in paths.items()]


@pytest.mark.parametrize(("path", "documented"), _operations())
def test_api_endpoint_answers_a_method_it_does_not_take_with_json_405(api_client_for, admin_user, path, documented):
    client = api_client_for(admin_user)

    for method in sorted(METHODS - documented):
        response = getattr(client, method)(path, {}, format="json")

        assert response.status_code == 405, (method, response.status_code)
        assert response["Content-Type"] == "application/json"
        assert response.json()["detail"] == f'Method "{method.upper()}" not allowed.'
        allowed = {name.strip().lower() for name in response["Allow"].split(",")}
        assert documented <= allowed
