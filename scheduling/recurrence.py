"""Dates of a recurring series, from its rule (python-dateutil rrule), moved off weekends and closed days."""

import datetime
from dataclasses import dataclass, field

from dateutil import rrule
from django.core.exceptions import ValidationError

from spectrum.clinic import clinic_hours

MAX_OCCURRENCES = 260
MAX_SPAN = datetime.timedelta(days=366)
WEEKDAYS = {"mon": rrule.MO, "tue": rrule.TU, "wed": rrule.WE, "thu": rrule.TH, "fri": rrule.FR}


@dataclass(frozen=True)
class Rule:
    frequency: str  # "weekly" | "monthly"
    start_date: datetime.date
    interval: int = 1
    weekdays: tuple[str, ...] = ()
    count: int | None = None
    until: datetime.date | None = None

    def validate(self) -> None:
        errors: dict[str, list[str]] = {}
        if self.frequency not in ("weekly", "monthly"):
            errors["frequency"] = ["Choose weekly or monthly."]
        if not 1 <= self.interval <= 12:
            errors["interval"] = ["Repeat every 1 to 12 weeks or months."]
        if self.frequency == "weekly":
            unknown = [day for day in self.weekdays if day not in WEEKDAYS]
            if not self.weekdays or unknown:
                errors["weekdays"] = ["Choose one or more weekdays from mon, tue, wed, thu, fri."]
        if (self.count is None) == (self.until is None):
            errors["count"] = ["Give either a number of occurrences or an end date, not both."]
        elif self.count is not None and not 1 <= self.count <= MAX_OCCURRENCES:
            errors["count"] = [f"A series has 1 to {MAX_OCCURRENCES} occurrences."]
        elif self.until is not None:
            if self.until < self.start_date:
                errors["until"] = ["The end date cannot be before the start date."]
            elif self.until - self.start_date > MAX_SPAN:
                errors["until"] = ["A series can run for at most one year."]
        if errors:
            raise ValidationError(errors)

    def raw_dates(self) -> list[datetime.date]:
        """The rule's dates before any move: at most MAX_OCCURRENCES + 1 are generated."""
        start = datetime.datetime.combine(self.start_date, datetime.time())
        until = datetime.datetime.combine(self.until, datetime.time()) if self.until else None
        kwargs: dict = {"dtstart": start, "interval": self.interval, "count": self.count, "until": until}
        if self.frequency == "weekly":
            kwargs["byweekday"] = [WEEKDAYS[day] for day in self.weekdays]
            frequency = rrule.WEEKLY
        else:
            frequency = rrule.MONTHLY
            day = self.start_date.day
            if day > 28:
                # "The 31st" in a month without it is the month's last day: of the days 28..31 that
                # exist in the month, take the last one up to the wanted day.
                kwargs["bymonthday"] = tuple(range(28, day + 1))
                kwargs["bysetpos"] = -1
            else:
                kwargs["bymonthday"] = day
        dates = []
        for moment in rrule.rrule(frequency, **kwargs):
            dates.append(moment.date())
            if len(dates) > MAX_OCCURRENCES:
                break
        return dates


@dataclass
class Occurrence:
    date: datetime.date
    moved_from: datetime.date | None = None
    skipped: bool = False
    conflicts: list = field(default_factory=list)
    warnings: list = field(default_factory=list)  # insurance authorization warnings
    # Moved off a closed day or weekend onto a date the series already has: skipped, and said so.
    collided: bool = False

    @property
    def note(self) -> str:
        """What happened to this date, in words; '' when it is booked where the rule put it."""
        if self.collided:
            return f"moved to {self.date:%A %m/%d}, which already has this session: skipped"
        if self.moved_from:
            return f"moved from {self.moved_from:%A %m/%d}"
        return ""


def is_open(day: datetime.date, closed_days: set[datetime.date]) -> bool:
    return clinic_hours().is_workday(day) and day not in closed_days


def next_open_day(day: datetime.date, closed_days: set[datetime.date]) -> datetime.date:
    for _ in range(60):
        if is_open(day, closed_days):
            return day
        day += datetime.timedelta(days=1)
    raise ValidationError("No open clinic day within 60 days of %(day)s.", params={"day": day})


def occurrences(rule: Rule, *, closed_days: set[datetime.date], skip_dates: set[datetime.date]) -> list[Occurrence]:
    """The series' dates: weekend and closed-day dates move to the next open weekday; skipped ones are marked.

    A date that moves onto a date the series already has is kept in the list, skipped and marked
    ``collided``: nothing is merged or dropped silently, so the count booked can be shown against the count asked.

    Raises ValidationError when the rule is invalid or its dates exceed the bounds (a year, 260 dates).
    """
    rule.validate()
    raw = rule.raw_dates()
    if len(raw) > MAX_OCCURRENCES:
        raise ValidationError({"count": [f"A series has at most {MAX_OCCURRENCES} occurrences."]})
    if not raw:
        raise ValidationError({"start_date": ["The rule gives no dates: check the weekdays and the end date."]})
    if raw[-1] - rule.start_date > MAX_SPAN:
        raise ValidationError({"count": ["A series can run for at most one year: give fewer occurrences."]})
    result: list[Occurrence] = []
    # Dates the rule puts on open days keep them; a date moved onto one of them (or onto another moved
    # date) is the one skipped, whichever comes first in the calendar.
    seen: set[datetime.date] = {day for day in raw if is_open(day, closed_days)}
    for day in raw:
        moved = next_open_day(day, closed_days)
        if moved != day and moved in seen:
            result.append(Occurrence(date=moved, moved_from=day, skipped=True, collided=True))
            continue
        seen.add(moved)
        result.append(Occurrence(date=moved, moved_from=day if moved != day else None, skipped=moved in skip_dates))
    return result
