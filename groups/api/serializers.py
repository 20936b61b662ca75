from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts import permissions
from groups import services
from groups.models import Enrollment, Group, GroupSession, ProgramSession
from scheduling import recurrence
from scheduling.api.serializers import ActivePatientField, ClinicianField
from scheduling.models import Appointment, ServiceType
from spectrum.serializers import CLINICAL_TEXT_HELP, ClockTimeField, RoleFieldsMixin
from spectrum.validation import SafeTextSerializerMixin, appointment_date


def _warnings(instance) -> list[dict]:
    return [warning.as_dict() for warning in getattr(instance, "warnings", [])]


class GroupSerializer(SafeTextSerializerMixin, serializers.ModelSerializer):
    service_type = serializers.PrimaryKeyRelatedField(queryset=ServiceType.objects.filter(is_group=True))
    clinician = ClinicianField()
    co_clinician = ClinicianField(required=False, allow_null=True)
    weekdays = serializers.ListField(child=serializers.ChoiceField(choices=list(recurrence.WEEKDAYS)), min_length=1)
    start_time = ClockTimeField()
    duration_minutes = serializers.IntegerField(min_value=5, max_value=480)
    start_date = serializers.DateField(validators=[appointment_date])
    end_date = serializers.DateField(required=False, allow_null=True, validators=[appointment_date])
    override_reason = serializers.CharField(write_only=True, required=False, allow_blank=True, max_length=300)

    class Meta:
        model = Group
        fields = [
            "id", "name", "service_type", "weekdays", "start_time", "duration_minutes", "clinician", "co_clinician",
            "program_session", "location", "capacity", "start_date", "end_date", "is_active", "override_reason",
        ]  # fmt: skip
        read_only_fields = ["is_active"]

    def to_representation(self, instance: Group) -> dict:
        data = super().to_representation(instance)
        data["weekdays"] = instance.weekday_list
        return data


class EnrollmentSerializer(SafeTextSerializerMixin, serializers.ModelSerializer):
    patient = ActivePatientField()
    group = serializers.PrimaryKeyRelatedField(queryset=Group.objects.filter(is_active=True))
    start_date = serializers.DateField(validators=[appointment_date])
    end_date = serializers.DateField(required=False, allow_null=True, validators=[appointment_date])
    override_reason = serializers.CharField(write_only=True, required=False, allow_blank=True, max_length=300)
    booked = serializers.SerializerMethodField(help_text="Sessions this request booked the patient into.")
    warnings = serializers.SerializerMethodField(help_text="Capacity, AM/PM and authorization warnings.")

    class Meta:
        model = Enrollment
        fields = ["id", "group", "patient", "start_date", "end_date", "override_reason", "booked", "warnings"]

    def get_booked(self, enrollment: Enrollment) -> int | None:
        return getattr(enrollment, "booked", None)

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_warnings(self, enrollment: Enrollment) -> list[dict]:
        return _warnings(enrollment)


class EndEnrollmentInputSerializer(SafeTextSerializerMixin, serializers.Serializer):
    end_date = serializers.DateField(validators=[appointment_date])
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=300)


class AttendeeSerializer(serializers.Serializer):
    """One attendee of a roster (an appointment); ``note`` only for clinical roles."""

    appointment = serializers.IntegerField(source="appointment.pk")
    patient = serializers.IntegerField(source="patient.pk")
    name = serializers.CharField(source="patient.display_name")
    patient_number = serializers.CharField(source="patient.patient_number")
    preferred_name = serializers.CharField(source="patient.preferred_name")
    status = serializers.CharField(source="appointment.status")
    time_in = ClockTimeField(source="appointment.time_in", allow_null=True)
    time_out = ClockTimeField(source="appointment.time_out", allow_null=True)
    units = serializers.IntegerField(source="appointment.units_attended", allow_null=True)
    units_left = serializers.IntegerField(allow_null=True, help_text="Of the authorization covering this service.")
    is_over_booked = serializers.BooleanField(
        help_text="More units booked or used than the authorization allows (the roster page's over-booked flag); "
        "false for roles that may not see authorizations."
    )
    note = serializers.CharField(source="appointment.progress_note", help_text=CLINICAL_TEXT_HELP)

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        view = self.context.get("view")
        hidden = (
            permissions.hidden_fields(request.user, Appointment)
            if request is not None and not getattr(view, "swagger_fake_view", False)
            else frozenset()
        )
        if "progress_note" in hidden:
            fields.pop("note")
        return fields


class GroupSessionSerializer(SafeTextSerializerMixin, RoleFieldsMixin, serializers.ModelSerializer):
    service_type = serializers.PrimaryKeyRelatedField(queryset=ServiceType.objects.filter(is_group=True))
    clinician = ClinicianField()
    start_time = ClockTimeField()
    end_time = ClockTimeField(read_only=True)
    date = serializers.DateField(validators=[appointment_date])
    duration_minutes = serializers.IntegerField(required=False, min_value=5, max_value=480)
    program_session = serializers.ChoiceField(choices=ProgramSession.choices, required=False, allow_blank=True)
    attendee_count = serializers.IntegerField(read_only=True, default=None)
    is_signed = serializers.BooleanField(read_only=True)

    class Meta:
        model = GroupSession
        fields = [
            "id", "group", "service_type", "date", "start_time", "end_time", "duration_minutes", "clinician",
            "program_session", "location", "capacity", "topic", "group_note", "status", "attendee_count",
            "is_signed", "signed_by", "signed_at", "signature_hash",
        ]  # fmt: skip
        read_only_fields = ["group", "status", "signed_by", "signed_at", "signature_hash", "group_note"]
        extra_kwargs = {"group_note": {"help_text": CLINICAL_TEXT_HELP}}


class GroupSessionDetailSerializer(GroupSessionSerializer):
    roster = serializers.SerializerMethodField()
    capacity_label = serializers.SerializerMethodField(help_text='"14 of 16"')

    class Meta(GroupSessionSerializer.Meta):
        fields = [*GroupSessionSerializer.Meta.fields, "capacity_label", "roster"]

    @extend_schema_field(AttendeeSerializer(many=True))
    def get_roster(self, session: GroupSession) -> list[dict]:
        return list(AttendeeSerializer(self.context["roster"].rows, many=True, context=self.context).data)

    def get_capacity_label(self, session: GroupSession) -> str:
        return self.context["roster"].capacity_label


class AttendeeInputSerializer(SafeTextSerializerMixin, serializers.Serializer):
    appointment = serializers.IntegerField(min_value=1)
    status = serializers.ChoiceField(choices=[*services.ROSTER_STATUSES], required=False)
    time_in = ClockTimeField(required=False, allow_null=True)
    time_out = ClockTimeField(required=False, allow_null=True)
    note = serializers.CharField(required=False, allow_blank=True, max_length=4000)


class AttendanceInputSerializer(SafeTextSerializerMixin, serializers.Serializer):
    group_note = serializers.CharField(required=False, allow_blank=True, max_length=8000)
    topic = serializers.CharField(required=False, allow_blank=True, max_length=200)
    attendees = AttendeeInputSerializer(many=True)
    amendment_reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=300)


class AddAttendeeInputSerializer(SafeTextSerializerMixin, serializers.Serializer):
    patient = ActivePatientField()
    override_reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=300)
