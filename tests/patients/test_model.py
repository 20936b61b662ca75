"""Validation rules (defined once, in the model), normalisation, encryption at rest, SSN handling."""

import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection

from patients.models import ENCRYPTED_FIELDS, Patient, PatientListEntry, age_on, ssn_lookup_hash
from spectrum.fields import DecryptionError
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def errors_for(**fields) -> dict[str, list[str]]:
    data = {"first_name": "Ann", "last_name": "Lee", "date_of_birth": datetime.date(1990, 5, 1), **fields}
    patient = Patient(**data)
    try:
        patient.full_clean()
    except ValidationError as exc:
        return exc.message_dict
    return {}


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"first_name": "   "}, "first_name", "This field cannot be blank."),
        ({"last_name": ""}, "last_name", "This field cannot be blank."),
        ({"first_name": "x" * 101}, "first_name", "Ensure this value has at most 100 characters (it has 101)."),
        ({"date_of_birth": None}, "date_of_birth", "This field cannot be null."),
        ({"date_of_birth": datetime.date(2099, 1, 1)}, "date_of_birth", "Date of birth cannot be in the future."),
        (
            {"date_of_birth": datetime.date(1850, 1, 1)},
            "date_of_birth",
            "Date of birth gives an age over 150 years; check the year.",
        ),
        ({"phone": "555-0123"}, "phone", "Enter a 10-digit US phone number, e.g. (305) 555-0123."),
        ({"phone": "+44 20 7946 0958"}, "phone", "Enter a 10-digit US phone number, e.g. (305) 555-0123."),
        (
            {"emergency_contact_phone": "call me"},
            "emergency_contact_phone",
            "Enter a 10-digit US phone number, e.g. (305) 555-0123.",
        ),
        ({"email": "not-an-email"}, "email", "Enter a valid email address."),
        ({"state": "XX"}, "state", "Enter a US state or territory code, e.g. FL or PR."),
        ({"zip_code": "1234"}, "zip_code", "Enter a ZIP code of 5 digits or ZIP+4 (12345 or 12345-6789)."),
        ({"ssn": "12-345-6789"}, "ssn", "Enter the SSN as 123-45-6789 or 9 digits."),
        ({"ssn": "666-12-3456"}, "ssn", "This is not a valid SSN: the first three digits cannot be 000, 666 or 9xx."),
        ({"ssn": "000-12-3456"}, "ssn", "This is not a valid SSN: the first three digits cannot be 000, 666 or 9xx."),
        ({"ssn": "912-12-3456"}, "ssn", "This is not a valid SSN: the first three digits cannot be 000, 666 or 9xx."),
        ({"ssn": "123-00-3456"}, "ssn", "This is not a valid SSN: no part may be all zeros."),
        ({"diagnosis_codes": ["F33.1", "banana"]}, "diagnosis_codes", "Not a valid ICD-10-CM code: BANANA."),
        (
            {"diagnosis_codes": ["F33.1", "F41.1", "F43.10", "F20.9", "F25.0"]},
            "diagnosis_codes",
            "Enter at most 4 diagnosis codes.",
        ),
        ({"gender": "robot"}, "gender", "Value 'robot' is not a valid choice."),
        ({"blood_type": "C+"}, "blood_type", "Value 'C+' is not a valid choice."),
        ({"marital_status": "complicated"}, "marital_status", "Value 'complicated' is not a valid choice."),
        ({"insurance_type": "cash"}, "insurance_type", "Value 'cash' is not a valid choice."),
        ({"session": "EVE"}, "session", "Value 'EVE' is not a valid choice."),
        (
            {"treatment_start_date": datetime.date(2024, 5, 1), "treatment_end_date": datetime.date(2024, 4, 30)},
            "treatment_end_date",
            "Treatment end date cannot be before the start date.",
        ),
    ],
)
def test_invalid_field_gets_its_message(fields, field, message):
    errors = errors_for(**fields)
    assert any(message in text for text in errors.get(field, [])), errors


def test_valid_input_is_normalised():
    patient = Patient(
        first_name="  Mary   Ann ",
        last_name=" O'Brien ",
        date_of_birth=datetime.date(1980, 1, 2),
        phone="1-305.555.0123",
        emergency_contact_phone="3055550199",
        state="fl",
        zip_code="331011234",
        email="Mary@Example.COM",
        ssn="123456789",
        diagnosis_codes=["f33.1", "F41.1", "F33.1"],
        patient_number="p000777",
    )
    patient.full_clean()
    assert patient.first_name == "Mary Ann"
    assert patient.last_name == "O'Brien"
    assert patient.phone == "(305) 555-0123"
    assert patient.emergency_contact_phone == "(305) 555-0199"
    assert patient.state == "FL"
    assert patient.zip_code == "33101-1234"
    assert patient.email == "mary@example.com"
    assert patient.ssn == "123-45-6789"
    assert patient.diagnosis_codes == ["F33.1", "F41.1"]
    assert patient.patient_number == "P000777"


def test_patient_number_is_generated_in_sequence():
    first, second = PatientFactory(), PatientFactory()
    assert first.patient_number == "P000001"
    assert second.patient_number == "P000002"


def test_generated_number_skips_numbers_taken_by_hand():
    PatientFactory(patient_number="P000001")
    assert PatientFactory().patient_number == "P000002"


def test_duplicate_patient_number_is_rejected_case_insensitively_naming_it():
    PatientFactory(patient_number="P000123")
    errors = errors_for(patient_number="p000123")
    assert errors["patient_number"] == ["Patient number P000123 is already used by another patient (P000123)."]


@time_machine.travel(datetime.datetime(2026, 3, 10, 12, tzinfo=ZoneInfo("America/New_York")), tick=False)
def test_age_counts_birthdays():
    assert PatientFactory(date_of_birth=datetime.date(2000, 3, 10)).age == 26
    assert PatientFactory(date_of_birth=datetime.date(2000, 3, 11)).age == 25


@pytest.mark.parametrize(
    ("today", "age"),
    [("2025-02-27", 24), ("2025-02-28", 25), ("2025-03-01", 25), ("2028-02-28", 27), ("2028-02-29", 28)],
)
def test_age_of_someone_born_on_29_february_grows_on_the_28th_in_other_years(today, age):
    assert age_on(datetime.date(2000, 2, 29), datetime.date.fromisoformat(today)) == age


def test_encrypted_columns_hold_no_plaintext(patient):
    plaintexts = {
        "ssn": "123-45-6789", "medicaid_id": "9876543210", "insurance_number": "AB123456",
        "diagnosis": "Major depressive", "diagnosis_codes": "F33.1", "allergies": "Penicillin",
        "medical_history": "Asthma", "current_medications": "Sertraline",
    }  # fmt: skip
    assert set(plaintexts) == set(ENCRYPTED_FIELDS)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(ENCRYPTED_FIELDS)} FROM patients_patient WHERE id = %s", [patient.pk])
        row = dict(zip(ENCRYPTED_FIELDS, cursor.fetchone(), strict=True))
    for field, plaintext in plaintexts.items():
        assert row[field].startswith("gAAAA"), field
        assert plaintext not in row[field]
        assert "6789" not in row[field]
    reloaded = Patient.objects.get(pk=patient.pk)
    assert reloaded.ssn == "123-45-6789"
    assert reloaded.diagnosis_codes == ["F33.1"]
    assert reloaded.allergies == "Penicillin"


def test_ssn_masked_and_found_by_keyed_hash_only(patient):
    assert patient.ssn_masked == "***-**-6789"
    assert patient.ssn_hash == ssn_lookup_hash("123-45-6789")
    assert "123-45-6789" not in patient.ssn_hash
    assert Patient.objects.get(ssn_hash=ssn_lookup_hash("123-45-6789")) == patient


def test_wrong_key_fails_loudly_instead_of_returning_ciphertext(patient, monkeypatch):
    from cryptography.fernet import Fernet, MultiFernet
    from encrypted_model_fields import fields as encrypted

    monkeypatch.setattr(encrypted, "CRYPTER", MultiFernet([Fernet(Fernet.generate_key())]))
    with pytest.raises(DecryptionError) as exc:
        Patient.objects.get(pk=patient.pk)
    assert "cannot be decrypted" in str(exc.value)
    assert "gAAAA" not in str(exc.value)


def test_search_text_is_derived_on_save(patient):
    assert PatientListEntry.objects.get(patient=patient).search_text == (
        "john smith jack p000001 john.smith@example.com 3055550123 12 coral way miami fl teacher"
    )
    assert patient.phone_digits == "3055550123"
