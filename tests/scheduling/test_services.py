import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from audit.models import AuditEvent
from scheduling import services
from scheduling.models import Appointment, AppointmentSeries, ClosedDay, ServiceType
from tests.factories import PatientFactory, UserFactory
from tests.scheduling.conftest import next_weekday, past_weekday

pytestmark = pytest.mark.django_db
T = datetime.time
Status = Appointment.Status
TEN = T(10, 0)


def book(actor, patient, service, day, start=TEN, **kwargs):
    return services.book_appointment(
        actor=actor, patient=patient, service_type=service, date=day, start_time=start, **kwargs
    )


def test_booking_defaults_from_the_service_type_and_records_history(nurse_user, patient, ind, clinician):
    day = next_weekday(1)
    appointment = book(nurse_user, patient, ind, day, clinician=clinician, notes="Bring forms")
    assert appointment.duration_minutes == 60 and appointment.end_time == T(11, 0)
    assert appointment.billing_code == "90837" and appointment.status == Status.SCHEDULED
    assert [(h.from_status, h.to_status, h.changed_by) for h in appointment.status_history.all()] == [
        ("", "scheduled", nurse_user)
    ]
    entry = AuditEvent.objects.get(event="scheduling.appointment.created")
    assert entry.actor == nurse_user and "Bring forms" not in str(entry.changes)


@pytest.mark.parametrize(
    ("start", "duration", "field", "message"),
    [
        (T(10, 5), 60, "start_time", "Start times are on a 15-minute grid (e.g. 10:00, 10:15)."),
        (T(8, 45), 60, "start_time", "The clinic is open 09:00 AM to 05:00 PM."),
        (T(17, 0), 30, "start_time", "The clinic is open 09:00 AM to 05:00 PM."),
        (T(16, 30), 60, "duration_minutes", "The appointment would end after closing time (05:00 PM)."),
    ],
)
def test_clinic_hours_and_grid(staff_user, patient, ind, start, duration, field, message):
    with pytest.raises(ValidationError) as exc:
        book(staff_user, patient, ind, next_weekday(1), start, duration_minutes=duration)
    assert exc.value.message_dict[field] == [message]
    assert not Appointment.objects.exists()


def test_weekends_and_closed_days_cannot_be_booked(staff_user, patient, ind):
    with pytest.raises(ValidationError) as exc:
        book(staff_user, patient, ind, next_weekday(5))
    assert exc.value.message_dict["date"] == ["The clinic is closed on Saturdays."]
    holiday = ClosedDay.objects.create(date=next_weekday(3), reason="Thanksgiving")
    with pytest.raises(ValidationError) as exc:
        book(staff_user, patient, ind, holiday.date)
    assert exc.value.message_dict["date"] == [f"The clinic is closed on {holiday.date:%m/%d/%Y} (Thanksgiving)."]


def test_inactive_service_type_and_patient_cannot_be_booked(staff_user, ind):
    ind.is_active = False
    ind.save()
    inactive = PatientFactory(is_active=False)
    with pytest.raises(ValidationError) as exc:
        book(staff_user, inactive, ind, next_weekday(1))
    assert set(exc.value.message_dict) == {"patient", "service_type"}


def test_past_dates_can_be_entered(staff_user, patient, ind):
    appointment = book(staff_user, patient, ind, past_weekday(2, weeks_back=3))
    assert appointment.has_started()


def test_read_only_cannot_book(read_only_user, patient, ind):
    with pytest.raises(PermissionDenied):
        book(read_only_user, patient, ind, next_weekday(1))


def test_patient_double_booking_is_a_conflict_naming_the_other(staff_user, patient, ind, clinician):
    first = book(staff_user, patient, ind, next_weekday(1))
    with pytest.raises(services.SchedulingConflict) as exc:
        book(staff_user, patient, ind, next_weekday(1), T(10, 30), clinician=clinician)
    assert f"appointment #{first.pk}" in exc.value.message and exc.value.status_code == 409
    assert exc.value.extra["conflicting_appointment"] == first.pk
    # Back to back is fine.
    book(staff_user, patient, ind, next_weekday(1), T(11, 0))


def test_clinician_double_booking_but_group_sessions_share(staff_user, ind, psr, clinician):
    day = next_weekday(2)
    book(staff_user, PatientFactory(), ind, day, clinician=clinician)
    with pytest.raises(services.SchedulingConflict) as exc:
        book(staff_user, PatientFactory(), ind, day, T(10, 30), clinician=clinician)
    assert exc.value.conflicts[0].reason == "clinician"
    group = book(staff_user, PatientFactory(), psr, day, T(13, 0), clinician=clinician, duration_minutes=120)
    book(staff_user, PatientFactory(), psr, day, T(13, 0), clinician=clinician, duration_minutes=120)
    assert group.service_type.is_group


def test_cancelled_appointments_free_the_slot(staff_user, patient, ind):
    first = book(staff_user, patient, ind, next_weekday(1))
    services.set_status(actor=staff_user, appointment=first, status=Status.CANCELLED_BY_PATIENT)
    book(staff_user, patient, ind, next_weekday(1))
    with pytest.raises(services.SchedulingConflict):  # reopening it would now double-book
        services.set_status(actor=staff_user, appointment=first, status=Status.SCHEDULED)


def test_override_needs_reason_and_role(staff_user, nurse_user, patient, ind):
    book(staff_user, patient, ind, next_weekday(1))
    with pytest.raises(PermissionDenied):
        book(staff_user, patient, ind, next_weekday(1), override_reason="Family request")
    second = book(nurse_user, patient, ind, next_weekday(1), override_reason="Family request")
    assert second.override_reason == "Family request"
    assert second.status_history.get().reason == "Family request"


def test_outcomes_only_once_started_and_every_change_is_kept(staff_user, nurse_user, patient, ind):
    future = book(staff_user, patient, ind, next_weekday(1))
    with pytest.raises(ValidationError) as exc:
        services.set_status(actor=staff_user, appointment=future, status=Status.ATTENDED)
    assert "once the appointment has started" in exc.value.message_dict["status"][0]
    past = book(staff_user, patient, ind, past_weekday(1, weeks_back=2))
    services.set_status(actor=staff_user, appointment=past, status=Status.NO_SHOW)
    services.set_status(actor=nurse_user, appointment=past, status=Status.ATTENDED, reason="Came late, was seen")
    history = [(h.from_status, h.to_status, h.changed_by, h.reason) for h in past.status_history.all()]
    assert history == [
        ("", "scheduled", staff_user, ""),
        ("scheduled", "no_show", staff_user, ""),
        ("no_show", "attended", nurse_user, "Came late, was seen"),
    ]


def test_read_only_cannot_mark(read_only_user, staff_user, patient, ind):
    past = book(staff_user, patient, ind, past_weekday(1, weeks_back=2))
    with pytest.raises(PermissionDenied):
        services.set_status(actor=read_only_user, appointment=past, status=Status.ATTENDED)


def weekly(patient, service, start, **kwargs):
    values = {"frequency": "weekly", "weekdays": ("mon", "wed"), "count": 6, "start_time": T(10, 0), **kwargs}
    return services.SeriesRequest(patient=patient, service_type=service, start_date=start, **values)


def test_series_creates_every_occurrence(staff_user, patient, ind, clinician):
    series = services.create_series(
        actor=staff_user, request=weekly(patient, ind, next_weekday(0), clinician=clinician)
    )
    occurrences = list(series.occurrences.order_by("date"))
    assert len(occurrences) == 6 and {o.date.weekday() for o in occurrences} == {0, 2}
    assert all(o.start_time == T(10, 0) and o.clinician == clinician for o in occurrences)


def test_series_conflicts_block_unless_skipped(staff_user, patient, ind):
    start = next_weekday(0)
    blocker = book(staff_user, patient, ind, start + datetime.timedelta(days=2))
    preview = services.preview_series(weekly(patient, ind, start))
    conflicting = [occ.date for occ in preview if occ.conflicts]
    assert conflicting == [blocker.date] and preview[1].conflicts[0].appointment == blocker
    with pytest.raises(services.SchedulingConflict):
        services.create_series(actor=staff_user, request=weekly(patient, ind, start))
    assert not AppointmentSeries.objects.exists() and Appointment.objects.count() == 1
    series = services.create_series(actor=staff_user, request=weekly(patient, ind, start, skip_dates=(blocker.date,)))
    assert series.occurrences.count() == 5


def test_series_creation_is_all_or_nothing(staff_user, patient, ind, monkeypatch):
    calls = {"n": 0}
    original = Appointment.save

    def fail_on_fourth(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 4:
            raise RuntimeError("disk full")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Appointment, "save", fail_on_fourth)
    with pytest.raises(RuntimeError):
        services.create_series(actor=staff_user, request=weekly(patient, ind, next_weekday(0)))
    assert not AppointmentSeries.objects.exists()
    assert not Appointment.objects.exists()
    assert not AuditEvent.objects.filter(event__startswith="scheduling.").exists()


def test_series_moves_closed_days(staff_user, patient, ind):
    start = next_weekday(0)
    ClosedDay.objects.create(date=start + datetime.timedelta(days=7), reason="Holiday")
    series = services.create_series(actor=staff_user, request=weekly(patient, ind, start, weekdays=("mon",), count=3))
    moved = series.occurrences.get(original_date=start + datetime.timedelta(days=7))
    assert moved.date == start + datetime.timedelta(days=8)


@pytest.fixture
def running_series(staff_user, patient, ind):
    """A Mon/Wed series started two weeks ago: some occurrences past, some future."""
    start = past_weekday(0, weeks_back=2)
    request = weekly(patient, ind, start, count=10)
    series = services.create_series(actor=staff_user, request=request)
    return series, list(series.occurrences.order_by("date"))


def future(occurrences):
    from django.utils import timezone

    today = timezone.localdate()
    return [occ for occ in occurrences if occ.date > today]


def test_edit_this_occurrence_only(staff_user, running_series):
    series, occurrences = running_series
    target = future(occurrences)[0]
    services.update_appointment(actor=staff_user, appointment=target, changes={"start_time": T(14, 0)}, scope="this")
    target.refresh_from_db()
    assert target.start_time == T(14, 0) and target.is_exception
    assert series.occurrences.filter(start_time=T(10, 0)).count() == 9


def test_edit_all_future_keeps_past_and_individual_edits(staff_user, clinician, running_series):
    series, occurrences = running_series
    past, upcoming = [o for o in occurrences if o not in future(occurrences)], future(occurrences)
    services.set_status(actor=staff_user, appointment=past[0], status=Status.ATTENDED)
    edited = upcoming[1]
    services.update_appointment(actor=staff_user, appointment=edited, changes={"start_time": T(15, 0)}, scope="this")
    services.update_appointment(
        actor=staff_user, appointment=upcoming[0], changes={"start_time": T(11, 0), "clinician": clinician}, scope="all"
    )
    for occ in series.occurrences.all():
        if occ.pk in {o.pk for o in past}:
            assert occ.start_time == T(10, 0)  # the past is never touched
        elif occ.pk == edited.pk:
            assert occ.start_time == T(15, 0) and occ.clinician is None  # kept its own changes
        else:
            assert occ.start_time == T(11, 0) and occ.clinician == clinician
    assert series.occurrences.get(pk=past[0].pk).status == Status.ATTENDED


def test_edit_this_and_following_splits_the_series(staff_user, running_series):
    series, occurrences = running_series
    upcoming = future(occurrences)
    pivot = upcoming[1]
    services.update_appointment(
        actor=staff_user, appointment=pivot, changes={"duration_minutes": 45}, scope="following"
    )
    series.refresh_from_db()
    new_series = AppointmentSeries.objects.get(split_from=series)
    assert series.until == pivot.date - datetime.timedelta(days=1)
    assert set(new_series.occurrences.values_list("duration_minutes", flat=True)) == {45}
    assert new_series.occurrences.count() == len([o for o in occurrences if o.date >= pivot.date])
    assert set(series.occurrences.values_list("duration_minutes", flat=True)) == {60}


def test_series_edit_cannot_move_dates(staff_user, running_series):
    _, occurrences = running_series
    with pytest.raises(ValidationError):
        services.update_appointment(
            actor=staff_user, appointment=future(occurrences)[0],
            changes={"date": future(occurrences)[0].date + datetime.timedelta(days=1)}, scope="all",
        )  # fmt: skip


def test_moving_one_occurrence_records_its_original_date(staff_user, running_series):
    _, occurrences = running_series
    target = future(occurrences)[0]
    new_date = target.date + datetime.timedelta(days=1)
    services.update_appointment(actor=staff_user, appointment=target, changes={"date": new_date}, scope="this")
    target.refresh_from_db()
    assert target.date == new_date and target.original_date == new_date - datetime.timedelta(days=1)


def test_cancel_series_cancels_future_only(staff_user, running_series):
    series, occurrences = running_series
    past = [o for o in occurrences if o not in future(occurrences)]
    services.set_status(actor=staff_user, appointment=past[0], status=Status.ATTENDED)
    count = services.cancel_series(actor=staff_user, series=series, by_patient=True, reason="Moved away")
    assert count == len(future(occurrences))
    statuses = dict(series.occurrences.values_list("pk", "status"))
    assert statuses[past[0].pk] == Status.ATTENDED
    assert all(statuses[o.pk] == Status.CANCELLED_BY_PATIENT for o in future(occurrences))
    assert Appointment.objects.count() == len(occurrences)  # nothing deleted
    with pytest.raises(Exception, match="already cancelled"):
        services.cancel_series(actor=staff_user, series=series, reason="Moved away")


@time_machine.travel(
    datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=-5))), tick=False
)
def test_series_across_dst_keeps_wall_clock(staff_user, patient, ind):
    request = weekly(patient, ind, datetime.date(2026, 3, 2), weekdays=("mon",), count=3)
    series = services.create_series(actor=staff_user, request=request)
    assert [(o.date.day, o.start_time) for o in series.occurrences.order_by("date")] == [
        (2, T(10)),
        (9, T(10)),
        (16, T(10)),
    ]


def test_service_type_required_fields_come_from_migration():
    assert set(ServiceType.objects.values_list("code", flat=True)) >= {"PSR", "TMS", "IND", "EVAL"}
    psr = ServiceType.objects.get(code="PSR")
    assert psr.unit_minutes == 15 and psr.is_group


def test_status_change_in_a_failed_transaction_leaves_no_trace(staff_user, patient, ind):
    appointment = book(staff_user, patient, ind, past_weekday(1, weeks_back=2))
    with pytest.raises(RuntimeError), transaction.atomic():
        services.set_status(actor=staff_user, appointment=appointment, status=Status.ATTENDED)
        raise RuntimeError("boom")
    appointment.refresh_from_db()
    assert appointment.status == Status.SCHEDULED and appointment.status_history.count() == 1


def test_clinician_must_be_active(staff_user, patient, ind):
    gone = UserFactory(role="nurse", is_active=False)
    with pytest.raises(ValidationError) as exc:
        book(staff_user, patient, ind, next_weekday(1), clinician=gone)
    assert "clinician" in exc.value.message_dict


# --- "Has it started": one rule for series edits, splits, cancellations and the API --------------------

WEDNESDAY_1130 = datetime.datetime(2026, 5, 13, 11, 30, tzinfo=ZoneInfo("America/New_York"))


@pytest.fixture
def series_with_a_session_this_morning(staff_user, patient, ind):
    """At Wednesday 11:30: a Mon/Wed 10:00 series whose session this morning was attended."""
    with time_machine.travel(WEDNESDAY_1130, tick=False):
        series = services.create_series(
            actor=staff_user, request=weekly(patient, ind, datetime.date(2026, 5, 4), count=6)
        )
        this_morning = series.occurrences.get(date=datetime.date(2026, 5, 13))
        services.set_status(actor=staff_user, appointment=this_morning, status=Status.ATTENDED)
        yield series, this_morning


def test_started_means_the_start_is_at_or_before_now(staff_user, patient, ind):
    with time_machine.travel(WEDNESDAY_1130, tick=False):
        at_1130 = book(staff_user, patient, ind, datetime.date(2026, 5, 13), T(11, 30), duration_minutes=15)
        at_1145 = book(staff_user, patient, ind, datetime.date(2026, 5, 13), T(11, 45), duration_minutes=15)
        assert at_1130.has_started() and not at_1145.has_started()
        assert list(Appointment.objects.not_started()) == [at_1145]
        assert list(Appointment.objects.started()) == [at_1130]
    assert not at_1130.has_started(datetime.datetime(2026, 5, 13, 11, 29))


def test_edit_all_at_1130_leaves_this_mornings_attended_session(staff_user, series_with_a_session_this_morning):
    series, this_morning = series_with_a_session_this_morning
    later = series.occurrences.get(date=datetime.date(2026, 5, 18))
    with time_machine.travel(WEDNESDAY_1130, tick=False):
        changed = services.update_appointment(
            actor=staff_user, appointment=later, changes={"start_time": T(14, 0)}, scope="all"
        )
    assert [occ.date.day for occ in changed] == [18, 20]
    this_morning.refresh_from_db()
    assert this_morning.start_time == T(10, 0) and this_morning.status == Status.ATTENDED
    assert dict(series.occurrences.values_list("date__day", "start_time")) == {
        4: T(10),
        6: T(10),
        11: T(10),
        13: T(10),
        18: T(14),
        20: T(14),
    }


def test_edit_following_from_a_started_session_splits_after_it(staff_user, series_with_a_session_this_morning):
    series, this_morning = series_with_a_session_this_morning
    with time_machine.travel(WEDNESDAY_1130, tick=False):
        services.update_appointment(
            actor=staff_user, appointment=this_morning, changes={"duration_minutes": 45}, scope="following"
        )
    new_series = AppointmentSeries.objects.get(split_from=series)
    series.refresh_from_db()
    assert new_series.start_date == datetime.date(2026, 5, 18) and series.until == datetime.date(2026, 5, 17)
    assert sorted(new_series.occurrences.values_list("date__day", "duration_minutes")) == [(18, 45), (20, 45)]
    this_morning.refresh_from_db()
    assert this_morning.series == series and this_morning.duration_minutes == 60


def test_series_edit_when_every_occurrence_has_started_is_refused(staff_user, series_with_a_session_this_morning):
    series, this_morning = series_with_a_session_this_morning
    june = datetime.datetime(2026, 6, 1, 9, 0, tzinfo=ZoneInfo("America/New_York"))
    with time_machine.travel(june, tick=False), pytest.raises(ValidationError) as exc:
        services.update_appointment(
            actor=staff_user, appointment=this_morning, changes={"start_time": T(14, 0)}, scope="all"
        )
    assert "has started" in exc.value.message_dict["scope"][0]
    assert not series.occurrences.filter(start_time=T(14, 0)).exists()


def test_cancel_series_at_1130_leaves_this_mornings_session(staff_user, patient, ind):
    with time_machine.travel(WEDNESDAY_1130, tick=False):
        series = services.create_series(
            actor=staff_user, request=weekly(patient, ind, datetime.date(2026, 5, 4), count=6)
        )
        count = services.cancel_series(actor=staff_user, series=series, reason="Moved away")
    assert count == 2
    assert series.occurrences.get(date=datetime.date(2026, 5, 13)).status == Status.SCHEDULED


def test_the_clock_stands_at_the_clinic_test_time():
    """SPECTRUM_TEST_NOW (or the default Wednesday 11:30) is the clinic's wall clock in every test here."""
    from django.utils import timezone

    from tests.conftest import clinic_test_now

    assert timezone.localtime() == clinic_test_now()
    assert timezone.localtime().tzinfo.key == "America/New_York"
