from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from authorizations.models import Authorization
from patients.models import Patient
from scheduling.models import ServiceType
from spectrum.serializers import CLINICAL_TEXT_HELP, RoleFieldsMixin
from spectrum.validation import SafeTextSerializerMixin


@extend_schema_field(OpenApiTypes.INT)
class ActivePatientField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        return Patient.objects.filter(is_active=True)


class AuthorizationSerializer(SafeTextSerializerMixin, RoleFieldsMixin, serializers.ModelSerializer):
    patient = ActivePatientField()
    service_types = serializers.PrimaryKeyRelatedField(queryset=ServiceType.objects.all(), many=True)
    units_used = serializers.IntegerField(read_only=True)
    units_scheduled = serializers.IntegerField(read_only=True)
    units_remaining = serializers.IntegerField(read_only=True)
    status = serializers.ChoiceField(choices=Authorization.Status.choices, read_only=True)

    class Meta:
        model = Authorization
        fields = [
            "id", "patient", "payer", "auth_number", "service_types", "units_authorized", "start_date", "end_date",
            "approval_date", "diagnosis_code", "late_cancel_counts", "notes", "units_used", "units_scheduled",
            "units_remaining", "status", "created_at", "updated_at", "created_by", "updated_by",
        ]  # fmt: skip
        read_only_fields = ["created_at", "updated_at", "created_by", "updated_by"]
        extra_kwargs = {"notes": {"help_text": CLINICAL_TEXT_HELP}, "diagnosis_code": {"help_text": CLINICAL_TEXT_HELP}}
        # Uniqueness per payer is checked by the service, case-insensitively, with a clearer message.
        validators: list = []
