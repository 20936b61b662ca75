"""The clinic's reminder settings, parsed once per call from django.conf.settings (tests override them)."""

import datetime
import zoneinfo

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def clinic_zone() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def offsets_hours() -> list[int]:
    """REMINDER_OFFSETS_HOURS as whole hours, largest first ("48,2" -> [48, 2])."""
    try:
        hours = sorted({int(str(value).strip()) for value in settings.REMINDER_OFFSETS_HOURS}, reverse=True)
    except ValueError as exc:
        raise ImproperlyConfigured("REMINDER_OFFSETS_HOURS must be whole hours, comma-separated (e.g. 48,2).") from exc
    if any(hour < 0 for hour in hours):
        raise ImproperlyConfigured("REMINDER_OFFSETS_HOURS must not be negative.")
    return hours


def statuses() -> list[str]:
    return [status for status in settings.REMINDER_STATUSES if status]


def service_type_codes() -> list[str]:
    return [code for code in settings.REMINDER_SERVICE_TYPES if code]


def quiet_hours() -> tuple[datetime.time, datetime.time] | None:
    """REMINDER_QUIET_HOURS "20:00-08:00" as (start, end); None when empty."""
    value = (settings.REMINDER_QUIET_HOURS or "").strip()
    if not value:
        return None
    try:
        start, end = (datetime.time.fromisoformat(part.strip()) for part in value.split("-"))
    except ValueError as exc:
        raise ImproperlyConfigured("REMINDER_QUIET_HOURS must look like 20:00-08:00.") from exc
    return start, end


def aware(wall_clock: datetime.datetime) -> datetime.datetime:
    """A clinic wall-clock time as an aware moment. A time in the spring-forward gap moves forward past it,
    a time the autumn fall-back repeats is its first occurrence."""
    zone = clinic_zone()
    moment = wall_clock.replace(tzinfo=zone, fold=0)
    # Round-trip through UTC: a non-existent local time comes back as the real one after the gap.
    return moment.astimezone(datetime.UTC).astimezone(zone)


def wall_clock(moment: datetime.datetime) -> datetime.datetime:
    return moment.astimezone(clinic_zone()).replace(tzinfo=None)


def send_time(starts: datetime.datetime, offset_hours: int) -> datetime.datetime:
    """When the ``offset_hours`` reminder of an appointment starting at the wall-clock ``starts`` goes out.

    Counted on the clinic's wall clock, so that across a daylight-saving change the 48-hour reminder of a
    Monday 10:00 appointment still goes out on Saturday at 10:00.
    """
    return aware(starts - datetime.timedelta(hours=offset_hours))


def in_quiet_hours(moment: datetime.datetime) -> bool:
    hours = quiet_hours()
    if hours is None:
        return False
    start, end = hours
    local = wall_clock(moment).time()
    if start <= end:
        return start <= local < end
    return local >= start or local < end


def end_of_quiet_hours(moment: datetime.datetime) -> datetime.datetime:
    """The first moment at or after ``moment`` outside quiet hours."""
    if not in_quiet_hours(moment):
        return moment
    hours = quiet_hours()
    assert hours is not None
    local = wall_clock(moment)
    end = datetime.datetime.combine(local.date(), hours[1])
    if end <= local:
        end += datetime.timedelta(days=1)
    return aware(end)
