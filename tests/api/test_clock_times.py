"""Appointment times are the clinic's wall clock: HH:MM[:SS] with no offset, in the schema and on the wire."""

import datetime
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings

from scheduling.models import Appointment, ServiceType
from tests.api.openapi import api_schema
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db
# A Monday morning in the clinic; the appointments below are on the Tuesday after.
NOW = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo(settings.TIME_ZONE))
TUESDAY = "2026-03-03"


@pytest.fixture(autouse=True)
def _frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


def _booking(**changes) -> dict:
    patient = PatientFactory()
    service = ServiceType.objects.get(code="IND")
    return {"patient": patient.pk, "service_type": service.pk, "date": TUESDAY, "start_time": "10:00", **changes}


@pytest.mark.parametrize("start_time", ["10:00+05:00", "10:00:00Z", "10:00:00.5", "10", "25:00", "10:00 "])
def test_a_clock_time_with_an_offset_or_another_shape_is_refused(api_client_for, staff_user, start_time):
    response = api_client_for(staff_user).post("/api/v1/appointments/", _booking(start_time=start_time), format="json")

    assert response.status_code == 400
    assert response.json()["start_time"] == ["Give a clinic clock time as HH:MM or HH:MM:SS, without a time zone."]
    assert not Appointment.objects.exists()


@pytest.mark.parametrize("start_time", ["10:00", "10:00:00"])
def test_a_clock_time_is_booked_and_answered_as_hh_mm_ss(api_client_for, staff_user, start_time):
    response = api_client_for(staff_user).post("/api/v1/appointments/", _booking(start_time=start_time), format="json")

    assert response.status_code == 201, response.content
    assert (response.json()["start_time"], response.json()["end_time"]) == ("10:00:00", "11:00:00")
    assert Appointment.objects.get().start_time == datetime.time(10, 0)


def test_the_schema_declares_clock_times_by_pattern_not_format_time():
    components = api_schema()["components"]["schemas"]
    declared = {
        f"{component}.{field}": components[component]["properties"][field]
        for component, field in [
            ("Appointment", "start_time"), ("Appointment", "end_time"), ("Series", "start_time"),
            ("SeriesInput", "start_time"),
        ]
    }  # fmt: skip

    for name, schema in declared.items():
        assert "format" not in schema, name
        assert re.fullmatch(schema["pattern"], "14:30") and re.fullmatch(schema["pattern"], "14:30:00"), name
        assert not re.fullmatch(schema["pattern"], "14:30:00+01:00"), name
