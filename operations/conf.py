"""Settings of the data operations, read with their defaults (see spectrum/settings.py, "Data operations")."""

from pathlib import Path

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings

from spectrum.exceptions import DomainError


class BackupKeyMissing(DomainError):
    pass


def backup_dir() -> Path:
    return Path(getattr(settings, "BACKUP_DIR", Path(settings.BASE_DIR) / "backups"))


def backup_retention() -> int:
    return int(getattr(settings, "BACKUP_RETENTION", 14))


def backup_max_age_hours() -> int:
    return int(getattr(settings, "BACKUP_MAX_AGE_HOURS", 26))


def backup_keys() -> list[str]:
    """``BACKUP_ENCRYPTION_KEY`` as a list (first encrypts). Development generates one into .dev-secrets.json."""
    value = getattr(settings, "BACKUP_ENCRYPTION_KEY", "") or ""
    if not value:
        if settings.IS_PRODUCTION:
            raise BackupKeyMissing(
                "BACKUP_ENCRYPTION_KEY is not set. Backups hold every patient record: Spectrum refuses to write or "
                "read them without their own encryption key in production (set BACKUP_ENCRYPTION_KEY or "
                "BACKUP_ENCRYPTION_KEY_FILE; generate one with "
                'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())").'
            )
        from spectrum.settings import _development_secrets

        value = _development_secrets()["BACKUP_ENCRYPTION_KEY"]
    keys = [key.strip() for key in str(value).split(",") if key.strip()]
    try:
        [Fernet(key) for key in keys]
    except ValueError:
        raise BackupKeyMissing(
            "BACKUP_ENCRYPTION_KEY is not a valid Fernet key (32 url-safe base64-encoded bytes)."
        ) from None
    return keys


def backup_crypto() -> MultiFernet:
    return MultiFernet([Fernet(key) for key in backup_keys()])


def metrics_token() -> str:
    return getattr(settings, "METRICS_TOKEN", "") or ""
