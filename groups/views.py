"""Group pages: the sessions of a day, a session's roster (marked in one request), the weekly sheet."""

import datetime
import io
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import permissions
from accounts.permissions import Actor
from audit import services as audit
from groups import selectors, services
from groups.filters import AttendanceSheetForm
from groups.forms import EndEnrollmentForm, EnrollForm, RosterForm, SheetCellForm
from groups.models import Enrollment, GroupSession, ProgramSession
from scheduling import day_cache
from scheduling.models import Appointment, clinic_now
from spectrum import spreadsheets
from spectrum.exceptions import DomainError
from spectrum.http import ClinicRequest
from spectrum.validation import page_date

SUMMARY_KEY = "groups_roster_summary"


def _require(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied


def get_session_for_user(user: Actor, pk: int) -> GroupSession:
    """The session (404 for whoever may not see the schedule)."""
    try:
        return selectors.group_session_visible_to(user, pk)
    except GroupSession.DoesNotExist:
        raise Http404("No such group session.") from None


def _errors(exc: ValidationError | DomainError) -> list[str]:
    if isinstance(exc, DomainError):
        return [exc.message]
    return [message for messages_ in exc.message_dict.values() for message in messages_]


@require_GET
def session_list(request: ClinicRequest) -> HttpResponse:
    """The group sessions of one day (default today), each with its attendee count, linking to its roster."""
    _require(permissions.can_view_group_sessions(request.user))
    try:
        day = datetime.date.fromisoformat(request.GET.get("date", "")) if request.GET.get("date") else None
        page_date(day)
    except (ValueError, ValidationError):
        day = None
    day = day or clinic_now().date()
    sessions = list(selectors.group_sessions_between(request.user, day, day))
    return render(
        request,
        "groups/session_list.html",
        {
            "day": day, "sessions": sessions, "previous": day - datetime.timedelta(days=1),
            "following": day + datetime.timedelta(days=1), "week": selectors.iso_week(day),
            "groups": selectors.groups_visible_to(request.user).filter(is_active=True),
            "can_manage_enrollments": permissions.can_manage_enrollments(request.user),
        },
    )  # fmt: skip


def _roster_page(request: ClinicRequest, state: dict[str, Any], form: RosterForm | None = None, status: int = 200):
    """The roster page around ``state`` (``roster_state``, or ``_build_roster_state`` for a refused form)."""
    session: GroupSession = state["session"]
    may_write_notes = permissions.can_change_clinical_text(request.user)
    if form is None:
        # Unbound, the form supplies only the session's own fields: the rows are drawn from the
        # appointments, so their fields (four per attendee) are built only to validate a POST.
        form = RosterForm(
            initial={"topic": session.topic, "group_note": session.group_note}, rows=[],
            may_write_notes=may_write_notes,
        )  # fmt: skip
    audit.record(
        event="groups.roster.viewed", target=session, actor=request.user,
        data={"channel": "page", "patient_ids": state["patient_ids"]},
    )  # fmt: skip
    return render(
        request,
        "groups/session_roster.html",
        {
            "session": session, "rows_html": state["html"], "has_rows": bool(state["patient_ids"]),
            "capacity_label": state["capacity_label"], "form": form, "may_write_notes": may_write_notes,
            "may_mark": state["may_mark"],
            "may_sign": permissions.can_sign_group_sessions(request.user) and not session.is_signed
            and session.status == GroupSession.Status.HELD,
            "has_started": services.session_started(session), "summary": request.session.pop(SUMMARY_KEY, None),
            "default_in": _clock(session.start_time), "default_out": _clock(session.end_time),
            "week": selectors.iso_week(session.date),
        },
        status=status,
    )  # fmt: skip


def roster_state(user: Actor, pk: int) -> dict[str, Any]:
    """What a roster visit shows of the database: the session (its group, service and clinicians) and its rows,
    rendered, with their patients' ids and the capacity label. From the cache while the session's day, its
    patients and their authorizations are unchanged; a visit served from it runs no query of its own.

    Keyed by the session, today (the units left) and what the viewer's role decides (statuses, notes, units,
    deactivated patients); the versions it was read under (``day_cache.roster_versions``) travel with the
    entry and are checked on each read, because the session's day is known only once the session is read.
    The entry holds progress notes, so it is cached encrypted (``day_cache.cached_encrypted``). Rendered
    without the request: no CSRF token is cached (the page's form holds it).
    """
    if not permissions.can_view_group_sessions(user):
        raise Http404("No such group session.")
    may_see_units = permissions.can_view_authorizations(user)
    may_record = permissions.can_record_group_attendance(user)
    key = ":".join(
        [
            "groups:roster",
            str(pk),
            timezone.localdate().isoformat(),
            day_cache.row_variant(user),
            f"record{int(may_record)}-notes{int(permissions.can_change_clinical_text(user))}-units{int(may_see_units)}",
        ]
    )

    def build() -> tuple[dict[str, Any], dict[str, str]]:
        # The versions first, then what they cover: a write in between leaves the entry stale under the
        # versions it read, never current under later ones. The date alone tells which day's versions.
        try:
            day = selectors.group_session_date(user, pk)
        except GroupSession.DoesNotExist:
            raise Http404("No such group session.") from None
        versions = day_cache.roster_versions(day, with_units=may_see_units)
        session = get_session_for_user(user, pk)
        if session.date != day:  # moved meanwhile: its new day's versions are the ones that will change
            return build()
        return _build_roster_state(user, selectors.roster(user, session), None), versions

    return day_cache.cached_encrypted(key, build)


def _build_roster_state(user: Actor, roster: selectors.Roster, form: RosterForm | None) -> dict[str, Any]:
    """The rows with each appointment's stored values, or (``form`` bound) the values posted and their errors."""
    session = roster.session
    may_mark = permissions.can_record_group_attendance(user) and session.status != GroupSession.Status.CANCELLED
    may_write_notes = permissions.can_change_clinical_text(user)
    bound = form is not None and form.is_bound
    posted = form.data if form is not None else {}
    rows = []
    for row in roster.rows:
        appointment = row.appointment
        pk = appointment.pk
        rows.append(
            {
                "row": row,
                "pk": pk,
                "status": (posted.get(f"status-{pk}") if bound else appointment.status) or "",
                "time_in": (posted.get(f"time_in-{pk}") if bound else _clock(appointment.time_in)) or "",
                "time_out": (posted.get(f"time_out-{pk}") if bound else _clock(appointment.time_out)) or "",
                "note": (posted.get(f"note-{pk}") if bound else appointment.progress_note) or "",
                "errors": getattr(form, "row_errors", {}).get(str(pk), {}),
            }
        )
    html = render_to_string(
        "groups/_roster_rows.html",
        {"rows": rows, "choices": services.ROSTER_CHOICES, "may_mark": may_mark, "may_write_notes": may_write_notes},
    )
    return {
        "session": session,
        "may_mark": may_mark,
        "html": html,
        "patient_ids": [row.patient.pk for row in roster.rows],
        "capacity_label": roster.capacity_label,
    }


def _refused_roster_page(request: ClinicRequest, roster: selectors.Roster, form: RosterForm) -> HttpResponse:
    """The roster again (400) with the values posted and their errors: nothing was saved."""
    return _roster_page(request, _build_roster_state(request.user, roster, form), form, status=400)


def _clock(value: datetime.time | None) -> str:
    return value.strftime("%H:%M") if value else ""


@require_http_methods(["GET", "POST"])
def session_roster(request: ClinicRequest, pk: int) -> HttpResponse:
    """A session's roster. POST saves every row in one request and one transaction (all or nothing), then
    shows one summary above the roster (not over its controls)."""
    if request.method == "GET":
        return _roster_page(request, roster_state(request.user, pk))
    session = get_session_for_user(request.user, pk)
    _require(permissions.can_record_group_attendance(request.user))
    roster = selectors.roster(request.user, session)
    form = RosterForm(
        request.POST, rows=roster.rows, may_write_notes=permissions.can_change_clinical_text(request.user)
    )
    if not form.is_valid():
        return _refused_roster_page(request, roster, form)
    try:
        result = services.save_attendance(
            actor=request.user, session=session, attendees=form.entries(),
            group_note=form.cleaned_data.get("group_note") if form.may_write_notes else None,
            topic=form.cleaned_data["topic"], amendment_reason=form.cleaned_data["amendment_reason"],
        )  # fmt: skip
    except services.AttendanceError as exc:
        form.row_errors = exc.extra["attendees"]  # type: ignore[attr-defined]
        form.add_error(None, exc.message)
        return _refused_roster_page(request, roster, form)
    except (ValidationError, DomainError) as exc:
        for message in _errors(exc):
            form.add_error(None, message)
        return _refused_roster_page(request, roster, form)
    text = f"Saved: {result.changed} attendee{'s' if result.changed != 1 else ''} updated."
    if result.amendment:
        text += " Kept as an amendment of the signed attendance."
    request.session[SUMMARY_KEY] = text
    return redirect("groups:session-roster", pk=session.pk)


@require_POST
def session_sign(request: ClinicRequest, pk: int) -> HttpResponse:
    session = get_session_for_user(request.user, pk)
    _require(permissions.can_sign_group_sessions(request.user))
    try:
        services.sign_session(actor=request.user, session=session)
    except (ValidationError, DomainError) as exc:
        request.session[SUMMARY_KEY] = " ".join(_errors(exc))
    else:
        request.session[SUMMARY_KEY] = "Signed. Later changes need a reason and are kept as amendments."
    return redirect("groups:session-roster", pk=session.pk)


# --- The weekly attendance sheet ---------------------------------------------------------------------------


def _sheet(request: ClinicRequest) -> tuple[AttendanceSheetForm, selectors.Sheet | None]:
    data = request.GET.copy()
    data.setdefault("program_session", ProgramSession.AM)
    form = AttendanceSheetForm(data)
    if not form.is_valid():
        return form, None
    week_start = form.cleaned_data["week"] or selectors.week_days_start(clinic_now().date())
    sheet = selectors.attendance_sheet(
        request.user, program_session=form.cleaned_data["program_session"], week_start=week_start,
        group=form.cleaned_data["group"],
    )  # fmt: skip
    return form, sheet


@require_GET
def attendance_sheet(request: ClinicRequest) -> HttpResponse:
    """Patients × weekdays of one program session and ISO week; ``format=csv|xlsx`` downloads it."""
    _require(permissions.can_view_group_sessions(request.user))
    form, sheet = _sheet(request)
    if sheet is None:
        return render(request, "groups/attendance_sheet.html", {"form": form, "sheet": None}, status=400)
    patient_ids = [row.patient_id for row in sheet.rows]
    export_format = form.cleaned_data.get("format")
    if export_format:
        table = selectors.sheet_table(sheet)
        audit.record_export(
            model=Appointment, actor=request.user, count=len(sheet.rows), export_format=export_format,
            criteria={"program_session": sheet.program_session, "week": sheet.week}, patient_ids=patient_ids,
            extra={"report": "attendance_sheet"},
        )  # fmt: skip
        filename = f"attendance-{sheet.program_session}-{sheet.week}.{export_format}"
        if export_format == "csv":
            response = HttpResponse(spreadsheets.csv_text(table), content_type="text/csv; charset=utf-8")
        else:
            out = io.BytesIO()
            spreadsheets.write_xlsx(out, table[0], table[1:], title=f"{sheet.program_session} {sheet.week}")
            response = HttpResponse(out.getvalue(), content_type=spreadsheets.XLSX_CONTENT_TYPE)
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
    audit.record(
        event="groups.attendance_sheet.viewed", target_model=GroupSession, actor=request.user,
        data={"channel": "page", "week": sheet.week, "patient_ids": patient_ids},
    )  # fmt: skip
    return render(
        request,
        "groups/attendance_sheet.html",
        {
            "form": form, "sheet": sheet, "may_edit": permissions.can_edit_attendance_sheet(request.user),
            "choices": services.ROSTER_CHOICES, "summary": request.session.pop(SUMMARY_KEY, None),
        },
    )  # fmt: skip


@require_POST
def sheet_cell(request: ClinicRequest, pk: int) -> HttpResponse:
    """Change one cell (an attendee's status) of the weekly sheet; signed sessions change on their roster."""
    _require(permissions.can_edit_attendance_sheet(request.user))
    appointment = (
        Appointment.objects.visible_to(request.user)
        .filter(pk=pk, group_session__isnull=False)
        .select_related("group_session__service_type")
        .first()
    )
    if appointment is None:
        raise Http404("No such attendee.")
    session = appointment.group_session
    form = SheetCellForm(request.POST)
    week = request.POST.get("week", "") if form.is_valid() else selectors.iso_week(appointment.date)
    if not form.is_valid():
        request.session[SUMMARY_KEY] = "Choose a status."
    else:
        try:
            services.save_attendance(
                actor=request.user, session=session,
                attendees=[services.AttendeeInput(appointment=pk, status=form.cleaned_data["status"])],
            )  # fmt: skip
        except services.AttendanceError as exc:
            messages_ = exc.extra["attendees"].get(str(pk), {})
            request.session[SUMMARY_KEY] = " ".join(m for ms in messages_.values() for m in ms) or exc.message
        except (ValidationError, DomainError) as exc:
            request.session[SUMMARY_KEY] = " ".join(_errors(exc))
        else:
            request.session[SUMMARY_KEY] = f"Saved {appointment.date:%a %m/%d}."
    url = reverse("groups:attendance-sheet")
    return redirect(f"{url}?program_session={session.program_session or 'AM'}&week={week}#cell-{pk}")


# --- Enrollment (administrators) ---------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def group_enrollments(request: ClinicRequest, pk: int) -> HttpResponse:
    """A group's enrollments; administrators enroll patients and end enrollments here."""
    _require(permissions.can_view_group_sessions(request.user))
    group = selectors.groups_visible_to(request.user).filter(pk=pk).first()
    if group is None:
        raise Http404("No such group.")
    form = EnrollForm(request.POST or None)
    status = 200
    if request.method == "POST":
        _require(permissions.can_manage_enrollments(request.user))
        if form.is_valid():
            try:
                enrollment = services.enroll_patient(
                    actor=request.user, group=group, patient=form.cleaned_data["patient"],
                    start_date=form.cleaned_data["start_date"], end_date=form.cleaned_data["end_date"],
                    override_reason=form.cleaned_data["override_reason"],
                )  # fmt: skip
            except (ValidationError, DomainError) as exc:
                for message in _errors(exc):
                    form.add_error(None, message)
            else:
                warnings = " ".join(w.message for w in enrollment.warnings)  # type: ignore[attr-defined]
                request.session[SUMMARY_KEY] = f"Enrolled: {enrollment.booked} sessions booked. {warnings}".strip()  # type: ignore[attr-defined]
                return redirect("groups:group-enrollments", pk=group.pk)
        status = 400
    enrollments = selectors.enrollments_visible_to(request.user).filter(group=group).order_by("-start_date")
    return render(
        request,
        "groups/group_enrollments.html",
        {
            "group": group, "enrollments": enrollments, "form": form, "end_form": EndEnrollmentForm(),
            "may_manage": permissions.can_manage_enrollments(request.user),
            "summary": request.session.pop(SUMMARY_KEY, None),
        },
        status=status,
    )  # fmt: skip


@require_POST
def enrollment_end(request: ClinicRequest, pk: int) -> HttpResponse:
    _require(permissions.can_manage_enrollments(request.user))
    enrollment: Enrollment | None = selectors.enrollments_visible_to(request.user).filter(pk=pk).first()
    if enrollment is None:
        raise Http404("No such enrollment.")
    form = EndEnrollmentForm(request.POST)
    if not form.is_valid():
        request.session[SUMMARY_KEY] = "Give the enrollment's last day."
    else:
        try:
            cancelled = services.end_enrollment(actor=request.user, enrollment=enrollment, **form.cleaned_data)
        except (ValidationError, DomainError) as exc:
            request.session[SUMMARY_KEY] = " ".join(_errors(exc))
        else:
            request.session[SUMMARY_KEY] = f"Enrollment ended: {cancelled} later sessions cancelled."
    return redirect("groups:group-enrollments", pk=enrollment.group_id)
