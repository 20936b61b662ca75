"""Spectrum settings: one module, driven by environment variables.

Defaults are for development. ``SPECTRUM_ENV=production`` switches on production behaviour and makes
missing secrets fail at start-up with a message naming the variable. Every variable is listed, with a
comment, in ``.env.example`` and in the README.
"""

import json
import os
import re
import secrets
import warnings
from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url
from celery.schedules import crontab
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


# --- Typed environment helpers --------------------------------------------------------------------


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}.")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}.") from None


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return list(default or [])
    return [item.strip() for item in value.split(",") if item.strip()]


def env_rates(name: str) -> dict[str, str]:
    """``"admin=600/m, importer@clinic.org=5000/h"`` -> ``{"admin": "600/m", "importer@clinic.org": "5000/h"}``."""
    rates = {}
    for item in env_list(name):
        who, _, rate = item.partition("=")
        if not re.fullmatch(r"\d+/\d*[smhd]", rate.strip()):
            raise ImproperlyConfigured(f"{name}: {item!r} is not NAME=RATE with a rate such as 600/m or 5000/h.")
        rates[who.strip().lower()] = rate.strip()
    return rates


def env_secret(name: str) -> str:
    """Read a secret from ``NAME`` or from the file named by ``NAME_FILE`` (Docker/Kubernetes secrets)."""
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        return Path(file_name).read_text().strip()
    return os.environ.get(name, "")


SPECTRUM_ENV = env_str("SPECTRUM_ENV", "development").lower()
if SPECTRUM_ENV not in {"development", "production"}:
    raise ImproperlyConfigured("SPECTRUM_ENV must be 'development' or 'production'.")
IS_PRODUCTION = SPECTRUM_ENV == "production"

# Where development keeps the secrets it generates for itself. Ignored by git; never used in production.
DEV_SECRETS_FILE = Path(env_str("SPECTRUM_DEV_SECRETS_FILE", str(BASE_DIR / ".dev-secrets.json")))


def _development_secrets() -> dict[str, str]:
    """Generate the development keys once and keep them, so encrypted data stays readable across restarts."""
    stored: dict[str, str] = {}
    if DEV_SECRETS_FILE.exists():
        stored = json.loads(DEV_SECRETS_FILE.read_text())
    generators = {
        "SECRET_KEY": lambda: secrets.token_urlsafe(50),
        "FIELD_ENCRYPTION_KEY": lambda: Fernet.generate_key().decode(),
        "SEARCH_HASH_KEY": lambda: secrets.token_urlsafe(32),
        "AUDIT_CHAIN_KEY": lambda: secrets.token_urlsafe(32),
        # Not needed at start-up: only backup, restore and verify_backup ask for it (operations.conf).
        "BACKUP_ENCRYPTION_KEY": lambda: Fernet.generate_key().decode(),
    }
    missing = {name: make() for name, make in generators.items() if not stored.get(name)}
    if missing:
        stored.update(missing)
        DEV_SECRETS_FILE.write_text(json.dumps(stored, indent=2))
        DEV_SECRETS_FILE.chmod(0o600)
    return stored


def required_secret(name: str) -> str:
    value = env_secret(name)
    if value:
        return value
    if IS_PRODUCTION:
        raise ImproperlyConfigured(
            f"{name} is not set. Spectrum refuses to start in production without it (set {name} or {name}_FILE)."
        )
    return _development_secrets()[name]


# --- Core -------------------------------------------------------------------------------------------

SECRET_KEY = required_secret("SECRET_KEY")
# Fernet keys, comma-separated: the first encrypts, all decrypt (key rotation).
FIELD_ENCRYPTION_KEY = [key.strip() for key in required_secret("FIELD_ENCRYPTION_KEY").split(",") if key.strip()]
# HMAC key for exact-match lookup columns (e.g. SSN) that must never be decrypted to search.
SEARCH_HASH_KEY = required_secret("SEARCH_HASH_KEY")

DEBUG = env_bool("DEBUG", default=not IS_PRODUCTION)
if IS_PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DEBUG must be off when SPECTRUM_ENV=production.")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", default=[] if IS_PRODUCTION else ["127.0.0.1", "localhost", "testserver"])
if IS_PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS is not set. List the host names Spectrum serves, comma-separated.")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "spectrum.apps.SpectrumAdminConfig",  # django.contrib.admin with access from accounts.permissions
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "django_htmx",
    "django_ratelimit",
    "csp",
    "axes",
    # Second factor: django-otp's TOTP devices (README "Two-factor sign-in" says why this library).
    "django_otp",
    "django_otp.plugins.otp_totp",
    "auditlog",
    "encrypted_model_fields",
    "accounts",
    "audit",
    "patients",
    "scheduling",
    "authorizations",
    "groups",
    "operations",
    "documents",
    "consents",
    "reminders",
]

MIDDLEWARE = [
    # Prometheus request counts and latencies per view (/metrics): first and (but for axes) last.
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "spectrum.middleware.RequestIdMiddleware",
    "spectrum.middleware.NoStoreMiddleware",
    "spectrum.middleware.RefuseNulBytesMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "accounts.middleware.IdleTimeoutMiddleware",
    # A user whose role requires a second factor and who has none reaches only enrolment and sign-out.
    "accounts.middleware.SecondFactorEnrolmentMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "audit.middleware.AuditActorMiddleware",
    "django_ratelimit.middleware.RatelimitMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
    # Axes must come last: it turns a lockout detected during the view into the lockout response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "spectrum.urls"
WSGI_APPLICATION = "spectrum.wsgi.application"
ASGI_APPLICATION = "spectrum.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "spectrum.context_processors.shell",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------------------

# Unset: an SQLite file in the project folder (the embedded default). postgres://…: PostgreSQL via psycopg 3.
DATABASE_URL = env_secret("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL,
        # Persistent connections: opening one per request costs 2.6-7.7x throughput on PostgreSQL.
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite: wait for the write lock instead of failing at once; one connection per thread is cheap.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (rate limits and lockouts must be shared between processes in production) ---------------

REDIS_URL = env_secret("REDIS_URL")
if IS_PRODUCTION and not REDIS_URL:
    raise ImproperlyConfigured(
        "REDIS_URL is not set. Production needs a shared cache for rate limits (e.g. redis://127.0.0.1:6379/0)."
    )
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            # An unreachable Redis must fail fast: Spectrum then runs degraded (spectrum.outages).
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    # Correct for one process only: development and tests.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "spectrum"}}

# --- Authentication, sessions, passwords ------------------------------------------------------------

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # Django's ModelBackend: the user is read from the database on every request, so a deactivation counts
    # from the next request, however it was made; the permission set comes from the cache until a grant
    # changes (accounts/backends.py).
    "accounts.backends.CachedPermissionsBackend",
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "accounts:login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "accounts.validators.CharacterClassValidator"},
]

# Sign-out after inactivity (seconds); the session cookie also ends with the browser.
SESSION_IDLE_TIMEOUT = env_int("SESSION_IDLE_TIMEOUT", 15 * 60)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
# Absolute ceiling for a session on the server, however active the user is.
SESSION_COOKIE_AGE = env_int("SESSION_MAX_AGE", 12 * 60 * 60)
# Sessions live in the database only, so signing in and staying signed in work while Redis is down.
SESSION_ENGINE = "django.contrib.sessions.backends.db"
# Seconds before the idle timeout at which the page offers "Stay signed in" (at most half the timeout).
SESSION_TIMEOUT_WARNING = env_int("SESSION_TIMEOUT_WARNING", 2 * 60)

# --- Account lifecycle ------------------------------------------------------------------------------

# A "forgot password" link works once, for this many minutes.
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_MINUTES", 60) * 60
# An invitation link works once, for this many hours (it can be resent).
INVITATION_EXPIRY_HOURS = env_int("INVITATION_EXPIRY_HOURS", 72)
# Accounts without a sign-in for this many days are deactivated by `manage.py deactivate_inactive_users`.
ACCOUNT_INACTIVE_DAYS = env_int("ACCOUNT_INACTIVE_DAYS", 90)
# A quarter's access review is overdue this many days after the quarter ended (shown on the dashboard).
ACCESS_REVIEW_DUE_DAYS = env_int("ACCESS_REVIEW_DUE_DAYS", 30)

# --- Second factor and re-authentication ------------------------------------------------------------

# Roles that must sign in with a second factor (comma-separated role names). Production: every role that
# sees clinical fields; development: none, so the demo signs in with a password.
MFA_REQUIRED_ROLES = env_list("MFA_REQUIRED_ROLES", default=["admin", "doctor", "nurse"] if IS_PRODUCTION else [])
_unknown_roles = sorted(set(MFA_REQUIRED_ROLES) - {"admin", "doctor", "nurse", "staff", "read_only"})
if _unknown_roles:
    raise ImproperlyConfigured(f"MFA_REQUIRED_ROLES: unknown role(s) {', '.join(_unknown_roles)}.")
# Dangerous actions (deactivations, role changes, factor resets, exports, API keys) ask for the password or a
# code again unless the user signed in or re-authenticated within this many seconds ("sudo mode").
REAUTH_MAX_AGE_SECONDS = env_int("REAUTH_MAX_AGE_SECONDS", 600)
# The name authenticator apps show next to the account.
OTP_TOTP_ISSUER = env_str("CLINIC_NAME", "Spectrum Clinic")

# --- Lockout (django-axes) --------------------------------------------------------------------------

AXES_ENABLED = env_bool("AXES_ENABLED", True)
AXES_HANDLER = "accounts.lockout.SpectrumAxesHandler"
# Five failures lock one account from one address; LOCKOUT_ADDRESS_FAILURE_LIMIT failures lock the address.
AXES_FAILURE_LIMIT = env_int("LOCKOUT_FAILURE_LIMIT", 5)
LOCKOUT_ADDRESS_FAILURE_LIMIT = env_int("LOCKOUT_ADDRESS_FAILURE_LIMIT", 20)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOCKOUT_MINUTES", 15))
# A successful sign-in forgets that account's failures from that address only (accounts.lockout); another
# account's lock, and a lock on the whole address, end with the cool-off time or an administrator.
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_CALLABLE = "accounts.lockout.username_from_credentials"
AXES_CLIENT_IP_CALLABLE = "spectrum.net.client_ip"
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
AXES_SENSITIVE_PARAMETERS = [
    "password", "new_password1", "new_password2", "old_password", "refresh", "access", "otp", "code",
]  # fmt: skip
AXES_VERBOSE = False

# Number of reverse proxies in front of the app that append to X-Forwarded-For (0: trust no header).
# The client address then is the entry that many places from the right; lockouts, rate limits and
# the audit trail all use it.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)

# --- Rate limits (django-ratelimit, on the shared cache; spectrum.ratelimit) ------------------------
# Without the cache (Redis down) requests are let through until it is back: see spectrum.outages.

RATELIMIT_ENABLE = env_bool("RATELIMIT_ENABLE", True)
# When django-ratelimit itself cannot count (a cache error it swallows), let the request through too.
RATELIMIT_FAIL_OPEN = True
RATELIMIT_VIEW = "spectrum.views.rate_limited"
RATELIMIT_IP_META_KEY = "spectrum.net.client_ip"
RATELIMIT_LOGIN = env_str("RATELIMIT_LOGIN", "10/m")
# "Forgot password" requests per client address, and emails sent per account (beyond it: same answer, no email).
RATELIMIT_PASSWORD_RESET = env_str("RATELIMIT_PASSWORD_RESET", "10/h")
RATELIMIT_PASSWORD_RESET_ACCOUNT = env_str("RATELIMIT_PASSWORD_RESET_ACCOUNT", "3/h")
RATELIMIT_API_READ = env_str("RATELIMIT_API_READ", "300/m")
RATELIMIT_API_WRITE = env_str("RATELIMIT_API_WRITE", "60/m")
# Write limits for bulk clients (integration scripts), per role and per user (by email); a user's own
# limit wins over their role's, which wins over RATELIMIT_API_WRITE. E.g. "admin=600/m".
RATELIMIT_API_WRITE_BY_ROLE = env_rates("RATELIMIT_API_WRITE_BY_ROLE")
RATELIMIT_API_WRITE_BY_USER = env_rates("RATELIMIT_API_WRITE_BY_USER")
SILENCED_SYSTEM_CHECKS = [
    # django-ratelimit warns about every cache but Memcached. Redis is atomic and shared, which is what
    # it needs; LocMem (no REDIS_URL) is only used by single-process development and tests.
    "django_ratelimit.W001",
    "django_ratelimit.E003",
    # The calendar's covering index INCLUDEs a column for PostgreSQL's index-only scans; SQLite simply
    # builds the index without it, which is all it needs.
    "models.W040",
]

# --- REST API ---------------------------------------------------------------------------------------

REST_FRAMEWORK = {
    # There is one API version; the schema view reads ``?version=`` only if it is one of these.
    "ALLOWED_VERSIONS": ["1"],
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # JWT first: its WWW-Authenticate header turns anonymous requests into 401, not 403.
        "accounts.authentication.SecondFactorJWTAuthentication",
        # Scripts: "Authorization: Api-Key <key>" (accounts.authentication; created by administrators).
        "accounts.authentication.APIKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["accounts.permissions.RoleModelPermissions"],
    "DEFAULT_PAGINATION_CLASS": "spectrum.api.PageNumberPagination",
    # A JSON body that is not an object ([], "x") is a 400, not a 500 in a view that reads it as a mapping.
    "DEFAULT_PARSER_CLASSES": [
        "spectrum.api.ObjectJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "PAGE_SIZE": 50,
    "DEFAULT_THROTTLE_CLASSES": ["spectrum.api.UserRateThrottle"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "spectrum.schema.SpectrumAutoSchema",
    "EXCEPTION_HANDLER": "spectrum.api.exception_handler",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

# A refresh token lasts JWT_REFRESH_HOURS and each use rotates it; the whole family (from one sign-in)
# ends JWT_REFRESH_ABSOLUTE_HOURS after the sign-in, however often it was rotated (accounts.tokens).
JWT_REFRESH_ABSOLUTE_HOURS = env_int("JWT_REFRESH_ABSOLUTE_HOURS", 12)
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env_int("JWT_ACCESS_MINUTES", 15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(hours=env_int("JWT_REFRESH_HOURS", 8)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    # Tokens carry a hash of the password: a new password ends every token issued before it at once.
    "CHECK_REVOKE_TOKEN": True,
    "TOKEN_OBTAIN_SERIALIZER": "accounts.tokens.TokenObtainPairSerializer",
    "TOKEN_REFRESH_SERIALIZER": "accounts.tokens.TokenRefreshSerializer",
    "TOKEN_BLACKLIST_SERIALIZER": "accounts.tokens.TokenBlacklistSerializer",
    "UPDATE_LAST_LOGIN": True,
    "SIGNING_KEY": SECRET_KEY,
    "AUTH_HEADER_TYPES": ("Bearer",),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Spectrum API",
    "DESCRIPTION": "Patient records and scheduling for outpatient mental health clinics.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "spectrum.schema.role_dependent_fields_are_optional",
    ],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # Several models have a "status" and a patient's program session is a group's AM/PM choice: name each
    # choice set after its model.
    "ENUM_NAME_OVERRIDES": {
        "ProgramSessionEnum": "groups.models.ProgramSession",
        "GroupSessionStatusEnum": "groups.models.GroupSession.Status",
        "ConsentStatusEnum": "consents.models.Consent.Status",
        "ConsentKindEnum": "consents.models.Consent.Kind",
    },
}

# --- Audit trail ------------------------------------------------------------------------------------

AUDITLOG_LOGENTRY_MODEL = "audit.AuditEvent"
AUDITLOG_INCLUDE_ALL_MODELS = False
AUDITLOG_MASK_CALLABLE = "audit.masking.mask_value"
AUDITLOG_DISABLE_REMOTE_ADDR = False
# HMAC key of the audit trail's hash chain (audit.chain; `manage.py verify_audit_trail`). Keep it apart from
# the database: whoever holds both could rewrite history undetected. Changing it breaks the chain.
AUDIT_CHAIN_KEY = required_secret("AUDIT_CHAIN_KEY")
# Compliance report anomalies (after-hours access uses CLINIC_HOURS_START/END and CLINIC_WORKDAYS below):
# more than N distinct patients opened within 60 minutes; more than N refusals (403) within 60 minutes;
# and, outside clinic hours, a patient the user has not touched in the last N days.
AUDIT_ANOMALY_PATIENTS_PER_HOUR = env_int("AUDIT_ANOMALY_PATIENTS_PER_HOUR", 30)
AUDIT_ANOMALY_DENIALS_PER_HOUR = env_int("AUDIT_ANOMALY_DENIALS_PER_HOUR", 5)
AUDIT_ANOMALY_LOOKBACK_DAYS = env_int("AUDIT_ANOMALY_LOOKBACK_DAYS", 90)

# --- Data operations (operations app: backups, exports, /metrics) -----------------------------------

# Encrypted backups (`manage.py backup`) go here; only the newest BACKUP_RETENTION are kept (0: keep all).
BACKUP_DIR = Path(env_str("BACKUP_DIR") or BASE_DIR / "backups")
BACKUP_RETENTION = env_int("BACKUP_RETENTION", 14)
# `dbstatus` and /metrics call the last backup stale after this many hours.
BACKUP_MAX_AGE_HOURS = env_int("BACKUP_MAX_AGE_HOURS", 26)
# Fernet key(s) of backup files, comma-separated: the first encrypts, all decrypt. Not required to start:
# backup, restore and verify_backup refuse to run without it in production (development generates one).
BACKUP_ENCRYPTION_KEY = env_secret("BACKUP_ENCRYPTION_KEY")
# Prometheus scrapes /metrics with "Authorization: Bearer <METRICS_TOKEN>"; unset: administrators' sessions only.
METRICS_TOKEN = env_secret("METRICS_TOKEN")

# --- Task queue (Celery: spectrum/celery.py, operations.queue; README "Task queue") -------------------

# The broker: CELERY_BROKER_URL, else REDIS_URL (required in production), else a folder on disk (QUEUE_DIR)
# so that development needs no Redis: `make run` starts a worker with beat beside the web server.
QUEUE_DIR = Path(env_str("QUEUE_DIR") or BASE_DIR / ".queue")
CELERY_BROKER_URL = env_secret("CELERY_BROKER_URL") or REDIS_URL or "filesystem://localhost/"
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
        "data_folder_in": str(QUEUE_DIR / "messages"),
        "data_folder_out": str(QUEUE_DIR / "messages"),
        "control_folder": str(QUEUE_DIR / "control"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # acks_late: a message a worker took but did not finish (it died) is handed out again after this many
        # seconds. It must outlast the longest task (a backup verification may take hours).
        "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 8 * 60 * 60),
        "socket_connect_timeout": 2,
    }
# Whoever enqueues (a page, a command) learns within seconds that the broker is down, instead of hanging.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1}
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# No result backend: outcomes are counted per task and final failures kept as TaskFailure rows (operations).
CELERY_TASK_IGNORE_RESULT = True
# Every task is idempotent, so a message is acknowledged only once its task has finished (a worker that dies
# mid-task leaves it to another) and one worker takes one message at a time.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Transient failures (database, broker, SMTP, network) are retried with exponential backoff (with jitter,
# capped at TASK_RETRY_BACKOFF_MAX seconds) this many times; then the task is recorded as failed.
TASK_MAX_RETRIES = env_int("TASK_MAX_RETRIES", 5)
TASK_RETRY_BACKOFF_MAX = env_int("TASK_RETRY_BACKOFF_MAX", 600)
# Beat records a heartbeat (operations.beat); /health/ says "degraded" when the last one is older than this,
# or when the oldest waiting task has waited longer than QUEUE_MAX_WAIT_SECONDS (no worker is taking them).
CELERY_BEAT_SCHEDULER = "operations.beat:HeartbeatScheduler"
CELERY_BEAT_MAX_LOOP_INTERVAL = 30
QUEUE_BEAT_STALE_SECONDS = env_int("QUEUE_BEAT_STALE_SECONDS", 300)
QUEUE_MAX_WAIT_SECONDS = env_int("QUEUE_MAX_WAIT_SECONDS", 600)
# The scheduled work, in code (reviewed and versioned with it). Each job also runs by hand as a management
# command, and runs at most once per window however many beats tick (operations.queue.run_once_per_window).
# Tasks another part of Spectrum provides are named, not imported: a name no worker knows is logged and
# dropped by the worker, and breaks nothing here.
CELERY_BEAT_SCHEDULE = {
    "backup-and-verify": {"task": "operations.tasks.backup_and_verify", "schedule": crontab(hour=1, minute=30)},
    "audit-retention-purge": {"task": "audit.tasks.purge_audit_entries", "schedule": crontab(hour=3, minute=15)},
    "deactivate-inactive-users": {
        "task": "accounts.tasks.deactivate_inactive_users",
        "schedule": crontab(hour=4, minute=0),
    },
    "reminder-sweep": {"task": "reminders.tasks.send_due_reminders", "schedule": timedelta(minutes=1)},
}
# --- Patient documents (documents app) ---------------------------------------------------------------

# Uploaded files are encrypted with FIELD_ENCRYPTION_KEY (the first key encrypts, all decrypt), in chunks.
# Largest accepted upload, in bytes (checked while the upload streams in).
DOCUMENT_MAX_BYTES = env_int("DOCUMENT_MAX_BYTES", 20 * 1024 * 1024)
# Soft-deleted documents' files are kept this many days, then `manage.py purge_deleted_documents` removes them.
DOCUMENT_RETENTION_DAYS = env_int("DOCUMENT_RETENTION_DAYS", 6 * 365)
# "local" (files under DOCUMENTS_ROOT) or "s3" (any S3-compatible object store, through django-storages).
DOCUMENTS_STORAGE = env_str("DOCUMENTS_STORAGE", "local").lower()
DOCUMENTS_ROOT = Path(env_str("DOCUMENTS_ROOT") or BASE_DIR / "documents-store")
DOCUMENTS_STORAGE_BACKEND: dict[str, Any]
if DOCUMENTS_STORAGE == "s3":
    if not env_str("AWS_STORAGE_BUCKET_NAME"):
        raise ImproperlyConfigured("DOCUMENTS_STORAGE=s3 needs AWS_STORAGE_BUCKET_NAME.")
    DOCUMENTS_STORAGE_BACKEND = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env_str("AWS_STORAGE_BUCKET_NAME"),
            "endpoint_url": env_str("AWS_S3_ENDPOINT_URL") or None,
            "region_name": env_str("AWS_S3_REGION_NAME") or None,
            "access_key": env_secret("AWS_ACCESS_KEY_ID") or None,
            "secret_key": env_secret("AWS_SECRET_ACCESS_KEY") or None,
            # Private objects, never a public or signed URL: files are only ever served through Spectrum.
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
elif DOCUMENTS_STORAGE == "local":
    DOCUMENTS_STORAGE_BACKEND = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        # No base_url: documents have no URL of their own; directories 700, files 600.
        "OPTIONS": {
            "location": str(DOCUMENTS_ROOT),
            "base_url": None,
            "file_permissions_mode": 0o600,
            "directory_permissions_mode": 0o700,
        },
    }
else:
    raise ImproperlyConfigured("DOCUMENTS_STORAGE must be 'local' or 's3'.")
# Uploads stream to a temporary file, never whole into memory; the first handler stops one that grows
# past DOCUMENT_MAX_BYTES while it is still arriving.
FILE_UPLOAD_HANDLERS = [
    "documents.uploads.MaxSizeUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
FILE_UPLOAD_MAX_MEMORY_SIZE = 0

# --- Email (password resets, invitations, reminders, alerts to administrators) ---------------------

# EMAIL_HOST set: SMTP to EMAIL_HOST:EMAIL_PORT (any provider). Unset: development prints emails to the
# console; production refuses to start without it, since resets and alerts would vanish.
EMAIL_HOST = env_str("EMAIL_HOST")
EMAIL_PORT = env_int("EMAIL_PORT", 587 if EMAIL_HOST else 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_secret("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=bool(EMAIL_HOST) and IS_PRODUCTION)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Spectrum <no-reply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
elif IS_PRODUCTION:
    raise ImproperlyConfigured("EMAIL_HOST must be set in production (password resets and alerts are emailed).")
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"

# --- Reminders and SMS -----------------------------------------------------------------------------

# Absolute address of Spectrum as patients reach it: the confirm/cancel links in reminders start with it.
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
CLINIC_PHONE = env_str("CLINIC_PHONE")
CLINIC_ADDRESS = env_str("CLINIC_ADDRESS")
# Hours before an appointment's wall-clock start that a reminder goes out (reminders/conf.py).
REMINDER_OFFSETS_HOURS = env_list("REMINDER_OFFSETS_HOURS", ["48", "2"])
# Service type codes that get reminders (empty: all) and the appointment statuses that do.
REMINDER_SERVICE_TYPES = env_list("REMINDER_SERVICE_TYPES")
REMINDER_STATUSES = env_list("REMINDER_STATUSES", ["scheduled", "confirmed"])
# No SMS between these clinic wall-clock times ("start-end"); a reminder due inside waits for the end.
REMINDER_QUIET_HOURS = env_str("REMINDER_QUIET_HOURS", "20:00-08:00")
# A patient's cancellation by link this close to the start is a late cancel.
REMINDER_LATE_CANCEL_HOURS = env_int("REMINDER_LATE_CANCEL_HOURS", 24)
# A link stops working at the appointment's start, or this many days after it was sent if sooner.
REMINDER_LINK_MAX_AGE_DAYS = env_int("REMINDER_LINK_MAX_AGE_DAYS", 7)
REMINDER_LINK_RATE = env_str("REMINDER_LINK_RATE", "20/m")
# Tries per reminder when the SMTP server or SMS provider is down, with the wait doubling from the base.
REMINDER_MAX_ATTEMPTS = env_int("REMINDER_MAX_ATTEMPTS", 5)
REMINDER_RETRY_BASE_SECONDS = env_int("REMINDER_RETRY_BASE_SECONDS", 60)
REMINDER_BATCH_SIZE = env_int("REMINDER_BATCH_SIZE", 500)
# A reminder handed to the queue but not picked up within this time is handed over again.
REMINDER_REQUEUE_AFTER_MINUTES = env_int("REMINDER_REQUEUE_AFTER_MINUTES", 15)
# "console" (development: printed), "file" (appended to SMS_FILE_PATH) or "twilio".
SMS_BACKEND = env_str("SMS_BACKEND", "console")
SMS_FILE_PATH = env_str("SMS_FILE_PATH", str(BASE_DIR / "sms-outbox.log"))
TWILIO_ACCOUNT_SID = env_str("TWILIO_ACCOUNT_SID")
TWILIO_AUTH_TOKEN = env_secret("TWILIO_AUTH_TOKEN")
TWILIO_FROM_NUMBER = env_str("TWILIO_FROM_NUMBER")
TWILIO_API_BASE = env_str("TWILIO_API_BASE", "https://api.twilio.com").rstrip("/")
TWILIO_TIMEOUT = env_int("TWILIO_TIMEOUT", 10)
if IS_PRODUCTION and SMS_BACKEND == "twilio" and not (TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN and TWILIO_FROM_NUMBER):
    raise ImproperlyConfigured("SMS_BACKEND=twilio needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM_NUMBER.")

# --- Security headers -------------------------------------------------------------------------------

X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
if IS_PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    # Behind a TLS-terminating proxy that already redirects, set SECURE_SSL_REDIRECT=false.
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    # Load balancers and the Docker HEALTHCHECK probe plain HTTP inside the network.
    SECURE_REDIRECT_EXEMPT = [r"^health/$"]
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 63072000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    # Only when the proxy sets X-Forwarded-Proto and strips it from client requests.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Internationalisation and the clinic ------------------------------------------------------------

LANGUAGE_CODE = "en-us"
# The clinic's wall clock: appointments are stored as local date + time in this zone.
TIME_ZONE = env_str("TIME_ZONE", "America/New_York")
CELERY_TIMEZONE = TIME_ZONE  # beat's crontab hours (CELERY_BEAT_SCHEDULE) are the clinic's wall clock too
# Spectrum speaks one language (US English). Django's translation machinery would still run on every
# template variable, number and URL reversed; turn it on with the first translation.
USE_I18N = False
USE_TZ = True
CLINIC_NAME = env_str("CLINIC_NAME", "Spectrum Clinic")
# Clinic hours: appointments start on the slot grid within these hours, on these weekdays (0 = Monday).
# The audit trail's after-hours report uses the same hours.
CLINIC_HOURS_START = env_str("CLINIC_HOURS_START", "09:00")
CLINIC_HOURS_END = env_str("CLINIC_HOURS_END", "17:00")
CLINIC_WORKDAYS = [int(day) for day in env_list("CLINIC_WORKDAYS", ["0", "1", "2", "3", "4"])]
APPOINTMENT_SLOT_MINUTES = env_int("APPOINTMENT_SLOT_MINUTES", 15)
# The payer's unit rule for group sessions: a unit of ``unit_minutes`` (15) counts once at least this many of
# its minutes were attended (Medicaid's "8-minute rule").
GROUP_UNIT_MIN_MINUTES = env_int("GROUP_UNIT_MIN_MINUTES", 8)
# Bounds of the dates the clinic enters and the pages can be asked for (spectrum/validation.py): far dates
# were accepted and then overflowed the calendar.
BIRTH_DATE_MIN_YEAR = env_int("BIRTH_DATE_MIN_YEAR", 1900)
BIRTH_DATE_MAX_YEAR = env_int("BIRTH_DATE_MAX_YEAR", 2100)
APPOINTMENT_DATE_RANGE_YEARS = env_int("APPOINTMENT_DATE_RANGE_YEARS", 5)  # today ± this many years
PAGE_DATE_MIN_YEAR = env_int("PAGE_DATE_MIN_YEAR", 1900)
PAGE_DATE_MAX_YEAR = env_int("PAGE_DATE_MAX_YEAR", 2100)
# The highest page number any list (page or API) answers; beyond it, 404 (or the first page).
MAX_PAGE_NUMBER = env_int("MAX_PAGE_NUMBER", 10_000)

# --- Static files -----------------------------------------------------------------------------------

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "documents": DOCUMENTS_STORAGE_BACKEND,
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Development serves static files from the app folders through WhiteNoise, without collectstatic.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
if DEBUG:
    warnings.filterwarnings("ignore", message="No directory at", module="whitenoise.base")

# --- Logging: no PHI, ever. Request logs carry the request id, method, status and route only. ---------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {"no_query_string": {"()": "spectrum.logging.StripQueryStringFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["no_query_string"]}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        # Django's request logger prints full paths (which may carry search terms); ours logs safely.
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "axes": {"handlers": ["console"], "level": "ERROR", "propagate": False},
    },
}
