from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from functools import cache
from operator import itemgetter
from typing import Any

from django.conf import settings
from django.utils import timezone
from rest_framework import ISO_8601, serializers
from rest_framework.relations import RelatedField
from rest_framework.settings import api_settings

from accounts import permissions
from patients.models import ENCRYPTED_FIELDS, Patient, age_on, mask_ssn
from spectrum.validation import SafeTextSerializerMixin

READ_ONLY_FIELDS = [
    "id", "age", "ssn_masked", "is_active", "created_at", "updated_at", "created_by", "updated_by",
    "last_accessed_at", "access_count",
]  # fmt: skip
WRITABLE_FIELDS = [
    "patient_number", "first_name", "last_name", "preferred_name", "date_of_birth", "gender", "marital_status",
    "occupation", "session", "phone", "email", "address", "city", "state", "zip_code", "emergency_contact_name",
    "emergency_contact_phone", "insurance_type", "insurance_provider", "insurance_number", "medicaid_id",
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


class PatientListSerializer(PatientSerializer):
    """A patient in a list: the record without its encrypted fields.

    Minimum necessary: a search result needs to identify the patient, not to carry diagnoses and
    insurance numbers for fifty people at once (and not decrypting them keeps search fast). The record
    itself, ``GET /api/v1/patients/{id}/``, has every field the role may see, and each read of it is audited.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ENCRYPTED_FIELDS:
            self.fields.pop(name, None)

    @classmethod
    def columns(cls) -> tuple[str, ...]:
        """The columns ``rows`` reads: the paginator reads a page's rows as dicts of these."""
        return _list_columns()

    @classmethod
    def rows(cls, patients: Iterable[dict[str, Any]], *, user: Any) -> list[dict[str, Any]]:
        """What ``cls(instances, many=True, context=…).data`` gives for ``user``, from rows of ``columns()``.

        The list is the hot path of search-as-you-type. Building a serializer's fields costs about 1 ms a
        request, model instances about 40 µs a row and DRF's generic ``to_representation`` about 60 µs a
        row; the plan here is built once per set of hidden fields and gives the same output
        (tests/patients/test_api.py compares them).
        """
        plan = _row_plan(frozenset(permissions.patient_hidden_fields(user)))
        today = timezone.localdate()
        listed = []
        for row in patients:
            item = dict(zip(plan.names, plan.values(row), strict=True))  # every field, in the serializer's order
            for name, convert in plan.conversions:
                item[name] = convert(item[name], today)
            listed.append(item)
        return listed


Convert = Callable[[Any, date], Any]

# The model's computed attributes, from the column each needs: a list's rows are dicts, not instances.
_COMPUTED: dict[str, tuple[str, Convert]] = {
    "age": ("date_of_birth", lambda born, today: age_on(born, today) if born else None),
    "ssn_masked": ("ssn_last4", lambda last4, today: mask_ssn(last4)),
}


@dataclass(frozen=True)
class _RowPlan:
    """How a row of columns becomes a list item: each field takes its column's value (``values``), and the
    fields whose representation is not the value itself convert it (``conversions``)."""

    names: tuple[str, ...]
    values: Callable[[dict[str, Any]], tuple]
    conversions: tuple[tuple[str, Convert], ...]


def _list_fields(hidden: frozenset[str] = frozenset()) -> list[serializers.Field]:
    serializer = PatientListSerializer()
    for name in hidden:
        serializer.fields.pop(name, None)
    return list(serializer._readable_fields)


@cache
def _list_columns() -> tuple[str, ...]:
    columns = {"id": None}  # the key the paginator orders rows by; dicts keep order and drop repeats
    for field in _list_fields():
        columns[_COMPUTED[field.source][0] if field.source in _COMPUTED else field.source] = None
    return tuple(columns)


@cache
def _row_plan(hidden: frozenset[str]) -> _RowPlan:
    fields = _list_fields(hidden)
    sources, conversions = [], []
    for field in fields:
        source, convert = _source_and_conversion(field)
        sources.append(source)
        if convert is not None:
            conversions.append((field.field_name, convert))
    getter = itemgetter(*sources)
    values = getter if len(sources) > 1 else (lambda row: (getter(row),))
    return _RowPlan(tuple(field.field_name for field in fields), values, tuple(conversions))


# Fields whose representation of a column's value of the matching type is the value itself (a foreign
# key's column holds the related key, which is what PrimaryKeyRelatedField shows).
_AS_IS = {serializers.CharField, serializers.EmailField, serializers.ChoiceField, serializers.IntegerField,
          serializers.BigIntegerField, serializers.BooleanField, serializers.PrimaryKeyRelatedField}  # fmt: skip


def _source_and_conversion(field: serializers.Field) -> tuple[str, Convert | None]:
    """The column ``field`` reads and how its value becomes the field's representation (None: as it is), as
    ``Serializer.to_representation`` would represent the model instance."""
    name = field.source
    if name in _COMPUTED:
        return _COMPUTED[name]
    kind = type(field)
    plain_key = kind is serializers.PrimaryKeyRelatedField and field.pk_field is None
    if len(field.source_attrs) != 1 or (isinstance(field, RelatedField) and not plain_key):
        raise TypeError(f"{field.field_name}: a list row holds the patient's own columns only")
    if kind in _AS_IS:
        return name, None
    if kind is serializers.DateField and _writes_iso(field, api_settings.DATE_FORMAT):
        return name, lambda value, today: value.isoformat() if value is not None else None
    if kind is serializers.DateTimeField and _writes_iso(field, api_settings.DATETIME_FORMAT):
        # The clinic's time zone: Spectrum never activates another (DRF would use the active one).
        zone = getattr(field, "timezone", None) or (timezone.get_default_timezone() if settings.USE_TZ else None)
        if zone is not None:
            return name, lambda value, today: _iso_datetime(value, zone) if value else None
    return name, lambda value, today: None if value is None else field.to_representation(value)


def _writes_iso(field: serializers.Field, default_format: str | None) -> bool:
    return getattr(field, "format", default_format) == ISO_8601


def _iso_datetime(value: datetime, zone: tzinfo) -> str:
    """``DateTimeField.to_representation`` of an aware time stamp: in ``zone``, UTC written as Z."""
    text = value.astimezone(zone).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text
