from rest_framework import serializers

from accounts.models import Role, User
from spectrum.validation import SafeTextSerializerMixin


class MeSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "full_name", "role"]
        read_only_fields = fields


class UserSerializer(SafeTextSerializerMixin, serializers.ModelSerializer):
    """A staff account. Creating one sends an invitation: the user sets their own password, so there is
    no password field (a request that sends one is refused)."""

    role = serializers.ChoiceField(choices=Role.choices)
    invitation_status = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "email", "full_name", "role", "is_active", "last_login", "date_joined", "invitation_status"]
        read_only_fields = ["id", "last_login", "date_joined", "invitation_status"]
        # Uniqueness is checked (case-insensitively) by the service, with a clearer message.
        extra_kwargs = {"email": {"validators": []}}

    def get_invitation_status(self, user: User) -> str | None:
        """``pending``, ``expired``, ``accepted`` or ``revoked``; null for users created without one."""
        invitation = getattr(user, "invitation", None)
        return invitation.status if invitation is not None else None

    def validate(self, attrs: dict) -> dict:
        if "password" in self.initial_data:
            raise serializers.ValidationError(
                {"password": ["Administrators do not set passwords: new users get an invitation, others a reset link."]}
            )
        return attrs


class SecondFactorResetInputSerializer(SafeTextSerializerMixin, serializers.Serializer):
    reason = serializers.CharField(max_length=500, help_text="Why the factor is reset; recorded in the audit trail.")


class UnlockUserInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, help_text="Why the user is unlocked; recorded in the audit trail.")


class UnlockResultSerializer(serializers.Serializer):
    cleared = serializers.IntegerField(help_text="How many lockout records were cleared.")
