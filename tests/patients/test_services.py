import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from audit.models import AuditEvent
from patients import services
from patients.models import Patient
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

BASE = {"first_name": "Ana", "last_name": "Diaz", "date_of_birth": datetime.date(1985, 6, 1)}


def test_create_sets_actor_and_records_one_create_entry(nurse_user):
    patient = services.create_patient(actor=nurse_user, data={**BASE, "phone": "305 555 0100"})
    assert patient.created_by == nurse_user and patient.updated_by == nurse_user
    assert patient.phone == "(305) 555-0100"
    entries = AuditEvent.objects.filter(patient_id=patient.pk)
    assert [(e.action, e.event) for e in entries] == [(AuditEvent.Action.CREATE, "patients.patient.created")]


def test_create_rejects_invalid_data_and_writes_nothing(nurse_user):
    with pytest.raises(ValidationError) as exc:
        services.create_patient(actor=nurse_user, data={**BASE, "phone": "12", "zip_code": "x"})
    assert set(exc.value.message_dict) == {"phone", "zip_code"}
    assert not Patient.objects.exists()
    assert not AuditEvent.objects.filter(event__startswith="patients.").exists()


@pytest.mark.parametrize("extra", [{"diagnosis": "Depression"}, {"ssn": "123-45-6789"}, {"blood_type": "O+"}])
def test_staff_may_not_set_clinical_fields_or_ssn(staff_user, extra):
    with pytest.raises(ValidationError) as exc:
        services.create_patient(actor=staff_user, data={**BASE, **extra})
    assert exc.value.message_dict == {next(iter(extra)): ["Your role may not set this field."]}


def test_only_admin_sets_patient_numbers(staff_user, admin_user):
    with pytest.raises(ValidationError):
        services.create_patient(actor=staff_user, data={**BASE, "patient_number": "X1"})
    assert services.create_patient(actor=admin_user, data={**BASE, "patient_number": "x1"}).patient_number == "X1"


def test_read_only_cannot_create(read_only_user):
    with pytest.raises(PermissionDenied):
        services.create_patient(actor=read_only_user, data=BASE)


def test_likely_duplicate_by_name_and_birth_date_needs_confirmation(nurse_user):
    existing = PatientFactory(first_name="ANA", last_name="diaz", date_of_birth=BASE["date_of_birth"])
    with pytest.raises(services.DuplicatePatientError) as exc:
        services.create_patient(actor=nurse_user, data=BASE)
    assert exc.value.duplicates == [existing]
    assert exc.value.status_code == 409
    assert Patient.objects.count() == 1
    services.create_patient(actor=nurse_user, data=BASE, allow_duplicate=True)
    assert Patient.objects.count() == 2


def test_likely_duplicate_by_ssn(nurse_user):
    PatientFactory(ssn="123-45-6789")
    with pytest.raises(services.DuplicatePatientError):
        services.create_patient(actor=nurse_user, data={**BASE, "ssn": "123456789"})


def test_update_writes_change_entry_with_masked_encrypted_fields(nurse_user):
    patient = PatientFactory(allergies="None known")
    services.update_patient(actor=nurse_user, patient=patient, data={"allergies": "Latex", "city": "Doral"})
    entry = AuditEvent.objects.get(patient_id=patient.pk, action=AuditEvent.Action.UPDATE)
    assert entry.actor == nurse_user
    assert entry.changes_dict["city"] == ["Miami", "Doral"]
    assert "Latex" not in str(entry.changes) and "None known" not in str(entry.changes)


def test_update_unchanged_clinical_value_from_staff_is_fine(staff_user):
    patient = PatientFactory()
    services.update_patient(actor=staff_user, patient=patient, data={"city": "Hialeah", "diagnosis": patient.diagnosis})
    patient.refresh_from_db()
    assert patient.city == "Hialeah"


def test_deactivate_and_reactivate_follow_roles(doctor_user, nurse_user, admin_user):
    patient = PatientFactory()
    with pytest.raises(PermissionDenied):
        services.deactivate_patient(actor=nurse_user, patient=patient)
    services.deactivate_patient(actor=doctor_user, patient=patient)
    patient.refresh_from_db()
    assert patient.is_active is False
    with pytest.raises(PermissionDenied):
        services.reactivate_patient(actor=doctor_user, patient=patient)
    services.reactivate_patient(actor=admin_user, patient=patient)
    patient.refresh_from_db()
    assert patient.is_active is True


def test_access_counts_and_writes_exactly_one_access_entry(nurse_user):
    patient = PatientFactory()
    before = AuditEvent.objects.count()
    services.record_patient_access(actor=nurse_user, patient=patient, channel="page")
    services.record_patient_access(actor=nurse_user, patient=patient, channel="api")
    patient.refresh_from_db()
    assert patient.access_count == 2
    assert patient.last_accessed_by == nurse_user and patient.last_accessed_at is not None
    entries = AuditEvent.objects.order_by("id")[before:]
    assert [(e.action, e.event, e.patient_id) for e in entries] == [
        (AuditEvent.Action.ACCESS, "patients.patient.viewed", patient.pk)
    ] * 2
    assert [e.additional_data for e in entries] == [{"channel": "page"}, {"channel": "api"}]
