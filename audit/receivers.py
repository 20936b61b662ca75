"""Hand auditlog's instance to the entry it writes, and record the security events of sign-in and sign-out."""

from typing import Any

from auditlog.signals import pre_log
from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from accounts.lockout import username_from_credentials
from audit import services
from audit.context import pending_patient
from audit.registry import patient_id_of


@receiver(pre_log)
def remember_patient(sender: Any, instance: Any, **kwargs: Any) -> None:
    patient_id = patient_id_of(instance)
    pending_patient.set((instance._meta.label, str(instance.pk), patient_id) if patient_id is not None else None)


@receiver(user_logged_in)
def record_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    services.record_security_event(getattr(request, "_request", request), "accounts.user.logged_in", user=user)


@receiver(user_logged_out)
def record_logout(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        services.record_security_event(request, "accounts.user.logged_out", user=user)


def _account_for(request: Any, credentials: dict | None) -> Any:
    from accounts.models import User

    email = username_from_credentials(request, credentials)
    return User.objects.filter(email=email).first() if email else None


@receiver(user_login_failed)
def record_login_failure(sender: Any, credentials: dict, request: Any = None, **kwargs: Any) -> None:
    if request is None:
        return
    # The typed email is not recorded when it matches no account: it may be a mistyped password.
    services.record_security_event(
        getattr(request, "_request", request), "accounts.user.login_failed", user=_account_for(request, credentials)
    )


@receiver(user_locked_out)
def record_lockout(sender: Any, request: Any, username: str | None = None, **kwargs: Any) -> None:
    credentials = {"email": username} if username else None
    services.record_security_event(
        getattr(request, "_request", request), "accounts.user.locked_out", user=_account_for(request, credentials)
    )
