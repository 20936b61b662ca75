from rest_framework import serializers

from consents.models import Consent
from documents.models import Document


class ConsentSerializer(serializers.ModelSerializer):
    recorded_by = serializers.CharField(source="recorded_by.get_full_name", read_only=True, default=None)

    class Meta:
        model = Consent
        fields = ["id", "kind", "status", "party", "recorded_on", "expires_on", "recorded_by", "document", "created_at"]
        read_only_fields = fields


class RecordConsentInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Consent.Kind.choices)
    status = serializers.ChoiceField(choices=Consent.Status.choices)
    party = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    recorded_on = serializers.DateField()
    expires_on = serializers.DateField(required=False, allow_null=True, default=None)
    document = serializers.PrimaryKeyRelatedField(
        queryset=Document.objects.filter(deleted_at__isnull=True),
        required=False,
        allow_null=True,
        default=None,
        help_text="The signed form: one of this patient's documents (uploaded first).",
    )
