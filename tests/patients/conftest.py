import pytest

from tests.factories import PatientFactory


@pytest.fixture
def patient(db):
    return PatientFactory(
        first_name="John",
        last_name="Smith",
        preferred_name="Jack",
        phone="(305) 555-0123",
        email="john.smith@example.com",
        address="12 Coral Way",
        city="Miami",
        state="FL",
        occupation="Teacher",
        ssn="123-45-6789",
        insurance_number="AB123456",
        medicaid_id="9876543210",
        allergies="Penicillin",
        medical_history="Asthma",
        current_medications="Sertraline 100 mg",
        blood_type="O+",
    )
