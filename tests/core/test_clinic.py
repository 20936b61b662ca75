"""The clinic's hours and working days are read in one place, and booking, series and the audit report follow it."""

import datetime
import re
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured, ValidationError

from scheduling import recurrence, services
from spectrum.clinic import clinic_hours

ROOT = Path(__file__).resolve().parents[2]
APPS = ("accounts", "audit", "authorizations", "operations", "patients", "scheduling", "spectrum")
SATURDAY = datetime.date(2026, 3, 7)
MONDAY = datetime.date(2026, 3, 9)


@pytest.fixture
def saturday_mornings(settings):
    settings.CLINIC_HOURS_START = "08:00"
    settings.CLINIC_HOURS_END = "12:00"
    settings.CLINIC_WORKDAYS = [5]


def test_only_spectrum_clinic_reads_the_hours_settings():
    readers = [
        str(path.relative_to(ROOT))
        for app in APPS
        for path in (ROOT / app).rglob("*.py")
        if path.name != "settings.py" and re.search(r"settings\.CLINIC_(HOURS|WORKDAYS)", path.read_text())
    ]
    assert readers == []


def test_booking_grid_and_rules_follow_the_hours(saturday_mornings, db):
    times = services.start_times()
    assert (times[0], times[-1]) == (datetime.time(8), datetime.time(11, 45))
    services.check_slot_rules(services.Slot(SATURDAY, datetime.time(8), 60), closed={})
    with pytest.raises(ValidationError) as closed:
        services.check_slot_rules(services.Slot(MONDAY, datetime.time(8), 60), closed={})
    assert closed.value.message_dict == {"date": ["The clinic is closed on Mondays."]}
    with pytest.raises(ValidationError) as late:
        services.check_slot_rules(services.Slot(SATURDAY, datetime.time(11, 30), 60), closed={})
    assert "after closing time (12:00 PM)" in late.value.message_dict["duration_minutes"][0]


def test_series_and_audit_report_follow_the_working_days(saturday_mornings):
    assert recurrence.is_open(SATURDAY, set()) and not recurrence.is_open(MONDAY, set())
    hours = clinic_hours()
    assert hours.contains(datetime.datetime(2026, 3, 7, 9, 30))
    assert not hours.contains(datetime.datetime(2026, 3, 7, 12, 0))
    assert not hours.contains(datetime.datetime(2026, 3, 9, 9, 30))


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("CLINIC_HOURS_START", "9am", "CLINIC_HOURS_START must be a time such as 09:00, not '9am'."),
        ("CLINIC_HOURS_END", "08:00", "CLINIC_HOURS_END must be later than CLINIC_HOURS_START."),
        ("CLINIC_WORKDAYS", [7], "CLINIC_WORKDAYS holds weekday numbers from 0 (Monday) to 6 (Sunday)."),
    ],
)
def test_bad_hours_settings_are_refused_by_name(settings, name, value, message):
    setattr(settings, name, value)
    with pytest.raises(ImproperlyConfigured, match=re.escape(message)):
        clinic_hours()
    with pytest.raises(ImproperlyConfigured, match=re.escape(message)):
        services.start_times()
