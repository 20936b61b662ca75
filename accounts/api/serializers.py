from rest_framework import serializers

from accounts.models import Role, User
from spectrum.validation import SafeTextSerializerMixin


class MeSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "full_name", "role"]
        read_only_fields = fields


class UserSerializer(SafeTextSerializerMixin, serializers.ModelSerializer):
    password = serializers.CharField(
        write_only=True, required=False, style={"input_type": "password"}, trim_whitespace=False
    )
    role = serializers.ChoiceField(choices=Role.choices)

    class Meta:
        model = User
        fields = ["id", "email", "full_name", "role", "is_active", "last_login", "date_joined", "password"]
        read_only_fields = ["id", "last_login", "date_joined"]
        # Uniqueness is checked (case-insensitively) by the service, with a clearer message.
        extra_kwargs = {"email": {"validators": []}}

    def validate(self, attrs: dict) -> dict:
        if self.instance is None and not attrs.get("password"):
            raise serializers.ValidationError({"password": ["A password is required for a new user."]})
        return attrs


class SecondFactorResetInputSerializer(SafeTextSerializerMixin, serializers.Serializer):
    reason = serializers.CharField(max_length=500, help_text="Why the factor is reset; recorded in the audit trail.")
