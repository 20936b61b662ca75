"""Audit settings, read with their defaults so the audit app works whatever order settings arrive in."""

from django.conf import settings


def anomaly_patients_per_hour() -> int:
    """Flag a user who opens more than this many distinct patient records within 60 minutes."""
    return int(getattr(settings, "AUDIT_ANOMALY_PATIENTS_PER_HOUR", 30))


def anomaly_denials_per_hour() -> int:
    """Flag a user refused (403) more than this many times within 60 minutes."""
    return int(getattr(settings, "AUDIT_ANOMALY_DENIALS_PER_HOUR", 5))


def anomaly_lookback_days() -> int:
    """A patient the user has not touched in this many days counts as outside their usual pattern."""
    return int(getattr(settings, "AUDIT_ANOMALY_LOOKBACK_DAYS", 90))
