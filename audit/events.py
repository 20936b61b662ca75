"""Names of the audit events that code outside the writer needs to find again (reports, filters, pages).

Events are dotted ``<app>.<model>.<past verb>``. Changes and reads of registered models get theirs from
``audit.receivers`` (``patients.patient.created``/``updated``/``deleted``/``viewed``); the rest are here.
"""

LOGGED_IN = "accounts.user.logged_in"
LOGGED_OUT = "accounts.user.logged_out"
LOGIN_FAILED = "accounts.user.login_failed"
LOCKED_OUT = "accounts.user.locked_out"
PASSWORD_CHANGED = "accounts.user.password_changed"
SESSION_TIMED_OUT = "accounts.session.timed_out"
TOKEN_ISSUED = "accounts.token.issued"
TOKEN_REFRESHED = "accounts.token.refreshed"
TOKEN_REVOKED = "accounts.token.revoked"
# Second factor, re-authentication and API keys (accounts.services).
SECOND_FACTOR_ENROLLED = "accounts.user.second_factor_enrolled"
SECOND_FACTOR_RESET = "accounts.user.second_factor_reset"
RECOVERY_CODE_USED = "accounts.user.recovery_code_used"
RECOVERY_CODES_REGENERATED = "accounts.user.recovery_codes_regenerated"
REAUTHENTICATED = "accounts.user.reauthenticated"
API_KEY_CREATED = "accounts.apikey.created"
API_KEY_REVOKED = "accounts.apikey.revoked"
API_KEY_USED = "accounts.apikey.used"
API_KEY_REFUSED = "accounts.apikey.refused"
# A signed-in user was refused (403) on a PHI path (``accounts.permissions.PHI_PATHS``).
PERMISSION_DENIED = "accounts.permission.denied"
# The retention purge (``purge_audit``) records its own run.
PURGED = "audit.auditevent.purged"
# A compliance report downloaded from the page or written by ``compliance_report``.
REPORT_EXPORTED = "audit.report.exported"

# Closing the clinic on a day cancelled what was booked on it (``scheduling.services.cancel_for_closed_day``).
CLOSED_DAY_APPOINTMENTS_CANCELLED = "scheduling.closedday.appointments_cancelled"

# Suffixes of the per-model events written by ``audit.services.record_search`` / ``record_export``.
SEARCHED = "searched"
EXPORTED = "exported"

SECURITY_EVENTS = (
    LOGGED_IN, LOGGED_OUT, LOGIN_FAILED, LOCKED_OUT, PASSWORD_CHANGED, SESSION_TIMED_OUT,
    TOKEN_ISSUED, TOKEN_REFRESHED, TOKEN_REVOKED, PERMISSION_DENIED, SECOND_FACTOR_ENROLLED, SECOND_FACTOR_RESET,
    RECOVERY_CODE_USED, RECOVERY_CODES_REGENERATED, REAUTHENTICATED, API_KEY_CREATED, API_KEY_REVOKED,
    API_KEY_REFUSED,
)  # fmt: skip


def model_event(model: type, verb: str) -> str:
    """``patients.patient.searched`` for ``model_event(Patient, SEARCHED)``."""
    return f"{model._meta.app_label}.{model._meta.model_name}.{verb}"
