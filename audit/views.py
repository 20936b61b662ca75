import itertools
import json
from collections.abc import Iterator

from auditlog.registry import auditlog
from django.core.exceptions import PermissionDenied
from django.core.paginator import EmptyPage, PageNotAnInteger
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from accounts import permissions
from audit import events, reports, selectors
from audit import services as audit
from audit.filters import AuditEventFilter
from audit.forms import ReportPeriodForm
from audit.models import AuditEvent
from spectrum import spreadsheets
from spectrum.pagination import LargeTablePaginator

PAGE_SIZE = 50
CSV_COLUMNS = [
    "id",
    "timestamp",
    "event",
    "action",
    "actor_id",
    "actor_email",
    "actor_role",
    "object_type",
    "object_id",
    "object_repr",
    "patient_id",
    "remote_addr",
    "user_agent",
    "request_id",
    "changes",
    "additional_data",
]
REPORT_FORMATS = {"csv": "text/csv; charset=utf-8", "html": "text/html; charset=utf-8"}


def known_events() -> list[str]:
    """Event names to suggest in the filter (the field also takes any prefix, such as ``patients.``)."""
    names = {
        *events.SECURITY_EVENTS,
        events.PURGED,
        events.REPORT_EXPORTED,
        events.model_event(AuditEvent, events.EXPORTED),
    }
    for model in auditlog.get_models():
        for verb in ("created", "updated", "deleted", "viewed", events.SEARCHED, events.EXPORTED):
            names.add(events.model_event(model, verb))
    return sorted(names)


def _filterset(request: HttpRequest) -> AuditEventFilter:
    if not permissions.can_view_audit_log(request.user):
        raise PermissionDenied
    return AuditEventFilter(request.GET, queryset=selectors.events_visible_to(request.user), request=request)


@require_http_methods(["GET", "HEAD"])
def event_list(request: HttpRequest) -> HttpResponse:
    filterset = _filterset(request)
    page = None
    if filterset.is_valid():
        paginator = LargeTablePaginator(filterset.qs, PAGE_SIZE)
        try:
            page = paginator.page(request.GET.get("page") or 1)
        except (EmptyPage, PageNotAnInteger):
            page = paginator.page(1)
    context = {
        "filterset": filterset,
        "page": page,
        "known_events": known_events(),
        "has_filters": bool(filterset.criteria()),
        "can_export": permissions.can_export_audit_log(request.user),
    }
    return render(request, "audit/event_list.html", context, status=200 if page is not None else 400)


def _csv_lines(entries: QuerySet[AuditEvent]) -> Iterator[str]:
    rows = (
        (
            entry.pk,
            timezone.localtime(entry.timestamp).isoformat(),
            entry.event,
            entry.get_action_display(),
            entry.actor_id or "",
            entry.actor_email or "",
            entry.actor_role,
            entry.object_type,
            entry.object_pk,
            entry.object_repr,
            entry.patient_id or "",
            entry.remote_addr or "",
            entry.user_agent,
            entry.request_id,
            json.dumps(entry.changes) if entry.changes else "",
            json.dumps(entry.additional_data) if entry.additional_data else "",
        )
        for entry in entries.iterator(chunk_size=2000)
    )
    return spreadsheets.csv_lines(itertools.chain([CSV_COLUMNS], rows))


@require_GET  # a HEAD would record an export that sent nothing
def event_export(request: HttpRequest) -> HttpResponse:
    """The filtered log as CSV. The export is itself an entry: who, which filters, how many rows."""
    if not permissions.can_export_audit_log(request.user):
        raise PermissionDenied
    filterset = _filterset(request)
    if not filterset.is_valid():
        return event_list(request)
    # Entries keep arriving (this export writes one): the file holds what existed when it was asked for.
    last_id = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    entries = filterset.qs.filter(id__lte=last_id)
    count = entries.count()
    audit.record_export(
        model=AuditEvent,
        actor=request.user,
        count=count,
        export_format="csv",
        criteria=filterset.criteria(),
        extra={"up_to_id": last_id},
    )
    response = StreamingHttpResponse(_csv_lines(entries), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="audit-log-{timezone.localtime():%Y%m%d-%H%M}.csv"'
    return response


def _period_form(request: HttpRequest) -> ReportPeriodForm:
    if not permissions.can_view_audit_log(request.user):
        raise PermissionDenied
    if "date_from" in request.GET or "date_to" in request.GET:
        return ReportPeriodForm(request.GET)
    return ReportPeriodForm({key: value.isoformat() for key, value in ReportPeriodForm.default_initial().items()})


@require_http_methods(["GET", "HEAD"])
def compliance_report(request: HttpRequest) -> HttpResponse:
    form = _period_form(request)
    report = None
    if form.is_valid():
        report = reports.build_compliance_report(form.cleaned_data["date_from"], form.cleaned_data["date_to"])
    context = {"form": form, "report": report, "can_export": permissions.can_export_audit_log(request.user)}
    return render(request, "audit/compliance_report.html", context, status=200 if report else 400)


@require_GET  # a HEAD would record an export that sent nothing
def compliance_download(request: HttpRequest) -> HttpResponse:
    """The report as a CSV or HTML file; recorded as an export of the trail."""
    if not permissions.can_export_audit_log(request.user):
        raise PermissionDenied
    form = _period_form(request)
    export_format = request.GET.get("format", "csv")
    if export_format not in REPORT_FORMATS:
        form.add_error(None, "Choose CSV or HTML.")
    if not form.is_valid():
        context = {"form": form, "report": None, "can_export": True}
        return render(request, "audit/compliance_report.html", context, status=400)
    start, end = form.cleaned_data["date_from"], form.cleaned_data["date_to"]
    report = reports.build_compliance_report(start, end)
    reports.record_export(report, export_format=export_format, actor=request.user, channel="page")
    body = reports.render_csv(report) if export_format == "csv" else reports.render_html(report)
    response = HttpResponse(body, content_type=REPORT_FORMATS[export_format])
    filename = f"compliance-report-{start:%Y%m%d}-{end:%Y%m%d}.{export_format}"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
