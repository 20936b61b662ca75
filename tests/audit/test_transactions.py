"""An entry is written in the transaction of the change it records: no change, no entry."""

import datetime

import pytest
from django.db import transaction
from django.db.models.signals import post_save

from audit import services as audit
from audit.models import AuditEvent
from patients import services
from patients.models import Patient

pytestmark = pytest.mark.django_db


class Boom(Exception):
    pass


@pytest.fixture
def failing_after_save():
    """A receiver that fails after auditlog has written its entry for the save."""

    def explode(sender, **kwargs):
        raise Boom

    post_save.connect(explode, sender=Patient, dispatch_uid="test-explode")
    yield
    post_save.disconnect(sender=Patient, dispatch_uid="test-explode")


def test_a_create_that_fails_leaves_no_patient_and_no_entry(nurse_user, failing_after_save):
    with pytest.raises(Boom):
        services.create_patient(
            actor=nurse_user,
            data={"first_name": "Ana", "last_name": "Diaz", "date_of_birth": datetime.date(1990, 1, 1)},
        )
    assert not Patient.objects.exists()
    assert not AuditEvent.objects.filter(event__startswith="patients.").exists()


def test_an_update_that_fails_leaves_the_record_and_no_entry(nurse_user, patient, failing_after_save):
    before = AuditEvent.objects.count()
    with pytest.raises(Boom):
        services.update_patient(actor=nurse_user, patient=patient, data={"city": "Tampa"})
    patient.refresh_from_db()
    assert patient.city == "Miami"
    assert AuditEvent.objects.count() == before


def test_an_access_whose_bookkeeping_fails_is_not_recorded(nurse_user, patient, monkeypatch):
    real_record = audit.record

    def record_then_fail(**kwargs):
        real_record(**kwargs)
        raise Boom

    monkeypatch.setattr(audit, "record", record_then_fail)
    with pytest.raises(Boom):
        services.record_patient_access(actor=nurse_user, patient=patient, channel="page")
    patient.refresh_from_db()
    assert patient.access_count == 0
    assert not AuditEvent.objects.filter(event="patients.patient.viewed").exists()


def test_an_entry_rolls_back_with_its_transaction(nurse_user):
    with pytest.raises(Boom), transaction.atomic():
        audit.record(event="patients.patient.exported", target_model=Patient, actor=nurse_user)
        raise Boom
    assert not AuditEvent.objects.filter(event="patients.patient.exported").exists()
