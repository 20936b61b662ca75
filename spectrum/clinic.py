"""The clinic's opening hours and working days: the one place that reads and checks those settings.

Booking (``scheduling.services``) and the after-hours check of the compliance report (``audit.reports``)
both ask ``clinic_hours()``.
"""

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True)
class ClinicHours:
    start: datetime.time
    end: datetime.time
    workdays: frozenset[int]  # 0 = Monday, as datetime.weekday()

    def is_workday(self, day: datetime.date) -> bool:
        return day.weekday() in self.workdays

    def contains(self, local: datetime.datetime) -> bool:
        """Whether a clinic-local moment is within opening hours on a working day."""
        return self.is_workday(local.date()) and self.start <= local.time() < self.end


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
