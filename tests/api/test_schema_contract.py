"""The OpenAPI schema is a contract: schemathesis generates requests for every operation of the served schema,
as an administrator and as the read-only role, and every answer must be one the schema documents.

A failure is any 5xx, any status code or content type the operation does not list, any body or header that
does not match its documented schema. Each operation gets a bounded number of generated requests (valid and
invalid ones, plus schemathesis' boundary cases), so the run takes a few minutes; set SCHEMA_FUZZ_EXAMPLES
to fuzz harder and SCHEMA_FUZZ_SEED to explore other inputs (the default seed keeps CI reproducible).

The requests go through Django's WSGI application in this process, inside the test's transaction.
"""

import copy
import datetime
import json
import os
from zoneinfo import ZoneInfo

import pytest
import schemathesis
import time_machine
from django.conf import settings as django_settings
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from rest_framework_simplejwt.tokens import RefreshToken
from schemathesis.errors import FailureGroup

from accounts.models import Role
from authorizations.models import Authorization
from scheduling import services as scheduling
from scheduling.models import ServiceType
from tests.api.openapi import api_schema
from tests.factories import PatientFactory, UserFactory

MAX_EXAMPLES = int(os.environ.get("SCHEMA_FUZZ_EXAMPLES", "8"))
SEED = int(os.environ.get("SCHEMA_FUZZ_SEED", "20261203"))
# "positive": boundary values of valid requests (a few dozen per operation). "all" adds every invalid variant
# schemathesis knows (hundreds per operation, about ten times longer): run it before a release.
COVERAGE = os.environ.get("SCHEMA_FUZZ_COVERAGE", "positive")
# A Wednesday morning in the clinic: the seeded appointments and series are in its future.
NOW = datetime.datetime(2026, 3, 4, 9, 0, tzinfo=ZoneInfo(django_settings.TIME_ZONE))

# A failure whose fix is still on its way may be tolerated here as (operation, status) with the reason; an
# answer with that status from that operation then passes whatever else is wrong with it. Keep it empty.
KNOWN_ELSEWHERE: dict[tuple[str, int], str] = {}

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": SEED,
        "suppress-health-check": ["all"],
        "generation": {
            "mode": "all",  # valid requests and invalid ones
            "max-examples": MAX_EXAMPLES,
            "database": "none",  # no .hypothesis folder in the work tree
            "deterministic": True,
            # The persona's bearer token is sent with every request; generated credentials would replace it.
            "with-security-parameters": False,
        },
        "phases": {"stateful": {"enabled": False}, "coverage": {"generation": {"mode": COVERAGE}}},
        "checks": {
            "enabled": False,
            "not_a_server_error": {"enabled": True},
            "status_code_conformance": {"enabled": True},
            "content_type_conformance": {"enabled": True},
            "response_schema_conformance": {"enabled": True},
            "response_headers_conformance": {"enabled": True},
        },
    }
)

# The schema /api/schema/ serves (test_served_schema_is_the_fuzzed_one proves they are the same).
schema = schemathesis.openapi.from_dict(copy.deepcopy(api_schema()), config=CONFIG)
APP = get_wsgi_application()


@pytest.fixture(scope="module")
def _frozen_clock():
    with time_machine.travel(NOW, tick=True):
        yield


PERSONA_IDS = {Role.ADMIN: 900_001, Role.READ_ONLY: 900_002}


@pytest.fixture(params=list(PERSONA_IDS))
def persona(request, db, settings, _frozen_clock) -> dict[str, str]:
    """Headers of a signed-in administrator or read-only user, with some records to find.

    Lockout and rate limits are raised for this test only: generated sign-ins and thousands of requests
    would otherwise lock the address and spend the quota, and every later answer would be 423 or 429.
    """
    settings.AXES_FAILURE_LIMIT = settings.LOCKOUT_ADDRESS_FAILURE_LIMIT = 1_000_000
    settings.RATELIMIT_LOGIN = settings.RATELIMIT_API_READ = settings.RATELIMIT_API_WRITE = "1000000/m"
    settings.RATELIMIT_API_WRITE_BY_ROLE = settings.RATELIMIT_API_WRITE_BY_USER = {}
    # Far from the ids of the users the run creates, so a generated PATCH /users/{id}/ does not deactivate them.
    user = UserFactory(pk=PERSONA_IDS[request.param], email=f"fuzz-{request.param}@clinic.test", role=request.param)
    _seed_records()
    # As Django's test client does: each request would otherwise close the connection holding the
    # test's transaction.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield {"Authorization": f"Bearer {RefreshToken.for_user(user).access_token}"}
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def _seed_records() -> None:
    """One of each record, with small ids, so generated ids find something and responses carry data."""
    admin = UserFactory(email="seed-admin@clinic.test", role=Role.ADMIN)
    clinician = UserFactory(email="seed-nurse@clinic.test", role=Role.NURSE)
    patient = PatientFactory()
    individual = ServiceType.objects.get(code="IND")
    scheduling.book_appointment(
        actor=admin, patient=patient, service_type=individual, clinician=clinician,
        date=NOW.date() + datetime.timedelta(days=1), start_time=datetime.time(10, 0), notes="Intake",
    )  # fmt: skip
    scheduling.create_series(
        actor=admin,
        request=scheduling.SeriesRequest(
            patient=patient, service_type=individual, clinician=clinician, start_date=NOW.date(),
            start_time=datetime.time(14, 30), frequency="weekly", weekdays=("wed",), count=3,
        ),
    )  # fmt: skip
    authorization = Authorization.objects.create(
        patient=patient, payer="Sunshine Health", auth_number="A00001", units_authorized=10,
        start_date=NOW.date() - datetime.timedelta(days=30), end_date=NOW.date() + datetime.timedelta(days=60),
        approval_date=NOW.date() - datetime.timedelta(days=30),
    )  # fmt: skip
    authorization.service_types.set([individual])


@schema.parametrize()
def test_every_operation_keeps_the_contract(case, persona):
    response = case.call(headers=persona, app=APP)
    try:
        case.validate_response(response, headers=persona)
    except FailureGroup:
        if (case.operation.label, response.status_code) not in KNOWN_ELSEWHERE:
            raise


@pytest.mark.parametrize("role", list(PERSONA_IDS))
def test_served_schema_is_the_fuzzed_one(api_client_for, user_for_role, role):
    response = api_client_for(user_for_role(role)).get("/api/schema/", {"format": "json"})

    assert response.status_code == 200
    assert response.json() == json.loads(json.dumps(api_schema()))
