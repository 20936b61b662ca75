"""Demo authorizations for the demo schedule: most comfortable, a few running low, ending or over-used."""

import datetime

from django.db import transaction
from django.utils import timezone

from authorizations import services
from authorizations.models import Authorization
from patients.models import Patient
from scheduling.models import Appointment, ServiceType


@transaction.atomic
def load(*, actor) -> int:
    """Cover the demo patients' PSR, TMS and therapy appointments once. Returns how many were created."""
    if Authorization.objects.exists():
        return 0
    today = timezone.localdate()
    payers = ["Sunshine Health", "Simply Healthcare", "Molina Healthcare", "Humana Medical Plan"]
    made = 0
    for code, units_each in (("PSR", 12), ("TMS", 1), ("IND", 1)):
        service = ServiceType.objects.get(code=code)
        patient_ids = (
            Appointment.objects.filter(service_type=service).order_by().values_list("patient_id", flat=True).distinct()
        )
        patients = Patient.objects.in_bulk(list(patient_ids))
        for index, patient_id in enumerate(sorted(patients)):
            booked = Appointment.objects.filter(patient_id=patient_id, service_type=service).count()
            # Every fifth is tight (about the booked units), one in seven ends within the month.
            units = booked * units_each + (0 if index % 5 == 0 else 10 * units_each)
            end = today + datetime.timedelta(days=20 if index % 7 == 0 else 150)
            services.save_authorization(
                actor=actor,
                data={
                    "patient": patients[patient_id],
                    "payer": payers[index % len(payers)],
                    "auth_number": f"{code}-{today.year}-{patient_id:05d}",
                    "units_authorized": max(units, 1),
                    "start_date": today - datetime.timedelta(days=60),
                    "end_date": end,
                    "approval_date": today - datetime.timedelta(days=62),
                    "diagnosis_code": "F33.1",
                },  # fmt: skip
                service_types=[service],
            )
            made += 1
    return made
