import csv
import io
import json
import sys

import openpyxl
import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from accounts import permissions
from accounts.models import Role
from audit.models import AuditEvent
from operations import exports
from tests.factories import PatientFactory
from tests.operations.conftest import NOTE, PHI

pytestmark = pytest.mark.django_db


def run_export(*args: str) -> tuple[bytes, str]:
    """The export command's standard output (bytes: it writes to sys.stdout.buffer) and standard error."""
    out, err = io.BytesIO(), io.StringIO()
    stdout = io.TextIOWrapper(out, encoding="utf-8")
    real, sys.stdout = sys.stdout, stdout
    try:
        call_command("export", *args, stderr=err)
        stdout.flush()
    finally:
        sys.stdout = real
    return out.getvalue(), err.getvalue()


def read_csv(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def body(response) -> bytes:
    """A streamed download's bytes (reading them to the end is what records the export)."""
    return b"".join(response.streaming_content)


def last_export() -> AuditEvent:
    return AuditEvent.objects.filter(event__endswith=".exported").latest("id")


# --- The command -----------------------------------------------------------------------------------------


def test_export_patients_csv_to_stdout_with_search_and_audit(clinic, admin_user):
    data, err = run_export("--what", "patients", "--user", admin_user.email, "--search", "quintanilla")
    rows = read_csv(data)
    assert [row["patient_number"] for row in rows] == [clinic["patient"].patient_number]
    row = rows[0]
    assert row["last_name"] == PHI["last_name"] and row["first_name"] == "Inés"
    assert row["diagnosis"] == PHI["diagnosis"]  # administrators see clinical fields
    assert row["ssn_masked"] == "***-**-9999" and "ssn" not in row  # never the SSN itself
    assert PHI["ssn"].encode() not in data
    assert "Exported 1 patients" in err
    entry = last_export()
    assert entry.event == "patients.patient.exported" and entry.actor == admin_user
    assert entry.additional_data["channel"] == "command" and entry.additional_data["format"] == "csv"
    assert entry.additional_data["object_ids"] == [str(clinic["patient"].pk)]
    assert entry.additional_data["patient_ids"] == [clinic["patient"].pk]
    assert entry.patient_id == clinic["patient"].pk


def test_export_patients_status_filter(clinic, admin_user):
    active = read_csv(run_export("--what", "patients", "--user", admin_user.email)[0])
    everyone = read_csv(run_export("--what", "patients", "--user", admin_user.email, "--status", "all")[0])
    inactive = read_csv(run_export("--what", "patients", "--user", admin_user.email, "--status", "inactive")[0])
    assert len(active) == len(clinic["patients"]) - 1
    assert len(everyone) == len(clinic["patients"])
    assert [row["id"] for row in inactive] == [str(clinic["inactive"].pk)]


def test_export_appointments_json_to_a_file(clinic, admin_user, tmp_path):
    target = tmp_path / "appointments.json"
    patient = clinic["patient"]
    call_command(
        "export", "--what", "appointments", "--format", "json", "--user", admin_user.email,
        "--patient", patient.patient_number, "--output", str(target), stderr=io.StringIO(),
    )  # fmt: skip
    assert oct(target.stat().st_mode & 0o777) == "0o600"
    records = json.loads(target.read_text())
    assert [record["id"] for record in records] == [clinic["appointments"][0].pk]
    assert records[0]["notes"] == NOTE and records[0]["patient_number"] == patient.patient_number
    entry = last_export()
    assert entry.event == "scheduling.appointment.exported"
    assert entry.additional_data["object_ids"] == [str(clinic["appointments"][0].pk)]
    assert entry.additional_data["patient_ids"] == [patient.pk]
    assert entry.additional_data["filters"]["patient"] == patient.patient_number


def test_export_appointments_date_range(clinic, admin_user):
    first = clinic["appointments"][0].date.isoformat()
    data, _ = run_export(
        "--what",
        "appointments",
        "--format",
        "json",
        "--user",
        admin_user.email,
        "--date-from",
        first,
        "--date-to",
        first,
    )
    assert [record["date"] for record in json.loads(data)] == [first]


def test_export_authorizations_xlsx(clinic, admin_user, tmp_path):
    target = tmp_path / "authorizations.xlsx"
    call_command(
        "export", "--what", "authorizations", "--format", "xlsx", "--user", admin_user.email, "--status", "active",
        "--output", str(target), stderr=io.StringIO(),
    )  # fmt: skip
    sheet = openpyxl.load_workbook(target).active
    header, *rows = list(sheet.values)
    record = dict(zip(header, rows[0], strict=True))
    assert len(rows) == 1
    assert record["auth_number"] == "SH-1001" and record["services"] == "IND" and record["status"] == "active"
    assert record["units_authorized"] == 12 and record["units_remaining"] == 12
    entry = last_export()
    assert entry.event == "authorizations.authorization.exported" and entry.additional_data["format"] == "xlsx"
    assert entry.additional_data["patient_ids"] == [clinic["patient"].pk]


def test_spreadsheet_formulas_in_data_are_defused(db, admin_user):
    PatientFactory(first_name='=HYPERLINK("http://evil")', last_name="Formula")
    row = read_csv(run_export("--what", "patients", "--user", admin_user.email)[0])[0]
    assert row["first_name"].startswith("'=")


@pytest.mark.parametrize("role", [Role.DOCTOR, Role.NURSE, Role.STAFF, Role.READ_ONLY])
def test_only_administrators_may_export(clinic, user_for_role, role):
    user = user_for_role(role)
    with pytest.raises(CommandError, match="Only administrators"):
        run_export("--what", "patients", "--user", user.email)
    assert not AuditEvent.objects.filter(event__endswith=".exported").exists()


def test_export_refuses_unknown_users_and_bad_filters(clinic, admin_user):
    with pytest.raises(CommandError, match="No active user"):
        run_export("--what", "patients", "--user", "nobody@clinic.test")
    with pytest.raises(CommandError, match="date"):
        run_export("--what", "appointments", "--user", admin_user.email, "--date-from", "yesterday")
    with pytest.raises(CommandError, match="No patient"):
        run_export("--what", "authorizations", "--user", admin_user.email, "--patient", "P999999")


def test_columns_follow_each_roles_field_visibility(db, user_for_role):
    staff = {column.name for column in exports.patient_columns(user_for_role(Role.STAFF))}
    auditor = {column.name for column in exports.patient_columns(user_for_role(Role.READ_ONLY))}
    doctor = {column.name for column in exports.patient_columns(user_for_role(Role.DOCTOR))}
    assert "diagnosis" not in staff and "ssn_masked" not in staff
    assert "diagnosis" in auditor and "ssn_masked" not in auditor
    assert {"diagnosis", "ssn_masked"} <= doctor
    assert "ssn" not in staff | auditor | doctor
    assert "notes" not in {c.name for c in exports.appointment_columns(user_for_role(Role.STAFF))}


def test_export_permission_belongs_to_administrators_only(db, user_for_role):
    assert permissions.can_export_data(user_for_role(Role.ADMIN))
    for role in (Role.DOCTOR, Role.NURSE, Role.STAFF, Role.READ_ONLY):
        assert not permissions.can_export_data(user_for_role(role))


# --- Downloads from the list pages --------------------------------------------------------------------------


def test_admin_downloads_the_filtered_patient_list_as_csv(client, clinic, admin_user):
    client.force_login(admin_user)
    url = reverse("operations:export", args=["patients", "csv"])
    response = client.get(url, {"search": "quintanilla", "page": "3", "page_size": "25"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="spectrum-patients-')
    rows = read_csv(body(response))
    assert [row["patient_number"] for row in rows] == [clinic["patient"].patient_number]
    entry = last_export()
    assert entry.additional_data["channel"] == "page"
    assert entry.additional_data["filters"] == {"search": "quintanilla"}


def test_a_download_streams_and_is_recorded_once_sent(client, admin_user):
    patients = PatientFactory.create_batch(3, city="Hialeah")
    client.force_login(admin_user)
    response = client.get(reverse("operations:export", args=["patients", "csv"]), {"city": "Hialeah"})
    assert response.streaming
    assert not AuditEvent.objects.filter(event="patients.patient.exported").exists()  # nothing sent yet
    assert len(read_csv(body(response))) == 3
    assert sorted(last_export().additional_data["patient_ids"]) == sorted(p.pk for p in patients)


def test_an_export_stopped_early_records_only_what_was_sent(admin_user):
    patients = PatientFactory.create_batch(3, city="Hialeah")
    prepared = exports.prepare(
        user=admin_user, what="patients", export_format="csv", params={"city": "Hialeah"}, channel="page"
    )
    chunks = prepared.chunks()
    received = next(chunks) + next(chunks) + next(chunks)  # byte-order mark, header, first patient
    chunks.close()  # the download was cancelled
    assert received.decode("utf-8-sig").count("\n") == 2
    entry = last_export()
    assert entry.additional_data["count"] == 1 and len(entry.additional_data["patient_ids"]) == 1
    assert entry.additional_data["patient_ids"][0] in {p.pk for p in patients}


def test_admin_downloads_authorizations_as_xlsx(client, clinic, admin_user):
    client.force_login(admin_user)
    response = client.get(reverse("operations:export", args=["authorizations", "xlsx"]), {"payer": "sunshine"})
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(body(response))).active
    assert len(list(sheet.values)) == 2


def test_list_pages_link_to_downloads_with_current_filters_for_admins_only(client, clinic, admin_user, doctor_user):
    client.force_login(admin_user)
    page = client.get(reverse("patients:patient-list"), {"search": "quintanilla"}).content.decode()
    assert reverse("operations:export", args=["patients", "csv"]) + "?search=quintanilla" in page
    page = client.get(reverse("authorizations:authorization-list"), {"status": "active"}).content.decode()
    assert reverse("operations:export", args=["authorizations", "csv"]) + "?status=active" in page
    client.force_login(doctor_user)
    assert "/exports/" not in client.get(reverse("patients:patient-list")).content.decode()
    assert "/exports/" not in client.get(reverse("authorizations:authorization-list")).content.decode()


def test_download_access_matrix(client, clinic, doctor_user, admin_user):
    url = reverse("operations:export", args=["patients", "csv"])
    assert client.get(url).status_code == 302  # anonymous: to the sign-in page
    client.force_login(doctor_user)
    assert client.get(url).status_code == 403
    denied = AuditEvent.objects.filter(event="accounts.permission.denied").latest("id")
    assert denied.actor == doctor_user
    client.force_login(admin_user)
    assert client.post(url).status_code == 405
    assert client.get("/exports/everything.csv").status_code == 404
    assert client.get(reverse("operations:export", args=["patients", "pdf"])).status_code == 404
    bad = client.get(reverse("operations:export", args=["appointments", "csv"]), {"date_from": "nope"})
    assert bad.status_code == 400
    assert not AuditEvent.objects.filter(event__endswith=".exported").exists()
