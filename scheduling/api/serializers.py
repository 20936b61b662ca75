from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from patients.models import Patient
from scheduling import recurrence, selectors
from scheduling.models import Appointment, AppointmentSeries, ServiceType
from spectrum.serializers import CLINICAL_TEXT_HELP, ClockTimeField, RoleFieldsMixin
from spectrum.validation import SafeTextSerializerMixin


class ServiceTypeSerializer(SafeTextSerializerMixin, serializers.ModelSerializer):
    class Meta:
        model = ServiceType
        fields = [
            "id", "code", "name", "billing_code", "default_duration_minutes", "unit_minutes", "is_group", "color",
            "is_active",
        ]  # fmt: skip


@extend_schema_field(OpenApiTypes.INT)
class ClinicianField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        return selectors.clinicians()


@extend_schema_field(OpenApiTypes.INT)
class ActivePatientField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        return Patient.objects.filter(is_active=True)


class AppointmentSerializer(SafeTextSerializerMixin, RoleFieldsMixin, serializers.ModelSerializer):
    patient = ActivePatientField()
    clinician = ClinicianField(required=False, allow_null=True)
    service_type = serializers.PrimaryKeyRelatedField(queryset=ServiceType.objects.all())
    start_time = ClockTimeField()
    end_time = ClockTimeField(read_only=True)
    duration_minutes = serializers.IntegerField(required=False, min_value=5, max_value=480)
    override_reason = serializers.CharField(required=False, allow_blank=True, max_length=300)
    warnings = serializers.SerializerMethodField(help_text="Insurance authorization warnings of this request.")
    has_started = serializers.SerializerMethodField(
        help_text="Its start has passed: series edits and cancellations leave it as it is."
    )

    class Meta:
        model = Appointment
        fields = [
            "id", "patient", "clinician", "service_type", "date", "start_time", "end_time", "duration_minutes",
            "status", "notes", "billing_code", "series", "original_date", "is_exception", "override_reason",
            "created_at", "updated_at", "created_by", "updated_by", "warnings", "has_started",
        ]  # fmt: skip
        extra_kwargs = {"notes": {"help_text": CLINICAL_TEXT_HELP}}
        read_only_fields = [
            "end_time", "status", "billing_code", "series", "original_date", "is_exception", "created_at",
            "updated_at", "created_by", "updated_by",
        ]  # fmt: skip

    def get_warnings(self, appointment: Appointment) -> list[dict]:
        return [warning.as_dict() for warning in getattr(appointment, "authorization_warnings", [])]

    def get_has_started(self, appointment: Appointment) -> bool:
        return appointment.has_started()


class StatusInputSerializer(SafeTextSerializerMixin, serializers.Serializer):
    status = serializers.ChoiceField(choices=Appointment.Status.choices)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=300)


class SeriesInputSerializer(SafeTextSerializerMixin, RoleFieldsMixin, serializers.Serializer):
    role_fields_model = Appointment  # its notes go to every occurrence

    patient = ActivePatientField()
    service_type = serializers.PrimaryKeyRelatedField(queryset=ServiceType.objects.all())
    clinician = ClinicianField(required=False, allow_null=True)
    start_date = serializers.DateField()
    start_time = ClockTimeField()
    duration_minutes = serializers.IntegerField(required=False, allow_null=True, min_value=5, max_value=480)
    frequency = serializers.ChoiceField(choices=AppointmentSeries.Frequency.choices)
    interval = serializers.IntegerField(required=False, default=1, min_value=1, max_value=12)
    weekdays = serializers.ListField(
        child=serializers.ChoiceField(choices=list(recurrence.WEEKDAYS)), required=False, default=list
    )
    count = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=recurrence.MAX_OCCURRENCES)
    until = serializers.DateField(required=False, allow_null=True)
    skip_dates = serializers.ListField(child=serializers.DateField(), required=False, default=list)
    notes = serializers.CharField(required=False, allow_blank=True, default="")
    override_reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=300)


class CancelSeriesInputSerializer(SafeTextSerializerMixin, serializers.Serializer):
    by = serializers.ChoiceField(choices=[("clinic", "Clinic"), ("patient", "Patient")], default="clinic")
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=300)


class SeriesSerializer(serializers.ModelSerializer):
    start_time = ClockTimeField()
    weekdays = serializers.ListField(source="weekday_list", read_only=True)
    occurrences = serializers.SerializerMethodField()
    warnings = serializers.SerializerMethodField()
    asked_count = serializers.SerializerMethodField(
        help_text="On creation: the dates the rule asked for (null when read later)."
    )
    booked_count = serializers.SerializerMethodField(help_text="On creation: the appointments booked.")
    collisions = serializers.SerializerMethodField(
        help_text="On creation: dates moved off a closed day onto a date the series already had (skipped)."
    )

    class Meta:
        model = AppointmentSeries
        fields = [
            "id", "patient", "service_type", "clinician", "start_date", "start_time", "duration_minutes",
            "frequency", "interval", "weekdays", "count", "until", "skip_dates", "split_from", "cancelled_at",
            "created_at", "occurrences", "warnings", "asked_count", "booked_count", "collisions",
        ]  # fmt: skip

    def get_asked_count(self, series: AppointmentSeries) -> int | None:
        return getattr(series, "asked_count", None)

    def get_booked_count(self, series: AppointmentSeries) -> int | None:
        return getattr(series, "booked_count", None)

    def get_collisions(self, series: AppointmentSeries) -> list[dict]:
        return [occurrence_as_dict(occ) for occ in getattr(series, "collisions", [])]

    def get_warnings(self, series: AppointmentSeries) -> list[dict]:
        return [warning.as_dict() for warning in getattr(series, "authorization_warnings", [])]

    def get_occurrences(self, series: AppointmentSeries) -> list[dict]:
        return [
            {
                "id": occ.pk,
                "date": occ.date.isoformat(),
                "start_time": occ.start_time.strftime("%H:%M:%S"),
                "status": occ.status,
            }
            for occ in series.occurrences.order_by("date")
        ]


def occurrence_as_dict(occurrence) -> dict:
    return {
        "date": occurrence.date.isoformat(),
        "moved_from": occurrence.moved_from.isoformat() if occurrence.moved_from else None,
        "skipped": occurrence.skipped,
        "collided": occurrence.collided,
        "note": occurrence.note,
        "conflicts": [conflict.as_dict() for conflict in occurrence.conflicts],
        "warnings": [warning.as_dict() for warning in occurrence.warnings],
    }
