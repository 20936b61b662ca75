from rest_framework import serializers

from audit.models import AuditEvent

ACTION_NAMES = {AuditEvent.Action.CREATE: "create", AuditEvent.Action.UPDATE: "update",
                AuditEvent.Action.DELETE: "delete", AuditEvent.Action.ACCESS: "access"}  # fmt: skip


class AuditEventSerializer(serializers.ModelSerializer):
    action = serializers.SerializerMethodField()
    object_type = serializers.CharField(read_only=True)
    object_id = serializers.CharField(source="object_pk", read_only=True)

    class Meta:
        model = AuditEvent
        fields = [
            "id", "timestamp", "event", "action", "actor", "actor_email", "actor_role", "object_type", "object_id",
            "object_repr", "patient_id", "remote_addr", "user_agent", "request_id", "changes", "additional_data",
        ]  # fmt: skip
        read_only_fields = fields

    def get_action(self, entry: AuditEvent) -> str:
        return ACTION_NAMES.get(entry.action, str(entry.action))
