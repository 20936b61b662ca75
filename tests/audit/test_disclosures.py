"""Every response that discloses a patient's record or a list of patients writes its audit entry, whatever
the view: the class test walks every URL pattern and API route of the project.

Each route is in exactly one of two sets: DISCLOSING (the request below must grow the trail) or
NOT_PATIENT_RECORDS (with the reason it discloses none). A new route in neither fails
``test_every_route_is_classified``: whoever adds it says which it is.
"""

import datetime
import json

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver

from audit.models import AuditEvent
from documents import services as documents
from documents.models import DocumentCategory
from patients.models import Patient
from scheduling import services as scheduling
from scheduling.models import ServiceType
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 3, 18, 15, 0, tzinfo=datetime.UTC)  # a Wednesday, clinic hours
PERIOD = {"date_from": "2026-03-01", "date_to": "2026-03-17"}


def route_keys() -> set[str]:
    """``namespace:name`` of every URL pattern (the pattern itself for the few without a name)."""

    def walk(patterns, prefix: str, namespace: str):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = ":".join(filter(None, [namespace, pattern.namespace])) if pattern.namespace else namespace
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
            elif isinstance(pattern, URLPattern):
                if pattern.name:
                    yield ":".join(filter(None, [namespace, pattern.name]))
                else:
                    yield prefix + str(pattern.pattern)

    return set(walk(get_resolver().url_patterns, "", ""))


# --- The classification ------------------------------------------------------------------------------------

# route -> the request that discloses through it: (method, path, data), with {pk} the patient's id.
DISCLOSING: dict[str, tuple[str, str, dict]] = {
    "patients:patient-list": ("get", "/patients/", {"search": "smith"}),
    "patients:patient-detail": ("get", "/patients/{pk}/", {}),
    "patients:patient-edit": ("get", "/patients/{pk}/edit/", {}),
    "scheduling:patient-picker": ("get", "/appointments/patients/", {"q": "smi"}),
    "authorizations:report-attendance": ("get", "/authorizations/reports/attendance/", PERIOD),
    "operations:export": ("get", "/exports/patients.csv", {}),
    "api:patient-list": ("get", "/api/v1/patients/", {"search": "smith"}),
    "api:patient-detail": ("patch", "/api/v1/patients/{pk}/", {}),
    "api:patient-reactivate": ("post", "/api/v1/patients/{pk}/reactivate/", {}),
    "api:patient-consents": ("get", "/api/v1/patients/{pk}/consents/", {}),
    "admin:patients_patient_changelist": ("get", "/admin/patients/patient/", {"q": "smith"}),
    "admin:patients_patient_change": ("get", "/admin/patients/patient/{pk}/change/", {}),
    "admin:patients_patient_history": ("get", "/admin/patients/patient/{pk}/history/", {}),
    "documents:face-sheet": ("get", "/patients/{pk}/face-sheet.pdf", {}),
    "documents:document-view": ("get", "/documents/{document}/", {}),
    "api:document-download": ("get", "/api/v1/documents/{document}/download/", {}),
}

NOT_PATIENT_RECORDS: dict[str, str] = {
    "dashboard": "counts and links, no patient",
    "health": "dependency status",
    "accounts:login": "sign-in",
    "accounts:logout": "sign-out",
    "accounts:password-change": "the user's own password",
    "accounts:password-reset": "forgot password: an email address in, the same answer out",
    "accounts:password-reset-done": "a fixed message",
    "accounts:password-reset-confirm": "the user's own new password",
    "accounts:invitation-accept": "the invited user's own password",
    "accounts:user-list": "staff accounts, invitations and lockouts",
    "accounts:user-invite": "POST creates a staff account (audited)",
    "accounts:user-unlock": "POST clears a staff account's lockout (audited)",
    "accounts:invitation-resend": "POST; audited",
    "accounts:invitation-revoke": "POST; audited",
    "accounts:access-review": "staff accounts and per-user counts of records opened, no patient",
    "accounts:access-review-download": "the same counts as CSV; recorded as an export",
    "accounts:access-review-confirm": "POST; recorded",
    "accounts:session-status": "seconds left in the user's own session",
    "accounts:session-keep-alive": "POST; the user's own session",
    "api:user-unlock": "POST clears a staff account's lockout (audited)",
    "admin:accounts_user_unlock": "clears a staff account's lockout (audited)",
    "patients:patient-create": "an empty form; a new record is recorded as created",
    "patients:patient-deactivate": "POST, redirects (the change is recorded as updated)",
    "patients:patient-reactivate": "POST, redirects (the change is recorded as updated)",
    "audit:event-list": "the trail itself, for auditors (reading it is not a disclosure of a record)",
    "audit:event-export": "the trail itself; recorded as an export of audit events",
    "audit:compliance-report": "aggregates per user",
    "audit:compliance-download": "aggregates per user; recorded as a report export",
    "scheduling:calendar": "appointments, each its own record (the patient's name as its label)",
    "scheduling:week": "appointments, each its own record",
    "scheduling:day": "appointments, each its own record",
    "scheduling:appointment-create": "booking form; the booking is recorded as created",
    "scheduling:appointment-preview": "dates of a series",
    "scheduling:appointment-edit": "one appointment; changes recorded",
    "scheduling:appointment-status": "POST, one appointment's status; recorded",
    "scheduling:series-cancel": "POST; recorded",
    "scheduling:closed-days": "appointments of the day being closed, each its own record; closing is recorded",
    "authorizations:authorization-list": "authorizations, each its own record",
    "authorizations:authorization-create": "authorization form; recorded as created",
    "authorizations:authorization-edit": "one authorization; changes recorded",
    "authorizations:report-utilisation": "units per service type, no patient",
    "operations:metrics": "Prometheus counters",
    "api:token-obtain": "tokens",
    "api:token-refresh": "tokens",
    "api:token-revoke": "tokens",
    "api:me": "the user's own account",
    "api:user-list": "staff accounts",
    "api:user-detail": "a staff account",
    "api:user-reset-second-factor": "POST; a staff account's second factor; recorded",
    "accounts:login-verify": "sign-in, second step",
    "accounts:reauth": "re-authentication (sudo mode)",
    "accounts:security": "the user's own second factor",
    "accounts:totp-enrol": "the user's own second factor",
    "accounts:recovery-codes": "the user's own recovery codes",
    "accounts:user-second-factor-reset": "a staff account's second factor; recorded",
    "accounts:apikey-list": "API keys (names, roles, dates)",
    "accounts:apikey-create": "POST; creates an API key; recorded",
    "accounts:apikey-revoke": "POST; revokes an API key; recorded",
    "api:calendar": "appointments, each its own record",
    "api:service-type-list": "reference data",
    "api:service-type-detail": "reference data",
    "api:appointment-list": "appointments, each its own record",
    "api:appointment-detail": "one appointment; changes recorded",
    "api:appointment-series-list": "series, each its own record",
    "api:appointment-series-preview": "dates of a series",
    "api:appointment-series-detail": "one series",
    "api:appointment-series-cancel": "POST; recorded",
    "api:authorization-list": "authorizations, each its own record",
    "api:authorization-detail": "one authorization; changes recorded",
    "groups:session-list": "sessions with attendee counts, no patient",
    "groups:session-roster": "a roster: appointments, each its own record; the read is recorded with the "
    "patients' ids (groups.roster.viewed); POST: each appointment changed recorded",
    "groups:session-sign": "POST; recorded (groups.groupsession.signed)",
    "groups:group-enrollments": "a group's enrollments; each enrollment its own record (created/ended recorded)",
    "groups:enrollment-end": "POST; recorded as updated",
    "groups:attendance-sheet": "appointments per patient and day; the read is recorded with the patients' ids, "
    "a download as an export (tests/groups/test_pages.py)",
    "groups:sheet-cell": "POST, one appointment's status; recorded",
    "api:group-list": "program groups: no patient",
    "api:group-detail": "a program group: no patient",
    "api:enrollment-list": "enrollments, each its own record (created/ended are recorded)",
    "api:enrollment-detail": "one enrollment",
    "api:enrollment-end": "POST; the enrollment and each cancelled appointment recorded as updated",
    "api:group-session-list": "sessions with attendee counts, no patient",
    "api:group-session-detail": "a roster: appointments, each its own record; the read is recorded with the "
    "patients' ids (groups.roster.viewed, tests/groups/test_audit.py)",
    "api:group-session-attendance": "PUT; each appointment changed recorded, then the roster read as above",
    "api:group-session-sign": "POST; recorded (groups.groupsession.signed), then the roster read as above",
    "api:group-session-attendees": "POST; the booking recorded as created",
    "api:attendance-sheet": "appointments per patient and day; the read is recorded with the patients' ids "
    "(groups.attendance_sheet.viewed, tests/groups/test_audit.py)",
    "api:audit-event-list": "the trail itself, for auditors",
    "api:audit-event-detail": "the trail itself, for auditors",
    "api-schema": "the OpenAPI schema",
    "api-docs": "Swagger UI",
    "consents:consent-create": "POST; the new consent record is recorded as created",
    "reminders:link": "one appointment's date and time to the holder of its signed link; every use recorded",
    "reminders:dashboard": "reminders, each its own appointment's (the patient number as its label)",
    "reminders:resend": "POST; recorded",
    "reminders:template-edit": "message templates, no patient",
    "reminders:sms-status": "the SMS provider's delivery report, no patient",
    "admin:index": "admin home",
    "admin:login": "sign-in",
    "admin:logout": "sign-out",
    "admin:password_change": "the user's own password",
    "admin:password_change_done": "the user's own password",
    "admin:jsi18n": "translations",
    "admin:app_list": "model list",
    "admin:autocomplete": "admin autocomplete (Patient has no search in autocomplete_fields)",
    "admin:view_on_site": "redirects to the object's page (which records the read)",
    "admin:auth_user_password_change": "a staff account's password",
    "admin:patients_patient_add": "an empty form; a new record is recorded as created",
    "admin:patients_patient_delete": "refused: patients are deactivated, never deleted",
    "admin/(?P<url>.*)$": "admin's catch-all (404 or redirect)",
    "admin/login/": "sign-in redirect",
    "documents:document-upload": "POST, redirects; the upload is recorded (documents.document.uploaded)",
    "documents:document-thumbnail": "a thumbnail on the patient page, whose opening is recorded",
    "documents:document-delete": "POST, redirects; recorded as deleted",
    "api:patient-document-list": "documents' descriptions (category, title, dates), each file's opening recorded; "
    "uploads recorded",
    "api:patient-document-detail": "one document's description; changes and deletion recorded",
    "admin:documents_documentcategory_add": "reference data",
    "admin:documents_documentcategory_change": "reference data",
    "admin:documents_documentcategory_changelist": "reference data",
    "admin:documents_documentcategory_delete": "reference data",
    "admin:documents_documentcategory_history": "reference data",
}
# Admin pages of models that hold no patient record (appointments and authorizations are their own records).
for _model in (
    "accounts_user", "accounts_invitation", "audit_auditevent", "auth_group", "authorizations_authorization", "axes_accessattempt",
    "axes_accessfailurelog", "axes_accesslog", "accounts_apikey", "reminders_reminder", "scheduling_appointment", "scheduling_appointmentseries",
    "scheduling_closedday", "scheduling_servicetype", "token_blacklist_blacklistedtoken",
    "groups_group", "groups_groupsession", "groups_enrollment", "groups_groupsessionamendment",
    "token_blacklist_outstandingtoken",
    # The task queue's records: job names, times, counts and errors (tasks raise identifiers, never PHI).
    "operations_scheduledrun", "operations_taskcount", "operations_taskfailure",
):  # fmt: skip
    for _view in ("add", "change", "changelist", "delete", "history"):
        NOT_PATIENT_RECORDS[f"admin:{_model}_{_view}"] = "admin of a model without patient records"


def _unnamed_admin_redirect(key: str) -> bool:
    """admin's ``<app>/<model>/<path:object_id>/``: a redirect to the change page, which records the read."""
    return key.startswith("admin/") and key.endswith("<path:object_id>/")


def test_every_route_is_classified():
    keys = {key for key in route_keys() if not _unnamed_admin_redirect(key)}
    assert not set(DISCLOSING) & set(NOT_PATIENT_RECORDS)
    unclassified = keys - set(DISCLOSING) - set(NOT_PATIENT_RECORDS)
    assert unclassified == set(), f"Say whether these disclose patients: {sorted(unclassified)}"
    assert set(DISCLOSING) <= keys  # no stale entries


# --- Each disclosing route grows the trail ------------------------------------------------------------------


@pytest.fixture
def clinic(admin_user):
    with time_machine.travel(NOW, tick=False):
        patient = PatientFactory(first_name="John", last_name="Smith")
        service = ServiceType.objects.get(code="IND")
        appointment = scheduling.book_appointment(
            actor=admin_user,
            patient=patient,
            service_type=service,
            date=datetime.date(2026, 3, 10),
            start_time=datetime.time(10),
        )
        scheduling.set_status(actor=admin_user, appointment=appointment, status="attended")
        document = documents.upload_document(
            actor=admin_user,
            patient=patient,
            upload=SimpleUploadedFile("card.pdf", b"%PDF-1.4\n%%EOF\n"),
            filename="card.pdf",
            category=DocumentCategory.objects.get(code="insurance_card"),
            title="Card",
        )
    return {"patient": patient, "document": document}


def disclose(client, route: str, patient: Patient, document=None):
    method, path, data = DISCLOSING[route]
    path = path.format(pk=patient.pk, document=document.pk if document else 0)
    if method == "get":
        response = client.get(path, data)
    else:
        response = getattr(client, method)(path, json.dumps(data), content_type="application/json")
    if response.streaming:
        b"".join(response.streaming_content)  # a download is recorded once it is sent
    return response


@pytest.mark.parametrize("route", sorted(DISCLOSING))
def test_every_disclosing_route_writes_its_entry(client, admin_user, clinic, route):
    patient = clinic["patient"]
    if route == "api:patient-reactivate":
        Patient.objects.filter(pk=patient.pk).update(is_active=False)  # only an inactive patient is reactivated
    client.force_login(admin_user)
    with time_machine.travel(NOW, tick=False):
        before = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
        response = disclose(client, route, patient, clinic["document"])
    assert response.status_code == 200, response.content[:300]
    written = list(AuditEvent.objects.filter(id__gt=before))
    about_patients = [
        e
        for e in written
        if e.patient_id == patient.pk
        or e.event == "patients.patient.searched"
        or patient.pk in (e.additional_data or {}).get("patient_ids", [])
    ]
    assert about_patients, f"{route} wrote {[e.event for e in written]}"
    assert all(e.actor == admin_user for e in about_patients)


# --- The three reproducers of the issue -----------------------------------------------------------------------


def test_the_edit_form_records_the_read_and_counts_it(client, admin_user, clinic):
    patient = clinic["patient"]
    client.force_login(admin_user)
    response = client.get(f"/patients/{patient.pk}/edit/")
    assert response.status_code == 200
    entry = AuditEvent.objects.filter(event="patients.patient.viewed", patient_id=patient.pk).latest("id")
    assert entry.additional_data == {"channel": "edit"} and entry.actor == admin_user
    patient.refresh_from_db()
    assert patient.access_count == 1 and patient.last_accessed_by == admin_user


def test_an_empty_patch_records_the_read_and_no_change(api_client_for, admin_user, clinic):
    patient = clinic["patient"]
    client = api_client_for(admin_user)
    for _ in range(2):
        response = client.patch(f"/api/v1/patients/{patient.pk}/", {}, format="json")
        assert response.status_code == 200 and response.json()["last_name"] == "Smith"
    entries = AuditEvent.objects.filter(patient_id=patient.pk, event__startswith="patients.patient.").exclude(
        event="patients.patient.created"
    )
    assert list(entries.values_list("event", flat=True)) == ["patients.patient.viewed"] * 2
    patient.refresh_from_db()
    assert patient.access_count == 2


def test_a_real_patch_records_the_change_and_the_read(api_client_for, admin_user, clinic):
    patient = clinic["patient"]
    client = api_client_for(admin_user)
    assert client.patch(f"/api/v1/patients/{patient.pk}/", {"city": "Tampa"}, format="json").status_code == 200
    events = AuditEvent.objects.filter(patient_id=patient.pk).order_by("id").values_list("event", flat=True)
    assert list(events)[-2:] == ["patients.patient.updated", "patients.patient.viewed"]


def test_the_booking_picker_records_the_search(client, staff_user, clinic):
    client.force_login(staff_user)
    response = client.get("/appointments/patients/", {"q": "smi"})
    assert "Smith" in response.content.decode()
    entry = AuditEvent.objects.filter(event="patients.patient.searched").latest("id")
    assert entry.actor == staff_user
    assert entry.additional_data["channel"] == "booking_picker"
    assert entry.additional_data["terms"] == ["smi"] and entry.additional_data["results"] == 1


def test_a_picker_term_too_short_to_search_lists_nobody_and_records_nothing(client, staff_user, clinic):
    client.force_login(staff_user)
    client.get("/appointments/patients/", {"q": "s"})
    assert not AuditEvent.objects.filter(event="patients.patient.searched").exists()
