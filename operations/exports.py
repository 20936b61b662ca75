"""Exports of patients, appointments and authorizations as CSV, JSON or XLSX, for the command and the pages.

The same filters as the list pages (and their API), through their own filter classes; the same field
visibility as the pages: a role sees in an export exactly the fields it may see on screen, and the SSN
only ever masked (``***-**-1234``). Every export is one audit entry (``<app>.<model>.exported``) naming
each record, and for appointments and authorizations each patient, whose data left the application.

Nothing is spilled to temporary files on the way. CSV and JSON stream a record at a time, to the command's
file and to the page's download alike (``Export.chunks``); XLSX, a zip archive, is built in memory
(``spectrum.spreadsheets``) and sent whole. Cells that a spreadsheet would run as formulas are defused.
"""

import datetime
import io
import itertools
import json
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from django import forms
from django.db.models import Q, QuerySet
from django.http import HttpRequest, QueryDict
from django.utils import timezone

from accounts import permissions
from accounts.permissions import Actor
from audit import services as audit
from spectrum import spreadsheets, validation
from spectrum.exceptions import DomainError

WHATS = ("patients", "appointments", "authorizations")
FORMATS = ("csv", "json", "xlsx")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "xlsx": spreadsheets.XLSX_CONTENT_TYPE,
}


class ExportError(DomainError):
    pass


class ExportForbidden(ExportError):
    status_code = 403


@dataclass(frozen=True)
class Column:
    name: str
    value: Callable[[Any], Any]


@dataclass
class ExportResult:
    what: str
    export_format: str
    count: int = 0
    ids: list[int] = field(default_factory=list)
    patient_ids: set[int] = field(default_factory=set)

    @property
    def filename(self) -> str:
        return f"spectrum-{self.what}-{timezone.localdate():%Y-%m-%d}.{self.export_format}"


# --- Filters: the list pages' own ------------------------------------------------------------------


def _query(params: Mapping[str, Any]) -> QueryDict:
    data = QueryDict(mutable=True)
    for key, value in params.items():
        if value in (None, ""):
            continue
        if isinstance(value, list | tuple):
            data.setlist(key, [str(item) for item in value])
        else:
            data[key] = str(value)
    return data


def _errors(errors: Mapping[str, Any]) -> str:
    return "; ".join(
        " ".join(str(m) for m in messages) if name == "__all__" else f"{name}: {' '.join(str(m) for m in messages)}"
        for name, messages in errors.items()
    )


def _date(params: Mapping[str, Any], name: str) -> datetime.date | None:
    value = params.get(name)
    if value in (None, ""):
        return None
    try:
        return forms.DateField(validators=[validation.page_date]).clean(str(value))
    except forms.ValidationError as exc:
        raise ExportError(f"{name}: {' '.join(exc.messages)} Use a date like 2026-03-31.") from None


def _patient_id(user: Actor, value: Any) -> int | None:
    """A patient given by id or patient number, among those ``user`` may see."""
    from patients import selectors

    if value in (None, ""):
        return None
    try:
        text = forms.CharField(max_length=100).clean(str(value))  # refuses NUL bytes
    except forms.ValidationError as exc:
        raise ExportError(f"patient: {' '.join(exc.messages)}") from None
    try:
        query = Q(pk=forms.IntegerField(min_value=1, max_value=validation.MAX_ID).clean(text))
    except forms.ValidationError:
        query = Q(patient_number__iexact=text)
    patient = selectors.patients_visible_to(user).filter(query).values_list("pk", flat=True).first()
    if patient is None:
        raise ExportError(f"No patient {text} (or not one you may see).")
    return patient


def patients_queryset(user: Actor, params: Mapping[str, Any]) -> QuerySet:
    from patients import selectors

    # The registration dates are the export's own parameters, not the list's (whose form parses the order).
    list_params = {key: value for key, value in params.items() if key not in ("date_from", "date_to")}
    filterset = selectors.patient_filter(user=user, data=_query(list_params))
    if not filterset.is_valid():
        raise ExportError(_errors(filterset.errors))
    patients = selectors.patient_records(filterset.qs, filterset.ordering)
    if (start := _date(params, "date_from")) is not None:
        patients = patients.filter(created_at__date__gte=start)
    if (end := _date(params, "date_to")) is not None:
        patients = patients.filter(created_at__date__lte=end)
    return patients


def appointments_queryset(user: Actor, params: Mapping[str, Any]) -> QuerySet:
    from scheduling import selectors
    from scheduling.filters import AppointmentFilter

    data = _query(params)
    if data.get("patient"):
        data["patient"] = str(_patient_id(user, data["patient"]))
    appointments = selectors.appointments_visible_to(user).select_related("patient", "service_type", "clinician")
    filterset = AppointmentFilter(data, queryset=appointments)
    if not filterset.is_valid():
        raise ExportError(_errors(filterset.errors))
    return filterset.qs.order_by("date", "start_time", "id")


def authorizations_queryset(user: Actor, params: Mapping[str, Any]) -> QuerySet:
    from authorizations import selectors
    from authorizations.filters import AuthorizationFilter

    # The date range is the export's own parameter, not the list's filter.
    data = _query({key: value for key, value in params.items() if key not in ("date_from", "date_to")})
    if data.get("patient"):
        data["patient"] = str(_patient_id(user, data["patient"]))
    filterset = AuthorizationFilter(data, queryset=selectors.listing(user))
    if not filterset.is_valid():
        raise ExportError(_errors(filterset.errors))
    authorizations = filterset.qs
    # A date range selects the authorizations whose window overlaps it.
    if (start := _date(params, "date_from")) is not None:
        authorizations = authorizations.filter(end_date__gte=start)
    if (end := _date(params, "date_to")) is not None:
        authorizations = authorizations.filter(start_date__lte=end)
    return authorizations.order_by("end_date", "id")


# --- Columns: what each role may see ---------------------------------------------------------------

PATIENT_FIELDS = (
    "patient_number", "last_name", "first_name", "preferred_name", "date_of_birth", "gender", "marital_status",
    "occupation", "session", "phone", "email", "address", "city", "state", "zip_code", "emergency_contact_name",
    "emergency_contact_phone", "insurance_type", "insurance_provider", "insurance_number", "medicaid_id",
    "referral_source", "psr_date", "treatment_start_date", "treatment_end_date", "diagnosis", "diagnosis_codes",
    "allergies", "medical_history", "current_medications", "blood_type", "ssn_masked", "is_active", "created_at",
    "updated_at",
)  # fmt: skip


def _attribute(name: str) -> Callable[[Any], Any]:
    return lambda obj: getattr(obj, name)


def _visible(columns: list[Column], user: Actor, model: Any) -> list[Column]:
    """The columns whose field the user's role may see (accounts.permissions.hidden_fields, as pages and API)."""
    hidden = permissions.hidden_fields(user, model)
    return [column for column in columns if column.name not in hidden]


def patient_columns(user: Actor) -> list[Column]:
    from patients.models import Patient

    # Never "ssn": only the masked form, and only for roles that may see even that.
    columns = [Column("id", _attribute("pk"))] + [Column(name, _attribute(name)) for name in PATIENT_FIELDS]
    return [column for column in _visible(columns, user, Patient) if column.name != "ssn"]


def appointment_columns(user: Actor) -> list[Column]:
    from scheduling.models import Appointment

    columns = [
        Column("id", _attribute("pk")),
        Column("date", _attribute("date")),
        Column("start_time", _attribute("start_time")),
        Column("end_time", _attribute("end_time")),
        Column("duration_minutes", _attribute("duration_minutes")),
        Column("status", _attribute("status")),
        Column("patient_id", _attribute("patient_id")),
        Column("patient_number", lambda a: a.patient.patient_number),
        Column("patient_name", lambda a: f"{a.patient.last_name}, {a.patient.first_name}"),
        Column("service_type", lambda a: a.service_type.code),
        Column("clinician", lambda a: a.clinician.email if a.clinician else ""),
        Column("series_id", _attribute("series_id")),
        Column("billing_code", _attribute("billing_code")),
        Column("override_reason", _attribute("override_reason")),
        Column("notes", _attribute("notes")),
    ]
    return _visible(columns, user, Appointment)


def authorization_columns(user: Actor) -> list[Column]:
    from authorizations.models import Authorization

    columns = [
        Column("id", _attribute("pk")),
        Column("patient_id", _attribute("patient_id")),
        Column("patient_number", lambda a: a.patient.patient_number),
        Column("patient_name", lambda a: f"{a.patient.last_name}, {a.patient.first_name}"),
        Column("payer", _attribute("payer")),
        Column("auth_number", _attribute("auth_number")),
        Column("services", lambda a: sorted(s.code for s in a.service_types.all())),
        Column("units_authorized", _attribute("units_authorized")),
        Column("units_used", _attribute("units_used")),
        Column("units_scheduled", _attribute("units_scheduled")),
        Column("units_remaining", _attribute("units_remaining")),
        Column("status", _attribute("status")),
        Column("start_date", _attribute("start_date")),
        Column("end_date", _attribute("end_date")),
        Column("approval_date", _attribute("approval_date")),
        Column("diagnosis_code", _attribute("diagnosis_code")),
        Column("late_cancel_counts", _attribute("late_cancel_counts")),
        Column("notes", _attribute("notes")),
    ]
    return _visible(columns, user, Authorization)


SOURCES: dict[str, tuple[Callable[[Any, Mapping[str, Any]], QuerySet], Callable[[Any], list[Column]]]] = {
    "patients": (patients_queryset, patient_columns),
    "appointments": (appointments_queryset, appointment_columns),
    "authorizations": (authorizations_queryset, authorization_columns),
}


# --- Writing ---------------------------------------------------------------------------------------


@dataclass
class Export:
    """A checked export, ready to write: ``chunks()`` yields the file and records it once writing ends."""

    result: ExportResult
    queryset: QuerySet
    columns: list[Column]
    params: Mapping[str, Any]
    user: Actor
    channel: str
    request: HttpRequest | None = None

    def rows(self) -> Generator[list[Any]]:
        result, what = self.result, self.result.what
        for obj in self.queryset.iterator(chunk_size=500):
            row = [column.value(obj) for column in self.columns]
            result.count += 1
            result.ids.append(obj.pk)
            result.patient_ids.add(obj.pk if what == "patients" else obj.patient_id)
            yield row

    def chunks(self) -> Generator[bytes]:
        """The file, a piece at a time; the audit entry names the records actually written, even if the
        reader stopped early (a closed pipe, a cancelled download)."""
        header = [column.name for column in self.columns]
        records = self.rows()
        try:
            yield from WRITERS[self.result.export_format](header, records)
        finally:
            records.close()  # a writer that stopped early leaves the database cursor open otherwise
            audit.record_export(
                model=self.queryset.model,
                actor=self.user,
                count=self.result.count,
                export_format=self.result.export_format,
                channel=self.channel,
                criteria={key: value for key, value in self.params.items() if key != "page"},
                object_ids=self.result.ids,
                patient_ids=sorted(self.result.patient_ids),
                request=self.request,
            )


def prepare(
    *,
    user: Actor,
    what: str,
    export_format: str,
    params: Mapping[str, Any],
    channel: str,
    request: HttpRequest | None = None,
) -> Export:
    """Check the permission, the kind, the format and the filters (``ExportError``) before a byte is written."""
    if not permissions.can_export_data(user):
        raise ExportForbidden("Only administrators can export data.")
    if what not in SOURCES:
        raise ExportError(f"Unknown export {what!r}: choose from {', '.join(WHATS)}.")
    if export_format not in FORMATS:
        raise ExportError(f"Unknown format {export_format!r}: choose from {', '.join(FORMATS)}.")
    make_queryset, make_columns = SOURCES[what]
    return Export(
        result=ExportResult(what=what, export_format=export_format),
        queryset=make_queryset(user, params),
        columns=make_columns(user),
        params=params,
        user=user,
        channel=channel,
        request=request,
    )


def export(
    *,
    user: Actor,
    what: str,
    export_format: str,
    params: Mapping[str, Any],
    out: BinaryIO,
    channel: str,
) -> ExportResult:
    """Write the export to ``out`` and record it (the records actually written, even if writing failed)."""
    prepared = prepare(user=user, what=what, export_format=export_format, params=params, channel=channel)
    chunks = prepared.chunks()
    try:
        for chunk in chunks:
            out.write(chunk)
    finally:
        chunks.close()
    return prepared.result


def _text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "; ".join(str(item) for item in value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime.datetime):
        return (
            timezone.localtime(value).isoformat(timespec="seconds") if timezone.is_aware(value) else value.isoformat()
        )
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return str(value)


def write_csv(header: list[str], rows: Iterable[list[Any]]) -> Iterator[bytes]:
    # UTF-8 with a byte-order mark: spreadsheets then read accented names correctly.
    yield "\ufeff".encode()
    lines = spreadsheets.csv_lines(itertools.chain([header], ([_text(value) for value in row] for row in rows)))
    for line in lines:
        yield line.encode()


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).isoformat() if timezone.is_aware(value) else value.isoformat()
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    return value


def write_json(header: list[str], rows: Iterable[list[Any]]) -> Iterator[bytes]:
    """A JSON array of objects, one record at a time."""
    yield b"["
    separator = b"\n"
    for row in rows:
        record = {name: _json_value(value) for name, value in zip(header, row, strict=True)}
        yield separator + json.dumps(record, ensure_ascii=False).encode()
        separator = b",\n"
    yield b"\n]\n"


def write_xlsx(header: list[str], rows: Iterable[list[Any]]) -> Iterator[bytes]:
    """XLSX is a zip archive, finished only at the end: built in memory, then sent in one piece."""
    buffer = io.BytesIO()
    cells = ([_cell(value) for value in row] for row in rows)
    spreadsheets.write_xlsx(buffer, header, cells)
    yield buffer.getvalue()


def _cell(value: Any) -> Any:
    return "; ".join(str(item) for item in value) if isinstance(value, list | tuple) else value


WRITERS: dict[str, Callable[[list[str], Iterable[list[Any]]], Iterator[bytes]]] = {
    "csv": write_csv,
    "json": write_json,
    "xlsx": write_xlsx,
}
