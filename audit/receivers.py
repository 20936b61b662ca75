"""Fill every audit entry from the current request, and record the security events of sign-in and sign-out."""

from contextvars import ContextVar
from typing import Any

from auditlog.signals import pre_log
from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import pre_save
from django.dispatch import receiver

from accounts.lockout import username_from_credentials
from audit import services
from audit.context import current_actor, current_request
from audit.models import AuditEvent
from audit.registry import PATIENT_MODEL, patient_id_of
from spectrum.net import client_ip

# The patient of the instance auditlog is about to log: (model label, pk, patient id). auditlog builds the
# entry from the instance without passing it on, so the pre_log signal hands it over to the pre_save below.
_pending_patient: ContextVar[tuple[str, str, int] | None] = ContextVar("audit_pending_patient", default=None)


@receiver(pre_log)
def remember_patient(sender: Any, instance: Any, **kwargs: Any) -> None:
    patient_id = patient_id_of(instance)
    _pending_patient.set((instance._meta.label, str(instance.pk), patient_id) if patient_id is not None else None)


@receiver(pre_save, sender=AuditEvent)
def fill_request_context(sender: Any, instance: AuditEvent, **kwargs: Any) -> None:
    if instance.pk:
        return
    actor = current_actor.get()
    if instance.actor_id is None and actor is not None and actor.is_authenticated:
        instance.actor = actor
    request = current_request.get()
    if request is not None:
        user = getattr(request, "user", None)
        if instance.actor_id is None and user is not None and user.is_authenticated:
            instance.actor = user
        instance.remote_addr = instance.remote_addr or client_ip(request)
        instance.user_agent = instance.user_agent or request.headers.get("User-Agent", "")[:300]
        instance.request_id = instance.request_id or getattr(request, "request_id", "")
        instance.cid = instance.cid or instance.request_id or None
    if instance.actor is not None:
        instance.actor_email = instance.actor.email
        instance.actor_role = instance.actor.role
    model = instance.content_type.model_class() if instance.content_type_id else None
    pending = _pending_patient.get()
    if pending is not None and model is not None and pending[:2] == (model._meta.label, str(instance.object_pk)):
        if instance.patient_id is None:
            instance.patient_id = pending[2]
        _pending_patient.set(None)
    if instance.patient_id is None and model is not None and model._meta.label == PATIENT_MODEL:
        instance.patient_id = instance.object_id
    # A model may also say so through auditlog's get_additional_data() -> {"patient_id": ...}.
    extra_patient = instance.additional_data.get("patient_id") if isinstance(instance.additional_data, dict) else None
    if instance.patient_id is None and isinstance(extra_patient, int):
        instance.patient_id = extra_patient
    if not instance.event:
        verb = {0: "created", 1: "updated", 2: "deleted", 3: "viewed"}[instance.action]
        label = f"{model._meta.app_label}.{model._meta.model_name}" if model else "unknown"
        instance.event = f"{label}.{verb}"


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
