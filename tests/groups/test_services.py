import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from audit.models import AuditEvent
from authorizations.models import Authorization
from authorizations.selectors import with_usage
from groups import services
from groups.models import GroupSession, GroupSessionAmendment
from scheduling.models import Appointment, ClosedDay
from scheduling.services import SchedulingConflict, book_appointment
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db
D = datetime.date
T = datetime.time
Status = Appointment.Status
Entry = services.AttendeeInput


# --- Units: the payer's 8-of-15 rule ----------------------------------------------------------------------


@pytest.mark.parametrize(("minutes", "units"), [(0, 0), (7, 0), (8, 1), (15, 1), (22, 1), (23, 2), (180, 12)])
def test_units_need_eight_minutes_of_each_fifteen(minutes, units):
    assert services.units_for_minutes(minutes, 15) == units


def test_the_minimum_per_unit_is_a_setting(settings):
    settings.GROUP_UNIT_MIN_MINUTES = 10
    assert services.units_for_minutes(23, 15) == 1
    assert services.units_for_minutes(25, 15) == 2


def test_a_service_billed_per_visit_counts_one_unit():
    assert services.units_for_minutes(50, None) == 1


# --- Groups and sessions ----------------------------------------------------------------------------------


def test_sessions_skip_weekends_and_closed_days_and_keep_the_wall_clock_across_dst(make_group):
    ClosedDay.objects.create(date=D(2026, 11, 3), reason="Election day")
    group = make_group(start_date=D(2026, 10, 26), end_date=D(2026, 11, 6))  # DST ends Sunday Nov 1 2026
    sessions = list(group.sessions.order_by("date"))
    assert [s.date for s in sessions] == [
        D(2026, 10, 26), D(2026, 10, 27), D(2026, 10, 28), D(2026, 10, 29), D(2026, 10, 30),
        D(2026, 11, 2), D(2026, 11, 4), D(2026, 11, 5), D(2026, 11, 6),
    ]  # fmt: skip
    assert {(s.start_time, s.duration_minutes, s.capacity, s.program_session) for s in sessions} == {
        (T(9), 180, 16, "AM")
    }


def test_enrollment_across_closed_days_and_dst_books_each_session_at_nine(admin_user, make_group, make_patient):
    ClosedDay.objects.create(date=D(2026, 11, 3), reason="Election day")
    group = make_group(start_date=D(2026, 10, 26), end_date=D(2026, 11, 6))
    patient = make_patient()
    enrollment = services.enroll_patient(actor=admin_user, group=group, patient=patient, start_date=D(2026, 10, 28))
    appointments = list(Appointment.objects.filter(patient=patient).order_by("date"))
    assert enrollment.booked == 7
    assert [a.date for a in appointments] == [
        D(2026, 10, 28), D(2026, 10, 29), D(2026, 10, 30), D(2026, 11, 2), D(2026, 11, 4), D(2026, 11, 5),
        D(2026, 11, 6),
    ]  # fmt: skip
    assert {(a.start_time, a.end_time, a.group_session.date == a.date) for a in appointments} == {(T(9), T(12), True)}
    assert all(a.enrollment == enrollment and a.status == Status.SCHEDULED for a in appointments)


def test_enrollment_books_every_session_of_its_range_as_a_series_does(admin_user, group, make_patient):
    patient = make_patient()
    enrollment = services.enroll_patient(
        actor=admin_user, group=group, patient=patient, start_date=D(2026, 5, 12), end_date=D(2026, 5, 29)
    )
    dates = list(Appointment.objects.filter(patient=patient).order_by("date").values_list("date", flat=True))
    assert (dates[0], dates[-1]) == (D(2026, 5, 12), D(2026, 5, 29))  # backdated: Tuesday's session to be marked
    assert enrollment.booked == len(dates) == 14


def test_only_administrators_enroll(nurse_user, group, make_patient):
    with pytest.raises(PermissionDenied):
        services.enroll_patient(actor=nurse_user, group=group, patient=make_patient(), start_date=D(2026, 5, 18))


def test_enrollment_conflict_needs_a_reason(admin_user, group, make_patient, clinician):
    patient = make_patient()
    ind = group.service_type.__class__.objects.get(code="IND")
    book_appointment(actor=admin_user, patient=patient, service_type=ind, date=D(2026, 5, 18), start_time=T(10))
    with pytest.raises(SchedulingConflict):
        services.enroll_patient(actor=admin_user, group=group, patient=patient, start_date=D(2026, 5, 18))
    assert not Appointment.objects.filter(patient=patient, group_session__isnull=False).exists()  # nothing half-done
    assert not group.enrollments.exists()
    services.enroll_patient(
        actor=admin_user, group=group, patient=patient, start_date=D(2026, 5, 18), override_reason="Family visit"
    )
    assert Appointment.objects.get(patient=patient, date=D(2026, 5, 18), group_session__isnull=False).override_reason


def test_enrolling_past_capacity_warns(admin_user, make_group, make_patient):
    group = make_group(capacity=2)
    for _ in range(2):
        services.enroll_patient(actor=admin_user, group=group, patient=make_patient(), start_date=D(2026, 5, 18))
    third = services.enroll_patient(actor=admin_user, group=group, patient=make_patient(), start_date=D(2026, 5, 18))
    capacity = [w for w in third.warnings if w.code == "capacity"]
    assert capacity and "3 of 2" in capacity[0].message and "05/18/2026" in capacity[0].message


def test_enrolling_past_capacity_is_refused_where_the_service_says_so(admin_user, make_group, make_patient, psr):
    psr.capacity_blocks_booking = True
    psr.save()
    group = make_group(capacity=1)
    services.enroll_patient(actor=admin_user, group=group, patient=make_patient(), start_date=D(2026, 5, 18))
    late = make_patient()
    with pytest.raises(ValidationError, match="Past capacity"):
        services.enroll_patient(actor=admin_user, group=group, patient=late, start_date=D(2026, 5, 18))
    assert not Appointment.objects.filter(patient=late).exists()


def test_an_am_patient_in_a_pm_group_warns(admin_user, make_group, make_patient):
    group = make_group(name="PSR PM", program_session="PM", start_time=T(13))
    enrollment = services.enroll_patient(
        actor=admin_user, group=group, patient=make_patient(session="AM"), start_date=D(2026, 5, 18)
    )
    assert [w.message for w in enrollment.warnings if w.code == "program_session"] == [
        "The patient attends the AM program; this is a PM group."
    ]
    same = services.enroll_patient(
        actor=admin_user, group=group, patient=make_patient(session="PM"), start_date=D(2026, 5, 18)
    )
    assert not [w for w in same.warnings if w.code == "program_session"]


def test_ending_an_enrollment_keeps_the_past_and_cancels_what_has_not_started(admin_user, group, enrolled):
    patient = enrolled[0]
    today = Appointment.objects.get(patient=patient, date=D(2026, 5, 13))
    services.save_attendance(actor=admin_user, session=today.group_session,
                             attendees=[Entry(today.pk, status=Status.ATTENDED)])  # fmt: skip
    enrollment = group.enrollments.get(patient=patient)
    cancelled = services.end_enrollment(actor=admin_user, enrollment=enrollment, end_date=D(2026, 5, 12))
    statuses = dict(Appointment.objects.filter(patient=patient).values_list("date", "status"))
    assert statuses[D(2026, 5, 13)] == Status.ATTENDED  # started: kept, even after the end date
    assert cancelled == 17 and statuses[D(2026, 5, 14)] == Status.CANCELLED_BY_CLINIC
    assert {s for d, s in statuses.items() if d > D(2026, 5, 13)} == {Status.CANCELLED_BY_CLINIC}
    enrollment.refresh_from_db()
    assert enrollment.end_date == D(2026, 5, 12)


def test_changing_the_group_time_moves_sessions_to_come_for_every_attendee(admin_user, group, enrolled, nurse_user):
    services.update_group(actor=admin_user, group=group, changes={"start_time": T(9, 30), "clinician": nurse_user})
    today = group.sessions.get(date=D(2026, 5, 13))
    tomorrow = group.sessions.get(date=D(2026, 5, 14))
    assert (today.start_time, today.clinician_id) != (T(9, 30), nurse_user.pk)  # started: unchanged
    assert (tomorrow.start_time, tomorrow.clinician_id) == (T(9, 30), nurse_user.pk)
    moved = Appointment.objects.filter(group_session=tomorrow)
    assert moved.count() == 3
    assert {(a.start_time, a.end_time, a.clinician_id) for a in moved} == {(T(9, 30), T(12, 30), nurse_user.pk)}
    assert set(Appointment.objects.filter(group_session=today).values_list("start_time", flat=True)) == {T(9)}


# --- The roster ---------------------------------------------------------------------------------------------


def test_roster_save_marks_everyone_in_one_go_with_times_and_units(nurse_user, today_session, enrolled):
    ana, ben, cora = (Appointment.objects.get(group_session=today_session, patient=p) for p in enrolled)
    result = services.save_attendance(
        actor=nurse_user, session=today_session, group_note="Coping skills: grounding",
        attendees=[
            Entry(ana.pk, status=Status.ATTENDED, note="Engaged, led the check-in."),
            Entry(ben.pk, status=Status.ATTENDED, time_in=T(9, 40)),
            Entry(cora.pk, status=Status.NO_SHOW),
        ],
    )  # fmt: skip
    assert result.changed == 3
    for a in (ana, ben, cora):
        a.refresh_from_db()
    assert (ana.status, ana.time_in, ana.time_out, ana.units_attended) == (Status.ATTENDED, T(9), T(12), 12)
    assert ana.progress_note == "Engaged, led the check-in."
    assert (ben.time_in, ben.units_attended) == (T(9, 40), 9)  # 140 minutes: 9 units and 5 minutes
    assert (cora.status, cora.units_attended, cora.time_in) == (Status.NO_SHOW, 0, None)
    today_session.refresh_from_db()
    assert today_session.status == GroupSession.Status.HELD and today_session.group_note.startswith("Coping")
    updates = AuditEvent.objects.filter(event="scheduling.appointment.updated", object_id__in=[ana.pk, ben.pk, cora.pk])
    assert updates.count() == 3  # one entry per appointment changed
    assert "Engaged" not in str(list(updates.values_list("changes", flat=True)))
    assert ana.status_history.last().to_status == Status.ATTENDED


@pytest.mark.parametrize(("time_in", "time_out", "units"), [(T(9), T(9, 7), 0), (T(9), T(9, 8), 1),
                                                            (T(9), T(9, 22), 1), (T(9), T(9, 23), 2)])  # fmt: skip
def test_roster_units_from_time_in_and_out(nurse_user, today_session, enrolled, time_in, time_out, units):
    ana = Appointment.objects.get(group_session=today_session, patient=enrolled[0])
    services.save_attendance(actor=nurse_user, session=today_session,
                             attendees=[Entry(ana.pk, status=Status.ATTENDED, time_in=time_in, time_out=time_out)])  # fmt: skip
    ana.refresh_from_db()
    assert ana.units_attended == units


def test_roster_save_is_all_or_nothing(nurse_user, today_session, enrolled, admin_user, make_patient):
    ana, ben, _ = (Appointment.objects.get(group_session=today_session, patient=p) for p in enrolled)
    other = services.add_attendee(
        actor=admin_user, session=today_session.group.sessions.get(date=D(2026, 5, 14)), patient=make_patient()
    )
    with pytest.raises(services.AttendanceError) as error:
        services.save_attendance(
            actor=nurse_user, session=today_session, group_note="Not saved",
            attendees=[
                Entry(ana.pk, status=Status.ATTENDED),
                Entry(ben.pk, status=Status.ATTENDED, time_in=T(11), time_out=T(10)),
                Entry(other.pk, status=Status.ATTENDED),
            ],
        )  # fmt: skip
    assert set(error.value.extra["attendees"]) == {str(ben.pk), str(other.pk)}
    assert error.value.extra["attendees"][str(ben.pk)] == {"time_out": ["Time out must be after time in."]}
    ana.refresh_from_db()
    today_session.refresh_from_db()
    assert ana.status == Status.SCHEDULED and today_session.group_note == ""


def test_outcomes_wait_until_the_session_has_started(nurse_user, group, enrolled):
    tomorrow = Appointment.objects.filter(group_session__date=D(2026, 5, 14)).first()
    with pytest.raises(services.AttendanceError):
        services.save_attendance(actor=nurse_user, session=tomorrow.group_session,
                                 attendees=[Entry(tomorrow.pk, status=Status.ATTENDED)])  # fmt: skip


def test_front_desk_marks_presence_but_writes_no_notes(staff_user, today_session, enrolled):
    ana = Appointment.objects.get(group_session=today_session, patient=enrolled[0])
    with pytest.raises(services.AttendanceError) as error:
        services.save_attendance(actor=staff_user, session=today_session,
                                 attendees=[Entry(ana.pk, status=Status.ATTENDED, note="x")])  # fmt: skip
    assert "note" in error.value.extra["attendees"][str(ana.pk)]
    with pytest.raises(ValidationError):
        services.save_attendance(actor=staff_user, session=today_session, group_note="x", attendees=[])
    services.save_attendance(actor=staff_user, session=today_session, attendees=[Entry(ana.pk, status=Status.ATTENDED)])
    ana.refresh_from_db()
    assert ana.status == Status.ATTENDED


def test_read_only_cannot_mark(read_only_user, today_session, enrolled):
    with pytest.raises(PermissionDenied):
        services.save_attendance(actor=read_only_user, session=today_session, attendees=[])


# --- Signing and amendments --------------------------------------------------------------------------------


def _mark_all(actor, session):
    services.save_attendance(
        actor=actor, session=session, group_note="Group note",
        attendees=[Entry(a.pk, status=Status.ATTENDED) for a in session.attendees.all()],
    )  # fmt: skip


def test_signing_records_who_when_and_a_hash_and_changes_after_need_a_reason(nurse_user, today_session, enrolled):
    with pytest.raises(services.DomainError, match="held"):
        services.sign_session(actor=nurse_user, session=today_session)
    _mark_all(nurse_user, today_session)
    services.sign_session(actor=nurse_user, session=today_session)
    today_session.refresh_from_db()
    assert today_session.signed_by == nurse_user and today_session.signed_at is not None
    assert len(today_session.signature_hash) == 64
    assert AuditEvent.objects.filter(event="groups.groupsession.signed", object_id=today_session.pk).exists()
    ana = today_session.attendees.get(patient=enrolled[0])
    change = [Entry(ana.pk, status=Status.ATTENDED, time_out=T(11))]
    with pytest.raises(ValidationError) as error:
        services.save_attendance(actor=nurse_user, session=today_session, attendees=change)
    assert "amendment_reason" in error.value.message_dict
    ana.refresh_from_db()
    assert ana.time_out == T(12)
    result = services.save_attendance(
        actor=nurse_user, session=today_session, attendees=change, amendment_reason="Left at 11 for a doctor visit"
    )
    amendment = GroupSessionAmendment.objects.get(session=today_session)
    assert result.amendment == amendment and amendment.amended_by == nurse_user
    assert amendment.changes == [{"appointment": ana.pk, "fields": ["time_out", "units_attended"]}]
    assert amendment.content_hash != today_session.signature_hash
    ana.refresh_from_db()
    assert (ana.time_out, ana.units_attended) == (T(11), 8)
    with pytest.raises(services.DomainError, match="already signed"):
        services.sign_session(actor=nurse_user, session=today_session)


def test_front_desk_cannot_sign(staff_user, nurse_user, today_session, enrolled):
    _mark_all(nurse_user, today_session)
    with pytest.raises(PermissionDenied):
        services.sign_session(actor=staff_user, session=today_session)


def test_authorization_counts_attended_units_once_the_session_is_signed(nurse_user, today_session, enrolled, psr):
    ana = today_session.attendees.get(patient=enrolled[0])
    authorization = Authorization.objects.create(
        patient=enrolled[0], payer="Sunshine Health", auth_number="PSR-1", units_authorized=100,
        start_date=D(2026, 5, 1), end_date=D(2026, 7, 31), approval_date=D(2026, 5, 1),
    )  # fmt: skip
    authorization.service_types.set([psr])
    services.save_attendance(actor=nurse_user, session=today_session,
                             attendees=[Entry(ana.pk, status=Status.ATTENDED, time_in=T(9, 40))])  # fmt: skip

    def used() -> int:
        return with_usage(Authorization.objects.filter(pk=authorization.pk)).get().units_used

    assert used() == 12  # unsigned: the booked 180 minutes
    for other in today_session.attendees.exclude(pk=ana.pk):
        services.save_attendance(actor=nurse_user, session=today_session,
                                 attendees=[Entry(other.pk, status=Status.NO_SHOW)])  # fmt: skip
    services.sign_session(actor=nurse_user, session=today_session)
    assert used() == 9  # signed: 9:40–12:00 is 140 minutes, 9 units


def test_one_off_session_without_a_group(nurse_user, psr, clinician):
    session = services.create_session(
        actor=nurse_user, service_type=psr, date=D(2026, 5, 20), start_time=T(13), clinician=clinician, topic="Art"
    )
    assert session.group is None and session.capacity == 16 and session.duration_minutes == 180
    patient = PatientFactory(session="PM")
    appointment = services.add_attendee(actor=nurse_user, session=session, patient=patient)
    assert appointment.group_session == session and appointment.start_time == T(13)
