from typing import Any

from rest_framework import serializers

from accounts import permissions
from patients.models import Patient, PatientListEntry
from spectrum.validation import SafeTextSerializerMixin

READ_ONLY_FIELDS = [
    "id", "age", "ssn_masked", "is_active", "created_at", "updated_at", "created_by", "updated_by",
    "last_accessed_at", "access_count",
]  # fmt: skip
WRITABLE_FIELDS = [
    "patient_number", "first_name", "last_name", "preferred_name", "date_of_birth", "gender", "marital_status",
    "occupation", "session", "phone", "email", "address", "city", "state", "zip_code", "emergency_contact_name",
    "emergency_contact_phone", "reminder_channel", "insurance_type", "insurance_provider", "insurance_number",
    "medicaid_id",
    "referral_source", "psr_date", "treatment_start_date", "treatment_end_date", "diagnosis", "diagnosis_codes",
    "allergies", "medical_history", "current_medications", "blood_type", "ssn",
]  # fmt: skip


class PatientSerializer(SafeTextSerializerMixin, serializers.ModelSerializer):
    """A patient as the requesting user may see it: fields their role may not see are absent.

    Writing a field the role may not set is a 400 with that field's message, never silently ignored.
    Validation beyond the field's shape runs in the service (the model's ``full_clean``).
    """

    age = serializers.IntegerField(read_only=True)
    ssn = serializers.CharField(write_only=True, required=False, allow_blank=True, max_length=11)
    ssn_masked = serializers.CharField(read_only=True)
    diagnosis_codes = serializers.ListField(child=serializers.CharField(max_length=10), required=False, max_length=4)

    class Meta:
        model = Patient
        fields = READ_ONLY_FIELDS + WRITABLE_FIELDS
        read_only_fields = READ_ONLY_FIELDS
        extra_kwargs = {
            # Uniqueness is checked case-insensitively by the model, with a message naming the conflict.
            "patient_number": {"validators": [], "required": False},
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        # The OpenAPI schema documents every field some role may see, whoever asks for it.
        documenting = getattr(self.context.get("view"), "swagger_fake_view", False)
        if request is not None and not documenting:
            for name in permissions.patient_hidden_fields(request.user):
                self.fields.pop(name, None)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        request = self.context["request"]
        sent = set(getattr(self, "initial_data", {}) or {})
        refused = sorted(
            sent
            & (permissions.patient_unwritable_fields(request.user) | permissions.patient_hidden_fields(request.user))
        )
        if refused:
            raise serializers.ValidationError({field: ["Your role may not set this field."] for field in refused})
        unknown = sorted(sent - set(WRITABLE_FIELDS) - set(READ_ONLY_FIELDS) - {"allow_duplicate"})
        if unknown:
            raise serializers.ValidationError({field: ["Unknown field."] for field in unknown})
        return attrs


class PatientListSerializer(serializers.ModelSerializer):
    """A patient in a list, read from its list entry: the columns the list shows and filters on.

    Minimum necessary: a search result identifies the patient; it does not carry diagnoses and insurance
    numbers for fifty people at once. The record itself, ``GET /api/v1/patients/{id}/``, has every field the
    role may see, and each read of it is audited. ``matched_on`` says why a search listed the patient when it
    is not by name or number ("city: Pembroke Pines", "phone"), else "".
    """

    id = serializers.IntegerField(source="pk", read_only=True)
    age = serializers.IntegerField(read_only=True)
    ssn_masked = serializers.CharField(read_only=True)
    # Declared so the schema allows the blank an unrecorded blood type is (a read-only model field loses it).
    blood_type = serializers.ChoiceField(choices=Patient.BloodType.choices, allow_blank=True, read_only=True)
    matched_on = serializers.CharField(read_only=True, default="")

    class Meta:
        model = PatientListEntry
        # What the list page shows (and the role's masked SSN and blood type): each field costs every row.
        fields = [
            "id", "patient_number", "first_name", "last_name", "preferred_name", "date_of_birth", "age", "gender",
            "phone", "city", "state", "insurance_type", "blood_type", "ssn_masked", "is_active", "matched_on",
        ]  # fmt: skip
        read_only_fields = fields

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        # The OpenAPI schema documents every field some role may see, whoever asks for it.
        documenting = getattr(self.context.get("view"), "swagger_fake_view", False)
        if request is not None and not documenting:
            for name in permissions.patient_hidden_fields(request.user):
                self.fields.pop(name, None)
