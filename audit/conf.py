"""Audit settings, read with their defaults so the audit app works whatever order settings arrive in."""

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True)
class ClinicHours:
    start: datetime.time
    end: datetime.time
    workdays: frozenset[int]  # 0 = Monday, as datetime.weekday()

    def contains(self, local: datetime.datetime) -> bool:
        """Whether a clinic-local moment is within opening hours on a working day."""
        return local.weekday() in self.workdays and self.start <= local.time() < self.end


def _time(name: str, default: str) -> datetime.time:
    value = str(getattr(settings, name, default))
    try:
        return datetime.time.fromisoformat(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a time such as 09:00, not {value!r}.") from None


def clinic_hours() -> ClinicHours:
    """Opening hours (``CLINIC_HOURS_START``/``CLINIC_HOURS_END``, clinic time) on ``CLINIC_WORKDAYS``."""
    start, end = _time("CLINIC_HOURS_START", "09:00"), _time("CLINIC_HOURS_END", "17:00")
    if end <= start:
        raise ImproperlyConfigured("CLINIC_HOURS_END must be later than CLINIC_HOURS_START.")
    workdays = frozenset(int(day) for day in getattr(settings, "CLINIC_WORKDAYS", [0, 1, 2, 3, 4]))
    if not workdays <= set(range(7)):
        raise ImproperlyConfigured("CLINIC_WORKDAYS holds weekday numbers from 0 (Monday) to 6 (Sunday).")
    return ClinicHours(start=start, end=end, workdays=workdays)


def anomaly_patients_per_hour() -> int:
    """Flag a user who opens more than this many distinct patient records within 60 minutes."""
    return int(getattr(settings, "AUDIT_ANOMALY_PATIENTS_PER_HOUR", 30))


def anomaly_denials_per_hour() -> int:
    """Flag a user refused (403) more than this many times within 60 minutes."""
    return int(getattr(settings, "AUDIT_ANOMALY_DENIALS_PER_HOUR", 5))


def anomaly_lookback_days() -> int:
    """A patient the user has not touched in this many days counts as outside their usual pattern."""
    return int(getattr(settings, "AUDIT_ANOMALY_LOOKBACK_DAYS", 90))
