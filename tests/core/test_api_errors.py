"""One exception handler turns every refusal a service raises into the API's answer.

Viewsets let services raise: no viewset maps Django's ValidationError or PermissionDenied itself.
"""

import re
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from spectrum.api import exception_handler
from spectrum.exceptions import ConflictError, DomainError

ROOT = Path(__file__).resolve().parents[2]


def _answer(exc: Exception) -> tuple[int, object]:
    response = exception_handler(exc, {})
    assert response is not None
    return response.status_code, response.data


def test_domain_errors_keep_their_status_message_and_extra_fields():
    conflict = ConflictError("That slot is taken.")
    conflict.extra = {"conflicts": [7]}
    assert _answer(conflict) == (409, {"detail": "That slot is taken.", "conflicts": [7]})
    assert _answer(DomainError("Already cancelled.")) == (400, {"detail": "Already cancelled."})


def test_django_validation_errors_answer_400_per_field():
    status, data = _answer(ValidationError({"date": ["The clinic is closed on Sundays."]}))
    assert status == 400 and data == {"date": ["The clinic is closed on Sundays."]}
    status, data = _answer(ValidationError("Not allowed today."))
    assert status == 400 and data == {"detail": ["Not allowed today."]}


def test_django_permission_denied_answers_403_with_its_message():
    assert _answer(PermissionDenied("Your role may not book over a conflict.")) == (
        403,
        {"detail": "Your role may not book over a conflict."},
    )
    status, data = _answer(PermissionDenied())
    assert status == 403 and data["detail"]


@pytest.mark.parametrize("app", ["accounts", "authorizations", "patients", "scheduling", "audit", "operations"])
def test_no_viewset_maps_django_errors_itself(app):
    for path in (ROOT / app).rglob("api/*.py"):
        source = path.read_text()
        assert not re.search(r"except\s*\(?\s*(Django)?(ValidationError|PermissionDenied)", source), path
