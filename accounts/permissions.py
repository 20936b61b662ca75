"""The role matrix and every access rule, in one place.

Each role is a Django group (created and kept in step by data migrations through ``sync_role_groups``)
whose model permissions come from ``ROLE_PERMISSIONS`` below, so Django admin shows them and
``user.has_perm`` answers for pages, the API and admin alike. A feature that adds models extends the
matrix here and adds a data migration calling ``sync_role_groups``. The README shows the same matrix.
"""

import time
from collections.abc import Callable
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any, ClassVar

from django.conf import settings
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import AnonymousUser
from rest_framework import permissions

from accounts.models import Role, User

if TYPE_CHECKING:
    # Not at run time: rest_framework.views reads the DRF settings, which name classes in this module.
    from rest_framework.request import Request
    from rest_framework.views import APIView

    from documents.models import Document, DocumentCategory
    from patients.models import Patient

# Who a predicate is asked about: a request's user, signed in or not.
Actor = User | AnonymousUser

# Permission names are "app_label.codename"; shell-style wildcards select several.
PATIENT_EDITING = {"patients.view_patient", "patients.add_patient", "patients.change_patient"}
PATIENT_CLINICAL = {"patients.view_clinical", "patients.change_clinical", "patients.view_ssn", "patients.change_ssn"}
SCHEDULING_READ = {
    "scheduling.view_servicetype", "scheduling.view_closedday", "scheduling.view_appointment",
    "scheduling.view_appointmentseries", "scheduling.view_appointmentstatuschange",
}  # fmt: skip
SCHEDULING_BOOKING = SCHEDULING_READ | {
    "scheduling.add_appointment", "scheduling.change_appointment",
    "scheduling.add_appointmentseries", "scheduling.change_appointmentseries",
}  # fmt: skip
AUTHORIZATION_READ = {"authorizations.view_authorization"}
AUTHORIZATION_WRITE = AUTHORIZATION_READ | {"authorizations.add_authorization", "authorizations.change_authorization"}
# Deleting a document (a soft delete) and managing categories: administrators only (through "*").
DOCUMENT_READ = {"documents.view_document", "documents.view_documentcategory"}
DOCUMENT_WRITE = DOCUMENT_READ | {"documents.add_document", "documents.change_document"}
CONSENT_READ = {"consents.view_consent"}
CONSENT_WRITE = CONSENT_READ | {"consents.add_consent"}
# Delivery results of reminders (sent, failed, opted out) on the appointment and patient pages.
REMINDER_READ = {"reminders.view_reminder"}

ROLE_PERMISSIONS: dict[str, set[str]] = {
    # Everything, including the administrators-only operations.export_data and operations.view_metrics.
    Role.ADMIN: {"*"},
    Role.DOCTOR: PATIENT_EDITING
    | PATIENT_CLINICAL
    | {"patients.deactivate_patient"}
    | SCHEDULING_BOOKING
    | {"scheduling.override_conflict"}
    | AUTHORIZATION_WRITE
    | DOCUMENT_WRITE
    | CONSENT_WRITE
    | REMINDER_READ,
    Role.NURSE: PATIENT_EDITING
    | PATIENT_CLINICAL
    | SCHEDULING_BOOKING
    | {"scheduling.override_conflict"}
    | AUTHORIZATION_READ
    | DOCUMENT_WRITE
    | CONSENT_WRITE
    | REMINDER_READ,
    Role.STAFF: PATIENT_EDITING
    | SCHEDULING_BOOKING
    | AUTHORIZATION_READ
    | DOCUMENT_WRITE
    | CONSENT_WRITE
    | REMINDER_READ,
    # Reads everything except the SSN (not even masked); writes nothing.
    Role.READ_ONLY: {"audit.view_auditevent", "patients.view_patient", "patients.view_clinical"}
    | SCHEDULING_READ
    | AUTHORIZATION_READ
    | DOCUMENT_READ
    | CONSENT_READ
    | REMINDER_READ,
}


def role_has_permission(role: str, permission: str) -> bool:
    """Whether the matrix grants ``permission`` ("app_label.codename") to ``role``."""
    return any(fnmatchcase(permission, pattern) for pattern in ROLE_PERMISSIONS.get(role, ()))


def sync_role_groups(apps: Any = None) -> None:
    """Create one group per role and give it exactly the permissions the matrix grants.

    Called from data migrations with the historical ``apps``; creates the permissions of every
    model migrated so far first, since Django otherwise adds them only after all migrations ran.
    """
    if apps is None:
        from django.apps import apps as global_apps

        apps = global_apps
    for app_config in apps.get_app_configs():
        # create_permissions skips app configs without a models module, as migration stubs are.
        models_module = getattr(app_config, "models_module", None)
        app_config.models_module = models_module or True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = models_module

    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    all_permissions = list(permission_model.objects.select_related("content_type"))
    for role in Role.values:
        group, _ = group_model.objects.get_or_create(name=role)
        granted = [
            permission
            for permission in all_permissions
            if role_has_permission(role, f"{permission.content_type.app_label}.{permission.codename}")
        ]
        group.permissions.set(granted)


# --- Predicates: pages, the API's permission classes, admin, exports and templates all ask these --------
# Each access decision has one name here; nothing else in the project asks ``has_perm`` itself
# (tests/accounts/test_predicates.py keeps it so).


def _granted(user: Actor, permission: str) -> bool:
    return bool(user and user.is_authenticated and user.is_active and user.has_perm(permission))


def can_view_audit_log(user: Actor) -> bool:
    return _granted(user, "audit.view_auditevent")


def can_export_audit_log(user: Actor) -> bool:
    """The audit log's CSV and the compliance report downloads: whoever reviews the log (admin, auditor)."""
    return can_view_audit_log(user)


def can_export_data(user: Actor) -> bool:
    """Exports of patients, appointments and authorizations (``export`` command, list-page downloads): admin."""
    return _granted(user, "operations.export_data")


def can_export_patients(user: Actor) -> bool:
    """Any download that lists patients (exports, the attendance report by patient): whoever may export data."""
    return can_export_data(user)


def can_view_metrics(user: Actor) -> bool:
    """``/metrics`` with a session (scrapers use METRICS_TOKEN instead): admin."""
    return _granted(user, "operations.view_metrics")


def can_view_access_history(user: Actor) -> bool:
    """A patient's Access history (accounting of disclosures) on the patient page."""
    return can_view_audit_log(user)


# --- PHI endpoints: a signed-in user refused (403) under these paths is recorded in the audit trail -----
# (``accounts.permission.denied``). Each prefix names the URL argument holding a patient's id, if any, so
# the refusal also shows in that patient's Access history. Features that serve PHI add their prefixes.
PHI_PATHS: dict[str, str | None] = {
    "/patients/": "pk",
    "/api/v1/patients/": "pk",
    "/admin/patients/": "object_id",
    "/audit/": None,
    "/api/v1/audit-events/": None,
    "/exports/": None,
    "/calendar/": None,
    "/appointments/": None,
    "/closed-days/": None,
    "/api/v1/appointments/": None,
    "/api/v1/appointment-series/": None,
    "/api/v1/calendar/": None,
    "/authorizations/": None,
    "/api/v1/authorizations/": None,
    "/group-sessions/": None,
    "/attendance-sheet/": None,
    "/api/v1/group-sessions/": None,
    "/api/v1/enrollments/": None,
    "/api/v1/attendance-sheet/": None,
    "/documents/": None,
    "/api/v1/documents/": None,
}


def _phi_prefix(path: str) -> str | None:
    return max((prefix for prefix in PHI_PATHS if path.startswith(prefix)), key=len, default=None)


def is_phi_path(path: str) -> bool:
    return _phi_prefix(path) is not None


def phi_patient_argument(path: str) -> str | None:
    """The URL argument that names the patient on this PHI path (``pk``), or None."""
    prefix = _phi_prefix(path)
    return PHI_PATHS[prefix] if prefix is not None else None


# --- DRF ----------------------------------------------------------------------------------------------


class RoleModelPermissions(permissions.DjangoModelPermissions):
    """Model permissions from the role's group, with reads requiring the ``view`` permission too.

    The default for endpoints without rules of their own (users, service types). DRF's default lets any
    authenticated user read; a clinic must not.
    """

    perms_map = {
        **permissions.DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": ["%(app_label)s.view_%(model_name)s"],
    }


class IsAuthenticatedActive(permissions.IsAuthenticated):
    """For endpoints about the caller themselves (``/auth/me/``)."""

    def has_permission(self, request: "Request", view: "APIView") -> bool:
        return super().has_permission(request, view) and request.user.is_active


# --- Patients -----------------------------------------------------------------------------------------


def can_view_inactive_patients(user: Actor) -> bool:
    """Deactivated patients, and everything recorded for them, exist only for administrators.

    Every "visible to" query (patients, appointments, series, authorizations) filters with this one rule.
    """
    return _granted(user, "patients.reactivate_patient")


def can_view_patient(user: Actor, patient: "Patient") -> bool:
    """Whether ``user`` may know ``patient`` exists (views answer 404 otherwise)."""
    return can_view_patients(user) and (patient.is_active or can_view_inactive_patients(user))


def can_add_patient(user: Actor) -> bool:
    return _granted(user, "patients.add_patient")


def can_change_patient(user: Actor, patient: "Patient") -> bool:
    return can_change_patients(user) and can_view_patient(user, patient)


def can_deactivate_patient(user: Actor, patient: "Patient") -> bool:
    return patient.is_active and can_deactivate_patients(user)


def can_reactivate_patient(user: Actor, patient: "Patient") -> bool:
    return not patient.is_active and can_view_inactive_patients(user)


def patient_hidden_fields(user: Actor) -> set[str]:
    """Fields of a patient ``user`` may not see: absent from their pages and API answers."""
    from patients.models import CLINICAL_FIELDS

    hidden: set[str] = set()
    if not can_view_clinical_text(user):
        hidden |= set(CLINICAL_FIELDS)
    if not _granted(user, "patients.view_ssn"):
        hidden |= {"ssn", "ssn_masked"}
    return hidden


def patient_unwritable_fields(user: Actor) -> set[str]:
    """Fields of a patient ``user`` may not set: refused with a message, never silently dropped."""
    from patients.models import CLINICAL_FIELDS

    unwritable: set[str] = set()
    if not can_change_clinical_text(user):
        unwritable |= set(CLINICAL_FIELDS)
    if not _granted(user, "patients.change_ssn"):
        unwritable.add("ssn")
    if not _granted(user, "patients.change_patient_number"):
        unwritable.add("patient_number")
    return unwritable


def can_view_change_history(user: Actor) -> bool:
    return can_view_audit_log(user)


# --- Clinical text: which fields of which model a role may see and write -------------------------------
# Forms drop these fields, API serializers (spectrum.serializers.RoleFieldsMixin) leave them out of answers
# and refuse them in requests, templates render only the fields their form has, and exports ask the same.
# A model that gains clinical text adds it here; patients keep their finer rules (clinical fields, SSN).

CLINICAL_TEXT_FIELDS: dict[str, frozenset[str]] = {
    "scheduling.appointment": frozenset({"notes", "progress_note"}),
    "groups.groupsession": frozenset({"group_note"}),
    "authorizations.authorization": frozenset({"notes", "diagnosis_code"}),
}


def can_view_clinical_text(user: Actor) -> bool:
    """Clinical text: a patient's clinical fields, appointment and authorization notes, diagnosis codes."""
    return _granted(user, "patients.view_clinical")


def can_change_clinical_text(user: Actor) -> bool:
    return _granted(user, "patients.change_clinical")


def hidden_fields(user: Actor, model: Any) -> frozenset[str]:
    """Fields of ``model`` (a model class or instance) that ``user`` may not see."""
    label = model._meta.label_lower
    if label == "patients.patient":
        return frozenset(patient_hidden_fields(user))
    if can_view_clinical_text(user):
        return frozenset()
    return CLINICAL_TEXT_FIELDS.get(label, frozenset())


def unwritable_fields(user: Actor, model: Any) -> frozenset[str]:
    """Fields of ``model`` that ``user`` may not set (which includes every field they may not see)."""
    label = model._meta.label_lower
    if label == "patients.patient":
        return frozenset(patient_unwritable_fields(user) | patient_hidden_fields(user))
    if can_change_clinical_text(user):
        return hidden_fields(user, model)
    return CLINICAL_TEXT_FIELDS.get(label, frozenset())


def can_view_patients(user: Actor) -> bool:
    """The patient list, search and records at all (which ones: ``can_view_patient``)."""
    return _granted(user, "patients.view_patient")


def can_change_patients(user: Actor) -> bool:
    return _granted(user, "patients.change_patient")


def can_deactivate_patients(user: Actor) -> bool:
    return _granted(user, "patients.deactivate_patient")


# --- Scheduling ---------------------------------------------------------------------------------------


def can_view_schedule(user: Actor) -> bool:
    """The calendar, appointments and series (of the patients ``user`` may see)."""
    return _granted(user, "scheduling.view_appointment")


def can_book_appointments(user: Actor) -> bool:
    return _granted(user, "scheduling.add_appointment")


def can_book_for_patient(user: Actor, patient: "Patient") -> bool:
    """The patient page's "Book" button: only active patients are booked."""
    return patient.is_active and can_book_appointments(user)


def can_change_appointments(user: Actor) -> bool:
    """Edit appointments and mark attendance."""
    return _granted(user, "scheduling.change_appointment")


def can_book_series(user: Actor) -> bool:
    return _granted(user, "scheduling.add_appointmentseries")


def can_change_series(user: Actor) -> bool:
    """Cancel (or otherwise change) a whole series."""
    return _granted(user, "scheduling.change_appointmentseries")


def can_override_conflicts(user: Actor) -> bool:
    """Book over a conflict, with a recorded reason."""
    return _granted(user, "scheduling.override_conflict")


def is_bookable_clinician(user: Actor) -> bool:
    """Whether appointments may name ``user`` as their clinician (never an API key's account)."""
    return can_book_appointments(user) and not is_api_key_account(user)


def can_manage_closed_days(user: Actor) -> bool:
    """Close the clinic on a date (and cancel what is booked on it): administrators."""
    return _granted(user, "scheduling.add_closedday")


def can_view_service_types(user: Actor) -> bool:
    return _granted(user, "scheduling.view_servicetype")


def can_manage_service_types(user: Actor) -> bool:
    """Add, change or retire service types: administrators."""
    return _granted(user, "scheduling.change_servicetype")


# --- Authorizations -----------------------------------------------------------------------------------


def can_view_authorizations(user: Actor) -> bool:
    return _granted(user, "authorizations.view_authorization")


def can_add_authorizations(user: Actor) -> bool:
    return _granted(user, "authorizations.add_authorization")


def can_add_authorization_for(user: Actor, patient: "Patient") -> bool:
    """The patient page's "Add authorization" button: only for active patients."""
    return patient.is_active and can_add_authorizations(user)


def can_change_authorizations(user: Actor) -> bool:
    return _granted(user, "authorizations.change_authorization")


def can_view_attendance_report(user: Actor) -> bool:
    """The attendance report counts appointments: whoever sees the schedule."""
    return can_view_schedule(user)


# --- Group sessions (groups app) -----------------------------------------------------------------------
# Attendees are appointments: reading, booking and marking them follow the appointment rules; defining
# groups and enrolling patients is for administrators; notes are clinical text (``hidden_fields``).


def can_view_group_sessions(user: Actor) -> bool:
    """Groups, their sessions and rosters, and the weekly attendance sheet."""
    return can_view_schedule(user)


def can_manage_groups(user: Actor) -> bool:
    """Create and change groups (days, time, clinician, capacity): administrators."""
    return _granted(user, "groups.change_group")


def can_manage_enrollments(user: Actor) -> bool:
    """Enroll patients in groups and end enrollments (which books and cancels their sessions): administrators."""
    return _granted(user, "groups.change_enrollment") and can_book_series(user)


def can_add_group_sessions(user: Actor) -> bool:
    """A one-off group session without a group: whoever books appointments."""
    return can_book_appointments(user)


def can_record_group_attendance(user: Actor) -> bool:
    """Mark a roster (status, time in and out): whoever marks attendance of appointments."""
    return can_change_appointments(user)


def can_sign_group_sessions(user: Actor) -> bool:
    """Sign a held session's attendance (and amend it after): clinical roles that mark attendance."""
    return can_change_appointments(user) and can_change_clinical_text(user)


def can_edit_attendance_sheet(user: Actor) -> bool:
    """Cells of the weekly attendance sheet are editable inline by whoever marks rosters."""
    return can_record_group_attendance(user)


# --- Documents and printable records -------------------------------------------------------------------
# Clinical categories (evaluations, referrals) follow clinical text: hidden from the front desk. The
# auditor reads; deleting (a soft delete) is for administrators; deleted documents are shown to no one.


def can_view_documents(user: Actor) -> bool:
    """A patient's documents section and the documents API at all (which ones: ``can_view_document``)."""
    return _granted(user, "documents.view_document")


def can_view_document_category(user: Actor, category: "DocumentCategory") -> bool:
    return can_view_documents(user) and (not category.is_clinical or can_view_clinical_text(user))


def can_view_document(user: Actor, document: "Document") -> bool:
    """View or download one document (views answer 404 otherwise: its existence is not disclosed)."""
    return (
        document.deleted_at is None
        and can_view_patient(user, document.patient)
        and can_view_document_category(user, document.category)
    )


def can_upload_documents(user: Actor) -> bool:
    return _granted(user, "documents.add_document")


def can_upload_document_for(user: Actor, patient: "Patient") -> bool:
    """The patient page's upload form: only for active patients."""
    return patient.is_active and can_upload_documents(user) and can_view_patient(user, patient)


def can_use_document_category(user: Actor, category: "DocumentCategory") -> bool:
    """File a document under ``category``: an active one the user may see (clinical ones need clinical writes)."""
    return (
        category.is_active
        and can_view_document_category(user, category)
        and (not category.is_clinical or can_change_clinical_text(user))
    )


def can_change_documents(user: Actor) -> bool:
    return _granted(user, "documents.change_document")


def can_change_document(user: Actor, document: "Document") -> bool:
    """Edit a document's title, category and dates."""
    return can_change_documents(user) and can_view_document(user, document)


def can_delete_documents(user: Actor) -> bool:
    return _granted(user, "documents.delete_document")


def can_delete_document(user: Actor, document: "Document") -> bool:
    """Soft-delete a document: administrators (the file stays until the retention purge)."""
    return can_delete_documents(user) and can_view_document(user, document)


def can_view_face_sheet(user: Actor, patient: "Patient") -> bool:
    """The printable face sheet: whoever may open the record (its clinical part: ``can_view_clinical_text``)."""
    return can_view_patient(user, patient)


# --- Accounts -----------------------------------------------------------------------------------------


def can_view_users(user: Actor) -> bool:
    return _granted(user, "accounts.view_user")


def can_manage_users(user: Actor) -> bool:
    """Create users, change roles, deactivate: administrators."""
    return _granted(user, "accounts.change_user")


def can_manage_api_keys(user: Actor) -> bool:
    """Create and revoke API keys for scripts: administrators (a key acts with the role it is given)."""
    return _granted(user, "accounts.add_apikey") and not is_api_key_account(user)


def can_reset_second_factor(user: Actor, target: User) -> bool:
    """Remove another user's second factor (they enrol again): administrators; one's own is on the Security page."""
    return can_manage_users(user) and not is_api_key_account(user) and user.pk != target.pk


def is_api_key_account(user: Actor) -> bool:
    """The account an API key acts as: never signs in, never re-authenticates, is never a clinician."""
    return bool(getattr(user, "is_api_key_account", False))


# --- Second factor and re-authentication ("sudo mode") ------------------------------------------------


def second_factor_required(user: Actor) -> bool:
    """Whether ``user``'s role must sign in with a second factor (``MFA_REQUIRED_ROLES``)."""
    return (
        bool(user and user.is_authenticated)
        and not is_api_key_account(user)
        and getattr(user, "role", None) in settings.MFA_REQUIRED_ROLES
    )


def must_enrol_second_factor(user: Actor) -> bool:
    """A signed-in user whose role requires a second factor and who has none: they may only enrol or sign out."""
    from accounts.selectors import has_second_factor

    return second_factor_required(user) and not has_second_factor(user)  # type: ignore[arg-type]


# Session key: when this session's user last proved who they are (password, code or both), epoch seconds.
REAUTH_SESSION_KEY = "reauthenticated_at"


def authenticated_at(request: Any) -> float | None:
    """When the caller last signed in or re-authenticated: the session's time, or the API token's ``auth_time``.

    API keys have none: a script cannot re-enter a password, so it cannot do what needs a recent sign-in.
    """
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or is_api_key_account(user):
        return None
    payload = getattr(getattr(request, "auth", None), "payload", None)
    if isinstance(payload, dict):
        value = payload.get("auth_time")
        return float(value) if isinstance(value, int | float) else None
    session = getattr(request, "session", None)
    value = session.get(REAUTH_SESSION_KEY) if session is not None else None
    return float(value) if isinstance(value, int | float) else None


def is_recently_authenticated(request: Any) -> bool:
    """Sudo mode: the caller proved who they are within ``REAUTH_MAX_AGE_SECONDS``.

    Dangerous actions (deactivating a patient or a user, changing a role, resetting a second factor,
    exporting data, creating or revoking API keys) ask this; pages then ask for the password again
    (``accounts.reauth``), the API answers 403 "reauthentication_required".
    """
    at = authenticated_at(request)
    return at is not None and time.time() - at <= settings.REAUTH_MAX_AGE_SECONDS


# --- Navigation ---------------------------------------------------------------------------------------


# --- Consents and reminders ------------------------------------------------------------------------------


def can_view_consents(user: Actor) -> bool:
    return _granted(user, "consents.view_consent")


def can_view_patient_consents(user: Actor, patient: "Patient") -> bool:
    return can_view_consents(user) and can_view_patient(user, patient)


def can_add_consents(user: Actor) -> bool:
    return _granted(user, "consents.add_consent")


def can_record_consent(user: Actor, patient: "Patient") -> bool:
    """Give, refuse or revoke a consent (each a new record: history is kept)."""
    return can_add_consents(user) and can_view_patient(user, patient)


def can_view_reminder_results(user: Actor) -> bool:
    """Delivery results of reminders (no content) on the appointment and patient pages and the dashboard."""
    return _granted(user, "reminders.view_reminder")


def can_manage_reminders(user: Actor) -> bool:
    """The administrators' reminders page: upcoming sends, results, resending, the message templates."""
    return _granted(user, "reminders.change_remindertemplate")


def can_use_admin_site(user: Actor) -> bool:
    """Django's admin site (accounts, lockouts, reference data) is for active administrators only."""
    return bool(user and user.is_authenticated and user.is_active and user.role == Role.ADMIN)


# --- DRF permission classes built on the predicates ---------------------------------------------------


Predicate = Callable[[Actor], bool]


_METHOD_GROUPS = {
    "GET": "read", "HEAD": "read", "OPTIONS": "read", "POST": "create", "PUT": "change", "PATCH": "change",
    "DELETE": "delete",
}  # fmt: skip


class PredicatePermission(permissions.BasePermission):
    """An endpoint's access, method by method, from the predicates above: the API asks what pages ask.

    ``predicates`` maps "read", "create", "change" and "delete" to a predicate; a method the endpoint has
    whose group has none is refused. Actions check anything finer (reactivate, override) in the service
    they call.
    """

    predicates: ClassVar[dict[str, Predicate]] = {}

    def has_permission(self, request: "Request", view: "APIView") -> bool:
        method = (request.method or "").lower()
        if not hasattr(view, method):
            # The endpoint has no such method: a signed-in caller gets DRF's 405, not a 403.
            return bool(request.user and request.user.is_authenticated)
        predicate = self.predicates.get(_METHOD_GROUPS.get(method.upper(), ""))
        return predicate is not None and predicate(request.user)


class PatientPermissions(PredicatePermission):
    """DELETE deactivates, so it asks the deactivate predicate."""

    predicates = {
        "read": can_view_patients, "create": can_add_patient, "change": can_change_patients,
        "delete": can_deactivate_patients,
    }  # fmt: skip


class AppointmentPermissions(PredicatePermission):
    predicates = {"read": can_view_schedule, "create": can_book_appointments, "change": can_change_appointments}


class SeriesPermissions(PredicatePermission):
    """Creating, previewing and cancelling a series are all POST; the cancel service asks ``can_change_series``."""

    predicates = {"read": can_view_schedule, "create": can_book_series, "change": can_change_series}


class ServiceTypePermissions(PredicatePermission):
    predicates = {
        "read": can_view_service_types, "create": can_manage_service_types, "change": can_manage_service_types,
    }  # fmt: skip


class UserPermissions(PredicatePermission):
    predicates = {"read": can_view_users, "create": can_manage_users, "change": can_manage_users}


class AuthorizationPermissions(PredicatePermission):
    predicates = {
        "read": can_view_authorizations, "create": can_add_authorizations, "change": can_change_authorizations,
    }  # fmt: skip


# --- Account lifecycle --------------------------------------------------------------------------------


def can_invite_users(user: Actor) -> bool:
    """Invite users, resend and revoke invitations: whoever manages users (administrators)."""
    return can_manage_users(user)


def can_unlock_users(user: Actor) -> bool:
    """Clear a user's sign-in lockout: whoever manages users (administrators)."""
    return can_manage_users(user)


def can_review_access(user: Actor) -> bool:
    """The quarterly access review (page, CSV download, confirmation): whoever manages users."""
    return can_manage_users(user)


class GroupPermissions(PredicatePermission):
    predicates = {"read": can_view_group_sessions, "create": can_manage_groups, "change": can_manage_groups}


class EnrollmentPermissions(PredicatePermission):
    predicates = {
        "read": can_view_group_sessions, "create": can_manage_enrollments, "change": can_manage_enrollments,
    }  # fmt: skip


class GroupSessionPermissions(PredicatePermission):
    """PUT is the roster's attendance; POST creates a one-off session or signs (the service asks ``can_sign``)."""

    predicates = {
        "read": can_view_group_sessions, "create": can_add_group_sessions, "change": can_record_group_attendance,
    }  # fmt: skip


class DocumentPermissions(PredicatePermission):
    """Per document, the views ask ``can_view_document`` / ``can_change_document`` / ``can_delete_document``."""

    predicates = {
        "read": can_view_documents, "create": can_upload_documents, "change": can_change_documents,
        "delete": can_delete_documents,
    }  # fmt: skip


class ConsentPermissions(PredicatePermission):
    """A patient's consents: read by those who see consents, recorded (POST) by those who add them."""

    predicates = {"read": can_view_consents, "create": can_add_consents}
