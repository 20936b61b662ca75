import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from scheduling.recurrence import Rule, occurrences

D = datetime.date


def dates(rule: Rule, closed=(), skip=()) -> list[datetime.date]:
    return [occ.date for occ in occurrences(rule, closed_days=set(closed), skip_dates=set(skip)) if not occ.skipped]


def test_weekly_on_chosen_weekdays():
    rule = Rule("weekly", D(2025, 7, 7), weekdays=("mon", "wed"), count=4)
    assert dates(rule) == [D(2025, 7, 7), D(2025, 7, 9), D(2025, 7, 14), D(2025, 7, 16)]


def test_weekly_every_second_week_until_a_date():
    rule = Rule("weekly", D(2025, 7, 7), weekdays=("fri",), interval=2, until=D(2025, 8, 15))
    assert dates(rule) == [D(2025, 7, 11), D(2025, 7, 25), D(2025, 8, 8)]


def test_monthly_on_the_31st_uses_the_last_day_of_short_months():
    rule = Rule("monthly", D(2025, 1, 31), count=6)
    # Jan 31 Fri; Feb 28 Fri; Mar 31 Mon; Apr 30 Wed; May 31 is a Saturday -> Mon Jun 2; Jun 30 Mon.
    assert dates(rule) == [
        D(2025, 1, 31),
        D(2025, 2, 28),
        D(2025, 3, 31),
        D(2025, 4, 30),
        D(2025, 6, 2),
        D(2025, 6, 30),
    ]


def test_monthly_on_the_30th_in_a_leap_february():
    rule = Rule("monthly", D(2028, 1, 30), count=3)  # 2028 is a leap year: Feb 29 (Tue)
    assert dates(rule) == [D(2028, 1, 31), D(2028, 2, 29), D(2028, 3, 30)]  # Jan 30 2028 is a Sunday


def test_weekend_and_closed_days_move_to_next_open_weekday():
    rule = Rule("monthly", D(2025, 11, 1), count=2)  # Sat Nov 1 -> Mon Nov 3; Mon Dec 1 closed -> Tue Dec 2
    result = occurrences(rule, closed_days={D(2025, 12, 1)}, skip_dates=set())
    assert [(o.date, o.moved_from) for o in result] == [
        (D(2025, 11, 3), D(2025, 11, 1)),
        (D(2025, 12, 2), D(2025, 12, 1)),
    ]


def test_a_move_onto_an_existing_date_of_the_series_is_not_doubled():
    rule = Rule("weekly", D(2025, 7, 7), weekdays=("mon", "tue"), count=2)
    assert dates(rule, closed={D(2025, 7, 7)}) == [D(2025, 7, 8)]


def test_skipped_dates_are_marked():
    rule = Rule("weekly", D(2025, 7, 7), weekdays=("mon",), count=3)
    result = occurrences(rule, closed_days=set(), skip_dates={D(2025, 7, 14)})
    assert [(o.date, o.skipped) for o in result] == [
        (D(2025, 7, 7), False),
        (D(2025, 7, 14), True),
        (D(2025, 7, 21), False),
    ]


@pytest.mark.parametrize(
    ("rule", "field", "message"),
    [
        (Rule("weekly", D(2025, 1, 6), weekdays=("mon",), count=261), "count", "A series has 1 to 260 occurrences."),
        (Rule("weekly", D(2025, 1, 6), weekdays=("mon",), until=D(2026, 2, 1)), "until", "A series can run for at most one year."),
        (Rule("weekly", D(2025, 1, 6), weekdays=("sat",), count=3), "weekdays", "Choose one or more weekdays from mon, tue, wed, thu, fri."),
        (Rule("weekly", D(2025, 1, 6), weekdays=(), count=3), "weekdays", "Choose one or more weekdays from mon, tue, wed, thu, fri."),
        (Rule("weekly", D(2025, 1, 6), weekdays=("mon",)), "count", "Give either a number of occurrences or an end date, not both."),
        (Rule("monthly", D(2025, 1, 6), count=14), "count", "A series can run for at most one year: give fewer occurrences."),
        (Rule("monthly", D(2025, 1, 6), interval=13, count=2), "interval", "Repeat every 1 to 12 weeks or months."),
        (Rule("weekly", D(2025, 1, 6), weekdays=("mon",), until=D(2024, 1, 1)), "until", "The end date cannot be before the start date."),
    ],
)  # fmt: skip
def test_bounds_and_rule_errors(rule, field, message):
    with pytest.raises(ValidationError) as exc:
        occurrences(rule, closed_days=set(), skip_dates=set())
    assert message in exc.value.message_dict[field]


def test_260_occurrences_fit_in_a_year():
    rule = Rule("weekly", D(2025, 1, 6), weekdays=("mon", "tue", "wed", "thu", "fri"), count=260)
    assert len(dates(rule)) == 260


def test_wall_clock_time_stays_across_daylight_saving_change():
    """Weekly 10:00 across the March change keeps 10:00 local; the UTC instant shifts by an hour."""
    rule = Rule("weekly", D(2026, 3, 2), weekdays=("mon",), count=3)  # DST starts Sun Mar 8 2026 (US)
    zone = ZoneInfo("America/New_York")
    starts = [datetime.datetime.combine(day, datetime.time(10, 0), tzinfo=zone) for day in dates(rule)]
    assert [start.hour for start in starts] == [10, 10, 10]
    assert [start.utcoffset() for start in starts] == [
        datetime.timedelta(hours=-5),
        datetime.timedelta(hours=-4),
        datetime.timedelta(hours=-4),
    ]
