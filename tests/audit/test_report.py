"""The compliance report's numbers and anomaly rules, against a week of known activity."""

import datetime

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from audit.models import AuditEvent
from audit.reports import _episodes, build_compliance_report, render_csv
from tests.audit.conftest import entry
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

ZONE = timezone.get_default_timezone()
VIEW, CREATE, UPDATE = AuditEvent.Action.ACCESS, AuditEvent.Action.CREATE, AuditEvent.Action.UPDATE
MONDAY, SUNDAY = datetime.date(2026, 3, 2), datetime.date(2026, 3, 8)


def at(day: int, hour: int, minute: int = 0, second: int = 0, month: int = 3, year: int = 2026) -> datetime.datetime:
    return datetime.datetime(year, month, day, hour, minute, second, tzinfo=ZONE)


def view(user, patient, moment, action=VIEW):
    verb = {VIEW: "viewed", CREATE: "created", UPDATE: "updated"}[action]
    return entry(event=f"patients.patient.{verb}", actor=user, patient=patient, at=moment, action=action)


@pytest.fixture
def week(admin_user, doctor_user, nurse_user, staff_user):
    """A week (Mon 2 – Sun 8 March 2026, clinic hours 09:00–17:00 Mon–Fri) with one of each situation."""
    p = PatientFactory.create_batch(40)
    # Nurse: ordinary day work, one search, failed sign-ins and a lockout, five refusals (not "repeated").
    view(nurse_user, p[0], at(2, 10))
    view(nurse_user, p[1], at(2, 11))
    view(nurse_user, p[0], at(2, 12))
    view(nurse_user, p[1], at(2, 12, 30), action=UPDATE)
    entry(event="patients.patient.searched", actor=nurse_user, at=at(2, 13))
    for minute in range(0, 50, 10):
        entry(event="accounts.permission.denied", actor=nurse_user, at=at(4, 12, minute))
    for minute in range(3):
        entry(event="accounts.user.login_failed", actor=nurse_user, at=at(5, 8, minute), address="10.0.0.1")
    entry(event="accounts.user.locked_out", actor=nurse_user, at=at(5, 8, 5), address="10.0.0.1")
    for minute in range(2):
        entry(event="accounts.user.login_failed", email=None, at=at(5, 9, minute), address="10.0.0.9")
    # Doctor: after hours only. p3 never seen before; p4 seen 30 days earlier; p5 100 days earlier;
    # p6 registered after hours (a new record has no history: not an anomaly).
    view(doctor_user, p[4], at(31, 15, month=1))
    view(doctor_user, p[5], at(22, 15, month=11, year=2025))
    view(doctor_user, p[3], at(7, 10))  # Saturday
    view(doctor_user, p[4], at(3, 20))
    view(doctor_user, p[5], at(4, 7))
    view(doctor_user, p[6], at(5, 19), action=CREATE)
    # Front desk: 31 different records in 45 minutes, across a clock hour; six refusals in 50 minutes
    # spread over two clock hours (three in each).
    for i in range(31):
        view(staff_user, p[i], at(3, 13, 40) + datetime.timedelta(seconds=90 * i))
    for minute in (30, 40, 50, 60, 70, 80):
        entry(event="accounts.permission.denied", actor=staff_user, at=at(4, 10) + datetime.timedelta(minutes=minute))
    # Administrator: exactly 30 records in half an hour (not more than 30), and one export of 40 patients.
    for i in range(30):
        view(admin_user, p[i], at(4, 9, 30 + i))
    entry(
        event="patients.patient.exported",
        actor=admin_user,
        at=at(5, 11),
        data={"channel": "page", "format": "csv", "count": 40, "patient_ids": [x.pk for x in p]},
    )
    # Outside the period: not counted.
    view(nurse_user, p[9], at(9, 3))
    return p


def test_access_per_user(week):
    report = build_compliance_report(MONDAY, SUNDAY)
    assert report.entries == 88
    assert [
        (u.email, u.accesses, u.views, u.changes, u.distinct_patients, u.searches, u.exports, u.after_hours, u.denied)
        for u in report.users
    ] == [
        ("staff@clinic.test", 31, 31, 0, 31, 0, 0, 0, 6),
        ("admin@clinic.test", 30, 30, 0, 30, 0, 1, 0, 0),
        ("doctor@clinic.test", 4, 3, 1, 4, 0, 0, 4, 0),
        ("nurse@clinic.test", 4, 3, 1, 2, 1, 0, 0, 5),
    ]


def test_failed_sign_ins_lockouts_and_exports(week):
    report = build_compliance_report(MONDAY, SUNDAY)
    assert (report.failed_logins, report.lockouts) == (5, 1)
    assert [(r.account, r.address, r.failures, r.lockouts) for r in report.sign_in_failures] == [
        ("nurse@clinic.test", "10.0.0.1", 3, 1),
        ("", "10.0.0.9", 2, 0),
    ]
    assert [(e.email, e.event, e.export_format, e.count) for e in report.exports] == [
        ("admin@clinic.test", "patients.patient.exported", "csv", 40)
    ]


def test_after_hours_uses_clinic_hours_and_workdays(week):
    report = build_compliance_report(MONDAY, SUNDAY)
    assert [
        (r.day.isoformat(), r.email, r.accesses, r.distinct_patients, f"{r.first:%H:%M}") for r in report.after_hours
    ] == [
        ("2026-03-03", "doctor@clinic.test", 1, 1, "20:00"),
        ("2026-03-04", "doctor@clinic.test", 1, 1, "07:00"),
        ("2026-03-05", "doctor@clinic.test", 1, 1, "19:00"),
        ("2026-03-07", "doctor@clinic.test", 1, 1, "10:00"),
    ]
    assert report.after_hours_accesses == 4


def test_anomalies(week):
    report = build_compliance_report(MONDAY, SUNDAY)
    found = [
        (
            a.kind,
            a.email,
            timezone.localtime(a.start).strftime("%d %H:%M"),
            timezone.localtime(a.end).strftime("%d %H:%M"),
            a.count,
            a.patient_id,
        )
        for a in report.anomalies
    ]
    assert found == [
        ("bulk_access", "staff@clinic.test", "03 13:40", "03 14:25", 31, None),
        ("unusual_patient", "doctor@clinic.test", "04 07:00", "04 07:00", 1, week[5].pk),
        ("repeated_denials", "staff@clinic.test", "04 10:30", "04 11:20", 6, None),
        ("unusual_patient", "doctor@clinic.test", "07 10:00", "07 10:00", 1, week[3].pk),
    ]


def test_thresholds_and_hours_are_settings(week, settings):
    settings.AUDIT_ANOMALY_PATIENTS_PER_HOUR = 29
    settings.AUDIT_ANOMALY_DENIALS_PER_HOUR = 4
    settings.AUDIT_ANOMALY_LOOKBACK_DAYS = 20
    settings.CLINIC_HOURS_START, settings.CLINIC_HOURS_END = "06:00", "21:00"
    settings.CLINIC_WORKDAYS = [0, 1, 2, 3, 4, 5]
    report = build_compliance_report(MONDAY, SUNDAY)
    kinds = [(a.kind, a.email) for a in report.anomalies]
    assert ("bulk_access", "admin@clinic.test") in kinds and ("bulk_access", "staff@clinic.test") in kinds
    assert ("repeated_denials", "nurse@clinic.test") in kinds
    assert report.after_hours_accesses == 0 and not [k for k in kinds if k[0] == "unusual_patient"]


def test_rolling_window_counts_distinct_records_not_openings():
    start = datetime.datetime(2026, 3, 2, 9, tzinfo=datetime.UTC)
    same_three = [(start + datetime.timedelta(minutes=i), i % 3) for i in range(50)]
    assert _episodes(same_three, 2, distinct=True) == [(start, start + datetime.timedelta(minutes=49), 3)]
    spread = [(start + datetime.timedelta(minutes=40 * i), i) for i in range(10)]
    assert _episodes(spread, 2, distinct=True) == []
    two_bursts = [(start + datetime.timedelta(minutes=m), m) for m in (0, 1, 2, 200, 201, 202)]
    assert [peak for _, _, peak in _episodes(two_bursts, 2, distinct=True)] == [3, 3]


def test_empty_period(db):
    report = build_compliance_report(datetime.date(2001, 1, 1), datetime.date(2001, 1, 31))
    assert report.entries == 0 and report.users == [] and report.anomalies == []
    assert render_csv(report).startswith("Compliance report,2001-01-01,2001-01-31")


def test_period_must_be_sane(db):
    with pytest.raises(ValueError, match="before the start"):
        build_compliance_report(SUNDAY, MONDAY)
    with pytest.raises(ValueError, match="at most 366 days"):
        build_compliance_report(datetime.date(2024, 1, 1), datetime.date(2026, 1, 1))


# --- The command ---------------------------------------------------------------------------------------


def test_command_writes_csv_and_records_its_run(week, capsys):
    call_command("compliance_report", "--from", "2026-03-02", "--to", "2026-03-08", "--format", "csv")
    out = capsys.readouterr().out
    assert "Access by user" in out
    assert "staff@clinic.test,staff,31,31,0,31,0,0,0,6" in out
    assert "Failed sign-ins and lockouts,5,1" in out
    assert "Bulk access,staff@clinic.test" in out and "Repeated refusals,staff@clinic.test" in out
    run = AuditEvent.objects.get(event="audit.report.exported")
    assert run.actor is None
    assert run.additional_data == {
        "channel": "command",
        "format": "csv",
        "count": 88,
        "report": "compliance",
        "from": "2026-03-02",
        "to": "2026-03-08",
    }


def test_command_writes_html_to_a_file(week, tmp_path):
    target = tmp_path / "report.html"
    call_command(
        "compliance_report", "--from", "2026-03-02", "--to", "2026-03-08", "--format", "html", "--output", str(target)
    )
    html = target.read_text()
    assert html.startswith("<!DOCTYPE html>") and "Compliance report" in html
    assert "Outside usual pattern" in html and "doctor@clinic.test" in html
    assert "<script" not in html


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2026-13-01", "--to", "2026-03-08"], "is not a date"),
        (["--from", "2026-03-08", "--to", "2026-03-01"], "before the start"),
    ],
)
def test_command_refuses_bad_periods(db, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("compliance_report", *args)
    assert not AuditEvent.objects.filter(event="audit.report.exported").exists()
