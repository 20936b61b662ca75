"""Registering a model with the audit trail, under Spectrum's rules, in one call.

A model that holds PHI registers in its ``models.py``, after the class::

    from audit.registry import register_audited

    register_audited(Appointment, patient_field="patient", exclude_fields=["updated_at"])

- Every encrypted field (django-encrypted-model-fields) is masked in the diff whether listed or not;
  ``mask_fields`` adds other sensitive fields. The trail never holds their plaintext.
- ``exclude_fields`` leaves out bookkeeping that changes without meaning (``updated_at``, counters).
- ``patient_field`` names the field (usually a foreign key to ``patients.Patient``) whose value becomes
  each entry's ``patient_id``, so the patient's Access history lists changes to this model too. Entries
  written with ``audit.services.record(target=...)`` get it the same way.

Changes go through auditlog's signals, which ``QuerySet.update()`` and bulk operations bypass: services
save instances instead (``tests/audit/test_guard_updates.py`` checks every app's services).
"""

from collections.abc import Iterable
from typing import Any

from auditlog.registry import auditlog
from django.db import models
from encrypted_model_fields.fields import EncryptedMixin

PATIENT_MODEL = "patients.Patient"

# Model label -> attribute holding the patient's id ("pk" for the patient model itself).
_patient_attributes: dict[str, str] = {PATIENT_MODEL: "pk"}


def encrypted_fields(model: type[models.Model]) -> list[str]:
    return [field.name for field in model._meta.concrete_fields if isinstance(field, EncryptedMixin)]


def register_audited(
    model: type[models.Model],
    *,
    exclude_fields: Iterable[str] = (),
    mask_fields: Iterable[str] = (),
    patient_field: str | None = None,
    m2m_fields: Iterable[str] = (),
) -> type[models.Model]:
    """Track creates, updates and deletes of ``model`` in the audit trail, masking every encrypted field."""
    excluded = list(exclude_fields)
    masked = sorted((set(mask_fields) | set(encrypted_fields(model))) - set(excluded))
    auditlog.register(model, exclude_fields=excluded, mask_fields=masked, m2m_fields=set(m2m_fields))
    if patient_field is not None:
        attribute = "pk" if patient_field == "pk" else model._meta.get_field(patient_field).attname
        _patient_attributes[model._meta.label] = attribute
    return model


def patient_id_of(instance: Any) -> int | None:
    """The id of the patient ``instance`` concerns, when its model declares one (see ``register_audited``)."""
    attribute = _patient_attributes.get(instance._meta.label)
    if attribute is None:
        return None
    value = getattr(instance, attribute, None)
    return value if isinstance(value, int) else None
