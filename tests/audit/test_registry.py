"""register_audited: how other apps (scheduling, …) join the trail with masking and a patient id."""

import pytest
from auditlog.receivers import log_create
from auditlog.registry import auditlog
from django.contrib.contenttypes.models import ContentType
from django.db import models

from audit import registry
from audit import services as audit
from audit.masking import MASK
from audit.models import AuditEvent
from audit.receivers import remember_patient
from spectrum.fields import EncryptedTextField


class Visit(models.Model):
    """A stand-in for a model of another app: a patient foreign key and an encrypted note (no table)."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    note = EncryptedTextField(blank=True)
    room = models.CharField(max_length=10, blank=True)
    secret_code = models.CharField(max_length=10, blank=True)

    class Meta:
        app_label = "audit"
        managed = False

    def __str__(self) -> str:
        return f"Visit {self.pk}"


@pytest.fixture
def registered():
    ContentType.objects.clear_cache()  # Visit's content type exists only inside each test's transaction
    registry.register_audited(Visit, patient_field="patient", mask_fields=["secret_code"], exclude_fields=["room"])
    yield
    auditlog.unregister(Visit)
    registry._patient_attributes.pop(Visit._meta.label, None)
    ContentType.objects.clear_cache()


def test_encrypted_fields_are_masked_without_being_listed(registered):
    options = auditlog.get_model_fields(Visit)
    assert set(options["mask_fields"]) == {"note", "secret_code"}
    assert options["exclude_fields"] == ["room"]


@pytest.mark.django_db
def test_changes_carry_the_patient_id_and_masked_values(registered, patient, nurse_user):
    visit = Visit(pk=41, patient=patient, note="Talked about the divorce", room="3", secret_code="X1")
    with audit.acting_as(nurse_user):
        log_create(sender=Visit, instance=visit, created=True)  # what post_save would do
    entry = AuditEvent.objects.get(event="audit.visit.created")
    assert entry.patient_id == patient.pk and entry.actor == nurse_user
    assert entry.changes["note"] == [MASK, MASK] and entry.changes["secret_code"] == [MASK, MASK]
    assert "room" not in entry.changes and "divorce" not in str(entry.changes)


@pytest.mark.django_db
def test_record_takes_the_patient_from_the_target(registered, patient):
    entry = audit.record(event="audit.visit.printed", target=Visit(pk=7, patient=patient))
    assert entry.patient_id == patient.pk and entry.object_pk == "7"


@pytest.mark.django_db
def test_get_additional_data_patient_id_is_honoured(patient):
    entry = audit.record(event="audit.visit.viewed", target_model=AuditEvent, data={"patient_id": patient.pk})
    assert entry.patient_id == patient.pk


@pytest.mark.django_db
def test_a_stale_pending_patient_is_not_reused(registered, patient):
    # A pre_log whose entry was never written (auditlog found no change) must not tag the next entry.
    remember_patient(sender=Visit, instance=Visit(pk=2, patient=patient))
    other = audit.record(event="accounts.user.logged_in", target_model=AuditEvent)
    assert other.patient_id is None


def test_every_model_joins_the_trail_through_register_audited():
    """One registry: a model registered with auditlog directly would skip the masking and the patient id."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    direct = [
        str(path.relative_to(root))
        for path in root.glob("*/**/*.py")
        if ".venv" not in path.parts
        and "tests" not in path.parts
        and path.name != "registry.py"
        and "auditlog.register(" in path.read_text()
    ]
    assert direct == []
