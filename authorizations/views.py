import datetime
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from accounts import permissions
from audit import services as audit
from authorizations import reports, selectors, services
from authorizations.filters import AuthorizationFilter
from authorizations.forms import AuthorizationForm, PeriodForm
from authorizations.models import Authorization
from patients import selectors as patient_selectors
from patients.models import Patient
from scheduling import selectors as scheduling_selectors
from scheduling.models import Appointment
from spectrum import spreadsheets
from spectrum.http import ClinicRequest
from spectrum.pagination import LargeTablePaginator
from spectrum.validation import MAX_ID


def _require(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied


@require_GET
def authorization_list(request: ClinicRequest) -> HttpResponse:
    _require(permissions.can_view_authorizations(request.user))
    filterset = AuthorizationFilter(request.GET, queryset=selectors.listing(request.user).order_by("end_date", "id"))
    page = LargeTablePaginator(filterset.qs, 50).get_page(request.GET.get("page")) if filterset.is_valid() else None
    context = {
        "form": filterset.form,
        "page": page,
        "can_add": permissions.can_add_authorizations(request.user),
        "today": timezone.localdate(),
    }
    return render(request, "authorizations/authorization_list.html", context, status=200 if page is not None else 400)


def _patient_for(request: ClinicRequest, patient_id: Any):
    try:
        patient_id = forms.IntegerField(min_value=1, max_value=MAX_ID).clean(patient_id)
    except forms.ValidationError:
        raise Http404("No such patient.") from None
    patient = patient_selectors.patients_visible_to(request.user).filter(pk=patient_id, is_active=True).first()
    if patient is None:
        raise Http404("No such patient.")
    return patient


@require_http_methods(["GET", "HEAD", "POST"])
def authorization_create(request: ClinicRequest) -> HttpResponse:
    _require(permissions.can_add_authorizations(request.user))
    patient = _patient_for(request, request.GET.get("patient") or request.POST.get("patient"))
    form = AuthorizationForm(request.POST or None, initial={"patient": patient.pk}, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            authorization = services.save_authorization(
                actor=request.user, data=form.data_for_service(), service_types=list(form.cleaned_data["service_types"])
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, f"Authorization {authorization} recorded.")
            return redirect(patient)
    return render(
        request, "authorizations/authorization_form.html", {"form": form, "patient": patient, "authorization": None}
    )


@require_http_methods(["GET", "HEAD", "POST"])
def authorization_edit(request: ClinicRequest, pk: int) -> HttpResponse:
    authorization = selectors.listing(request.user).filter(pk=pk).first()
    if authorization is None:
        raise Http404("No such authorization.")
    can_change = permissions.can_change_authorizations(request.user)
    if request.method == "POST" and not can_change:
        raise PermissionDenied
    service_types = list(authorization.service_types.all())
    form = AuthorizationForm(
        request.POST or None, instance=authorization, initial={"service_types": service_types}, user=request.user
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.save_authorization(
                actor=request.user, authorization=Authorization.objects.get(pk=pk), data=form.data_for_service(),
                service_types=list(form.cleaned_data["service_types"]),
            )  # fmt: skip
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, "Authorization saved.")
            return redirect(authorization.patient)
    if not can_change:
        for form_field in form.fields.values():
            form_field.disabled = True
    context = {"form": form, "patient": authorization.patient, "authorization": authorization, "can_change": can_change}
    return render(request, "authorizations/authorization_form.html", context)


def _period(request: ClinicRequest) -> PeriodForm:
    today = timezone.localdate()
    defaults = {"date_from": today.replace(day=1) - datetime.timedelta(days=60), "date_to": today}
    return PeriodForm(request.GET if "date_from" in request.GET else {k: v.isoformat() for k, v in defaults.items()})


def _record_report(
    request: ClinicRequest,
    report: str,
    model: type,
    rows: int,
    period: PeriodForm,
    patient_ids: list[int] | None = None,
) -> None:
    """A report leaving the system is an export: what, how much, and which patients it named."""
    audit.record_export(
        model=model,
        actor=request.user,
        count=rows,
        export_format="csv",
        criteria={key: str(value) for key, value in period.cleaned_data.items()},
        patient_ids=patient_ids,
        extra={"report": report},
    )


def _csv_response(filename: str, header: list[str], rows: list[list[Any]]) -> HttpResponse:
    response = HttpResponse(spreadsheets.csv_text([header, *rows]), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_GET
def report_utilisation(request: ClinicRequest) -> HttpResponse:
    _require(permissions.can_view_authorizations(request.user))
    form = _period(request)
    rows = (
        reports.utilisation(request.user, form.cleaned_data["date_from"], form.cleaned_data["date_to"])
        if form.is_valid()
        else []
    )
    if form.is_valid() and request.GET.get("format") == "csv":
        _record_report(request, "utilisation", Authorization, len(rows), form)
        return _csv_response(
            "utilisation.csv",
            [
                "service",
                "name",
                "authorizations",
                "units_authorized",
                "units_used",
                "units_remaining",
                "units_over_used",
            ],
            [
                [
                    r["service"],
                    r["name"],
                    r["authorizations"],
                    r["authorized"],
                    r["used"],
                    r["remaining"],
                    r["over_used"],
                ]
                for r in rows
            ],
        )
    return render(request, "authorizations/report_utilisation.html", {"form": form, "rows": rows})


@require_GET
def report_attendance(request: ClinicRequest) -> HttpResponse:
    _require(permissions.can_view_attendance_report(request.user))
    form = _period(request)
    tables: dict[str, list[dict[str, Any]]] = {"by_patient": [], "by_service": []}
    if form.is_valid():
        appointments = scheduling_selectors.appointments_visible_to(request.user)
        tables = reports.attendance(appointments, form.cleaned_data["date_from"], form.cleaned_data["date_to"])
    if form.is_valid() and request.GET.get("format") == "csv":
        by = "service" if request.GET.get("by") == "service" else "patient"
        rows = tables[f"by_{by}"]
        counts = ["attended", "no_show", "late_cancel", "total", "no_show_rate", "late_cancel_rate"]
        if by == "service":
            _record_report(request, "attendance_by_service", Appointment, len(rows), form)
            return _csv_response(
                "attendance-by-service.csv",
                ["service", *counts],
                [[r["service_type__code"], *[r[c] for c in counts]] for r in rows],
            )
        # Names and no-show counts per patient: a patient export, for those who may export patients.
        _require(permissions.can_export_patients(request.user))
        patient_ids = [r["patient"] for r in rows]
        _record_report(request, "attendance_by_patient", Appointment, len(rows), form, patient_ids=patient_ids)
        return _csv_response(
            "attendance-by-patient.csv",
            ["patient_number", "last_name", "first_name", *counts],
            [
                [
                    r["patient__patient_number"],
                    r["patient__last_name"],
                    r["patient__first_name"],
                    *[r[c] for c in counts],
                ]
                for r in rows
            ],
        )
    if form.is_valid() and tables["by_patient"]:
        # The page lists patients too: recorded as a listing, with how many it showed.
        audit.record_search(
            model=Patient,
            actor=request.user,
            terms=[],
            filters=form.cleaned_data,
            results=len(tables["by_patient"]),
            channel="attendance_report",
        )
    context = {"form": form, "can_export_patients": permissions.can_export_patients(request.user), **tables}
    return render(request, "authorizations/report_attendance.html", context)
