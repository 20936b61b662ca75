import datetime
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from accounts import permissions
from accounts.permissions import Actor
from groups.models import GroupSession
from patients import selectors as patient_selectors
from patients import services as patient_services
from reminders import conf as reminder_conf
from reminders import selectors as reminder_selectors
from scheduling import day_cache, rendering, selectors, services
from scheduling.filters import CalendarFilter, PatientPickerForm, calendar_period
from scheduling.forms import (
    AppointmentEditForm,
    AppointmentForm,
    BookingChoiceForm,
    CancelSeriesForm,
    ClosedDayForm,
    StatusForm,
)
from scheduling.models import Appointment, AppointmentSeries, ClosedDay, ServiceType
from spectrum.clinic import clinic_hours
from spectrum.exceptions import DomainError
from spectrum.http import ClinicRequest

Status = Appointment.Status
DAY_PAGE_SIZE = 50


def _require(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied


def get_appointment_for_user(user: Actor, pk: int, *, write: bool = False) -> Appointment:
    appointment = (
        selectors.appointments_visible_to(user)
        .select_related("patient", "service_type", "clinician", "series")
        .filter(pk=pk)
        .first()
    )
    if appointment is None:
        raise Http404("No such appointment.")
    if write and not permissions.can_change_appointments(user):
        raise PermissionDenied
    return appointment


def _prepare_rows(appointments) -> None:
    rendering.prepare_rows(appointments)


def _calendar_filters(request: ClinicRequest) -> CalendarFilter:
    """The calendar's filters and period; what is wrong with them is shown as messages (the page answers 400)."""
    filterset = CalendarFilter(request.GET, queryset=Appointment.objects.none(), request=request)
    period = calendar_period(request.GET)
    for form in (filterset.form, period):
        if not form.is_valid():
            for errors in form.errors.values():
                for error in errors:
                    messages.error(request, str(error))
    return filterset


def _filtered(filterset: CalendarFilter, appointments):
    """``appointments`` narrowed by the calendar's filters; none when they are not valid."""
    return filterset.filter_queryset(appointments) if filterset.is_valid() else appointments.none()


def _filter_context(
    request: ClinicRequest, filterset: CalendarFilter, *, extra: tuple[str, str] | None = None
) -> dict[str, Any]:
    """The filter form, rendered (with ``extra`` as a hidden field, e.g. the month shown), and the filters as a
    query string for links. The form's choices (clinicians, services) change only with the choices version
    (``scheduling.day_cache``), so the rendered form is cached under it and the chosen ids."""
    data = filterset.form.cleaned_data if filterset.is_valid() else {}
    chosen = {key: data[key].pk for key in ("clinician", "service_type") if data.get(key)}
    parts = [f"{name}={pk}" for name, pk in chosen.items()] + list(extra or ())
    key = ":".join(["scheduling:filter-panel", day_cache.choices_version(), *parts])

    def render_panel() -> str:
        context = {
            "clinician_choices": selectors.clinicians(),
            "service_type_choices": ServiceType.objects.order_by("code"),
            "selected_clinician": data.get("clinician"),
            "selected_service_type": data.get("service_type"),
            "extra_name": extra[0] if extra else "",
            "extra_value": extra[1] if extra else "",
        }
        return render_to_string("scheduling/_calendar_filters.html", context)

    return {"filter_panel": day_cache.cached(key, render_panel), "filter_query": urlencode(chosen)}


def _status(filterset: CalendarFilter, request: ClinicRequest) -> int:
    return 200 if filterset.is_valid() and calendar_period(request.GET).is_valid() else 400


@require_GET
def calendar_month(request: ClinicRequest) -> HttpResponse:
    _require(permissions.can_view_schedule(request.user))
    today = timezone.localdate()
    month = calendar_period(request.GET).period("month") or today.replace(day=1)
    filters = _calendar_filters(request)
    appointments = _filtered(filters, selectors.appointments_counted_for(request.user))
    days = selectors.month_summary(appointments, month.year, month.month)
    closed = services.closed_days_between(days[0]["date"], days[-1]["date"])
    day_url = reverse("scheduling:day", kwargs={"day": "0000-00-00"})
    for day in days:
        day["closed"] = closed.get(day["date"], "")
        day["url"] = day_url.replace("0000-00-00", day["date"].isoformat())
    previous = (month - datetime.timedelta(days=1)).replace(day=1)
    following = (month + datetime.timedelta(days=32)).replace(day=1)
    context = {
        "month": month,
        "weeks": selectors.month_grid(month.year, month.month, days),
        "weekday_names": ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"],
        "today": today,
        "previous": previous,
        "following": following,
        "month_total": sum(day["total"] for day in days),
        "can_manage_closed_days": permissions.can_manage_closed_days(request.user),
        **_filter_context(request, filters, extra=("month", f"{month:%Y-%m}")),
        **_booking_context(request, today if (today.year, today.month) == (month.year, month.month) else month),
    }
    return render(request, "scheduling/calendar_month.html", context, status=_status(filters, request))


def _booking_context(request: ClinicRequest, day: datetime.date) -> dict[str, Any]:
    """The calendar pages only need to know whether to offer booking; the form loads when opened."""
    return {"can_book": permissions.can_book_appointments(request.user), "booking_date": day}


def _booking_form(user: Actor, day: datetime.date) -> AppointmentForm:
    return AppointmentForm(initial={"date": day, "start_time": "10:00", "interval": 1}, user=user)


def _group_blocks(
    request: ClinicRequest, filters: CalendarFilter, start: datetime.date, end: datetime.date
) -> list[GroupSession]:
    """The group sessions the day view shows as blocks, narrowed by the calendar's filters."""
    if not filters.is_valid():
        return []
    data = filters.form.cleaned_data
    return selectors.group_blocks(
        request.user, start, end, clinician=data.get("clinician"), service_type=data.get("service_type")
    )


def _page_number(raw: str | None) -> int:
    """The ?page= asked for as Paginator.get_page reads it: not a whole number is the first page (one out of
    range is left to get_page, which gives the last page, here and for the pager alike)."""
    try:
        return int(raw or 1)
    except ValueError:
        return 1


def _day_rows(request: ClinicRequest, filters: CalendarFilter, date: datetime.date, number: int) -> dict[str, Any]:
    """One page of the day's rows, rendered, with the day's counts, its group sessions' blocks and whether the
    clinic is closed: from the cache while the day is unchanged.

    Keyed as ``scheduling.day_cache`` explains: the day and its versions, what the viewer's role decides,
    the page and the filters (ids), and the clinic clock's part. Rendered without the request, so no
    session's CSRF token can be cached (the page adds it outside, see ``_status_csrf.html``).
    """
    data = filters.form.cleaned_data if filters.is_valid() else None
    filter_part = (
        "invalid"
        if data is None
        else "-".join(str(data[key].pk) if data.get(key) else "" for key in ("clinician", "service_type"))
    )
    key = ":".join(
        [
            "scheduling:day-rows",
            date.isoformat(),
            *day_cache.day_versions(date),
            day_cache.row_variant(request.user),
            day_cache.clock_part(date),
            filter_part,
            str(number),
        ]
    )
    return day_cache.cached(key, lambda: _render_day_rows(request, filters, date, number))


def _render_day_rows(
    request: ClinicRequest, filters: CalendarFilter, date: datetime.date, number: int
) -> dict[str, Any]:
    appointments = _filtered(filters, selectors.appointments_visible_to(request.user))
    # A large clinic's day is paged; each page is one short query.
    paginator = Paginator(selectors.day_appointments(appointments, date), DAY_PAGE_SIZE)
    # Count the day from the (date, status) index, less the few rows of deactivated patients a
    # non-administrator does not see, instead of joining every appointment of the day to its patient.
    everyone = selectors.individual_appointments(
        _filtered(filters, selectors.appointments_counted_for(request.user)).filter(date=date)
    )
    hidden = 0
    if not permissions.can_view_inactive_patients(request.user):
        hidden = everyone.filter(patient__is_active=False).count()
    count = everyone.count() - hidden
    paginator.count = count
    rows = list(paginator.get_page(number).object_list)
    _prepare_rows(rows)
    can_mark = permissions.can_change_appointments(request.user)
    group_sessions = _group_blocks(request, filters, date, date)
    entry = {
        "count": count,
        "hidden": hidden,
        "ids": [appointment.pk for appointment in rows],
        "html": render_to_string("scheduling/_day_rows.html", {"appointments": rows, "can_mark": can_mark}),
        "has_group_sessions": bool(group_sessions),
        "group_sessions_html": render_to_string("scheduling/_group_blocks.html", {"group_sessions": group_sessions}),
        "closed_reason": services.closed_days_between(date, date).get(date, ""),
    }
    return entry


@require_GET
def calendar_day(request: ClinicRequest, day: str) -> HttpResponse:
    _require(permissions.can_view_schedule(request.user))
    date = calendar_period(QueryDict(urlencode({"date": day}))).period("date")
    if date is None:
        raise Http404("Not a date the calendar shows.")
    filters = _calendar_filters(request)
    day_rows = _day_rows(request, filters, date, _page_number(request.GET.get("page")))
    # The pager needs only the count: its page's rows come from the cache above.
    paginator = Paginator(Appointment.objects.none(), DAY_PAGE_SIZE)
    paginator.count = day_rows["count"]
    page = paginator.get_page(request.GET.get("page"))
    can_mark = permissions.can_change_appointments(request.user)
    context = {
        "date": date,
        "has_group_sessions": day_rows["has_group_sessions"],
        "group_sessions": day_rows["group_sessions_html"],  # a SafeString from the template engine, as the rows
        "has_rows": bool(day_rows["ids"]),
        "rows": day_rows["html"],  # a SafeString from the template engine (escaped there), kept so in the cache
        "status_form_ids": day_rows["ids"] if can_mark else [],
        "page": page,
        "hidden_inactive": day_rows["hidden"],
        "previous": date - datetime.timedelta(days=1),
        "following": date + datetime.timedelta(days=1),
        "today": timezone.localdate(),
        "closed_reason": day_rows["closed_reason"],
        "can_mark": can_mark,
        **_filter_context(request, filters),
        **_booking_context(request, date),
    }
    return render(request, "scheduling/calendar_day.html", context, status=_status(filters, request))


@require_GET
def calendar_week(request: ClinicRequest) -> HttpResponse:
    """A clinician's week (Monday to Friday) in time slots; defaults to the signed-in user's own week."""
    _require(permissions.can_view_schedule(request.user))
    anchor = calendar_period(request.GET).period("date") or timezone.localdate()
    monday = anchor - datetime.timedelta(days=anchor.weekday())
    week = [monday + datetime.timedelta(days=offset) for offset in range(5)]
    filters = _calendar_filters(request)
    chosen = filters.form.cleaned_data.get("clinician") if filters.is_valid() else None
    # Without a choice, the signed-in user's own week (if they are a clinician).
    own = None if request.GET.get("clinician") else selectors.clinicians().filter(pk=request.user.pk).first()
    clinician = chosen or own
    appointments: list[Any] = []  # labelled below for the template
    sessions: list[GroupSession] = []
    if clinician is not None:
        # A group session is one block with its attendee count; its attendees are marked on the roster.
        sessions = selectors.group_blocks(request.user, week[0], week[-1], clinician=clinician, include_cancelled=False)
        appointments = list(
            selectors.individual_appointments(selectors.appointments_visible_to(request.user))
            .filter(clinician=clinician, date__range=(week[0], week[-1]))
            .exclude(status__in=Appointment.CANCELLED_STATUSES)
            .select_related("patient", "service_type")
            .order_by("date", "start_time")
        )
    hours = clinic_hours()
    lanes, rows = selectors.week_grid(
        [*appointments, *sessions], week, opens=hours.start, closes=hours.end, step=settings.APPOINTMENT_SLOT_MINUTES
    )
    day_url = reverse("scheduling:day", kwargs={"day": "0000-00-00"})
    for appointment in appointments:
        appointment.name_label = rendering.initial_and_last(appointment.patient)
        appointment.start_label = appointment.start_time.strftime("%I:%M").lstrip("0")
        appointment.end_label = appointment.end_time.strftime("%I:%M %p").lstrip("0")
        appointment.day_url = (
            day_url.replace("0000-00-00", appointment.date.isoformat()) + f"#appointment-{appointment.pk}"
        )
    for session in sessions:
        session.start_label = session.start_time.strftime("%I:%M").lstrip("0")  # type: ignore[attr-defined]
        session.end_label = session.end_time.strftime("%I:%M %p").lstrip("0")  # type: ignore[attr-defined]
    context = {
        "week": week,
        "days": list(zip(week, lanes, strict=True)),
        "rows": rows,
        "clinician": clinician,
        "clinician_choices": selectors.clinicians(),
        "previous": monday - datetime.timedelta(days=7),
        "following": monday + datetime.timedelta(days=7),
        "today": timezone.localdate(),
    }
    return render(request, "scheduling/calendar_week.html", context, status=_status(filters, request))


@require_GET
def patient_picker(request: ClinicRequest) -> HttpResponse:
    """Search-as-you-type for the booking dialog: a short list of matching active patients."""
    _require(permissions.can_book_appointments(request.user))
    form = PatientPickerForm(request.GET)
    term = form.cleaned_data["q"] if form.is_valid() else ""
    patients, suggestions = [], []
    if len(term) >= 2:
        try:
            found = patient_selectors.patient_list(user=request.user, filters={"search": term, "is_active": "true"})
            patients = list(found[:8])
        except ValidationError:  # text the search box refuses (a NUL byte, say): nothing matches it
            found = None
        if found is not None and len(patients) < patient_selectors.DID_YOU_MEAN_BELOW:
            exclude = [patient.pk for patient in patients]
            suggestions = patient_selectors.did_you_mean(user=request.user, text=term, exclude=exclude)
        # Names, numbers and birth dates of the matches (and suggestions): a patient search like the list's.
        patient_services.record_patient_search(
            actor=request.user,
            params={"search": term},
            results=len(patients),
            results_exact=len(patients) < 8,
            channel="booking_picker",
            filter_names=[],
        )
    context = {"patients": patients, "suggestions": suggestions, "term": term}
    return render(request, "scheduling/_patient_picker.html", context)


def _form_errors(form, exc: ValidationError) -> None:
    for field, errors in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


@require_POST
def appointment_preview(request: ClinicRequest) -> HttpResponse:
    """The dates a series would book, with moves and conflicts (htmx fragment); nothing is saved."""
    _require(permissions.can_book_appointments(request.user))
    form = AppointmentForm(request.POST, user=request.user)
    occurrences = None
    if form.is_valid():
        if not form.is_series:
            form.add_error("frequency", "Choose weekly or monthly to preview a series.")
        else:
            try:
                occurrences = services.preview_series(form.series_request())
            except ValidationError as exc:
                _form_errors(form, exc)
    context: dict[str, Any] = {"form": form, "occurrences": occurrences}
    if occurrences:
        context["asked"] = len(occurrences)
        context["to_book"] = sum(1 for occ in occurrences if not occ.skipped)
        context["collisions"] = sum(1 for occ in occurrences if occ.collided)
    return render(request, "scheduling/_series_preview.html", context)


@require_http_methods(["GET", "HEAD", "POST"])
def appointment_create(request: ClinicRequest) -> HttpResponse:
    """Book one appointment or a series. The calendar's dialog posts here with htmx; without JS it is a page."""
    _require(permissions.can_book_appointments(request.user))
    if request.method != "POST":
        choice = BookingChoiceForm(request.GET, user=request.user)
        choice.is_valid()  # what is missing or wrong is simply not chosen in advance
        day = choice.cleaned_data.get("date") or timezone.localdate()
        booking_form = _booking_form(request.user, day)
        context: dict[str, Any] = {"can_book": True, "booking_form": booking_form}
        patient = choice.cleaned_data.get("patient")
        if patient is not None:
            booking_form.initial["patient"] = patient.pk
            context["chosen_patient"] = patient
        template = "scheduling/_booking_form.html" if request.htmx else "scheduling/appointment_new.html"
        return render(request, template, context)
    form = AppointmentForm(request.POST, user=request.user)
    conflicts = None
    pending_warnings: list[str] = []
    if form.is_valid():
        data = form.cleaned_data
        try:
            # Warn before saving, not after: the form comes back with the warnings and a box to tick.
            if not data["acknowledge_warnings"]:
                pending_warnings = _warnings_before_booking(form)
            if pending_warnings:
                form.add_error(
                    "acknowledge_warnings", "Read the authorization warnings, then tick the box to book anyway."
                )
            elif form.is_series:
                series = services.create_series(
                    actor=request.user, request=form.series_request(), override_reason=data["override_reason"]
                )
                messages.success(request, series_booked_message(series))
                _warn(request, getattr(series, "authorization_warnings", []))
            else:
                appointment = services.book_appointment(
                    actor=request.user, patient=data["patient"], service_type=data["service_type"], date=data["date"],
                    start_time=data["start_time"], duration_minutes=data["duration_minutes"],
                    clinician=data["clinician"], notes=data.get("notes", ""), override_reason=data["override_reason"],
                )  # fmt: skip
                messages.success(
                    request,
                    f"Booked {appointment.service_type.code} on {appointment.date:%m/%d/%Y} "
                    f"at {appointment.start_time:%I:%M %p}.",
                )
                _warn(request, getattr(appointment, "authorization_warnings", []))
            if not pending_warnings:
                return _redirect_after_booking(request, data["date"])
        except ValidationError as exc:
            _form_errors(form, exc)
        except services.SchedulingConflict as exc:
            form.add_error(None, exc.message)
            conflicts = exc.conflicts
        except PermissionDenied as exc:
            form.add_error("override_reason", str(exc))
    context = {
        "can_book": True, "booking_form": form, "conflicts": conflicts, "pending_warnings": pending_warnings,
    }  # fmt: skip
    template = "scheduling/_booking_form.html" if request.htmx else "scheduling/appointment_new.html"
    return render(request, template, context)


def series_booked_message(series: AppointmentSeries) -> str:
    """ "Booked 5 of 6 appointments asked (...): Mon 12/28 moved ..." — the count booked against the count asked."""
    # Set by services.create_series on the series it returns.
    booked, asked = getattr(series, "booked_count", 0), getattr(series, "asked_count", 0)
    collisions = getattr(series, "collisions", [])
    text = f"Booked {booked} appointment{pluralize(booked)} ({series})."
    if booked != asked:
        text = f"Booked {booked} of {asked} appointments asked ({series})."
        notes = [f"{occ.moved_from:%a %m/%d} {occ.note}" for occ in collisions]
        skipped = asked - booked - len(collisions)
        if skipped:
            notes.append(f"{skipped} date{pluralize(skipped)} skipped by choice")
        text += " " + "; ".join(notes) + "."
    return text


def _warnings_before_booking(form: AppointmentForm) -> list[str]:
    """The authorization warnings the booking would give (one line per kind), computed without saving."""
    data = form.cleaned_data
    if form.is_series:
        occurrences = services.preview_series(form.series_request())
        warnings = [warning for occ in occurrences if not occ.skipped for warning in occ.warnings]
    else:
        warnings = services.warnings_before_booking(
            patient=data["patient"], service_type=data["service_type"], date=data["date"],
            duration_minutes=data["duration_minutes"],
        )  # fmt: skip
    return summarize_warnings(warnings)


def summarize_warnings(warnings: list) -> list[str]:
    """One line per kind of authorization warning, naming the dates it concerns."""
    grouped: dict[tuple[str, int | None], list] = {}
    for warning in warnings:
        grouped.setdefault((warning.code, warning.authorization), []).append(warning)
    lines = []
    for group in grouped.values():
        if len(group) == 1:
            lines.append(group[0].message)
        else:
            dates = ", ".join(f"{w.date:%m/%d}" for w in group)
            lines.append(f"{group[-1].subject} on {len(group)} dates: {dates}.")
    return lines


def _warn(request: ClinicRequest, warnings: list) -> None:
    for line in summarize_warnings(warnings):
        messages.warning(request, line)


def _redirect_after_booking(request: ClinicRequest, day: datetime.date) -> HttpResponse:
    url = reverse("scheduling:day", kwargs={"day": day.isoformat()})
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)


def _status_saved_text(appointment: Appointment) -> str:
    """The confirmation of a status change: it names the patient (initial, last name, number) and the time."""
    return (
        f"{rendering.initial_and_last(appointment.patient)} ({appointment.patient.patient_number}) "
        f"at {appointment.start_time.strftime('%I:%M %p').lstrip('0')}: {appointment.get_status_display()} saved."
    )


@require_POST
def appointment_status(request: ClinicRequest, pk: int) -> HttpResponse:
    """Change the status inline from the day view (htmx swaps the row) or from a plain form."""
    appointment = get_appointment_for_user(request.user, pk, write=True)
    form = StatusForm(request.POST)
    error = None
    warnings: list = []
    if form.is_valid():
        try:
            appointment = services.set_status(
                actor=request.user, appointment=appointment, status=form.cleaned_data["status"],
                reason=form.cleaned_data["reason"],
            )  # fmt: skip
            warnings = summarize_warnings(getattr(appointment, "authorization_warnings", []))
        except ValidationError as exc:
            error = " ".join(message for messages_ in exc.message_dict.values() for message in messages_)
        except DomainError as exc:
            error = exc.message
    else:
        error = "Choose a valid status."
    if request.htmx:
        appointment.refresh_from_db()
        _prepare_rows([appointment])
        # The form again and, once saved, one confirmation naming the patient in the page's live region.
        context = {
            "appointment": appointment,
            "error": error,
            "saved": not error,
            "text": "" if error else " ".join([_status_saved_text(appointment), *warnings]),
            "level": "warning" if warnings else "success",
        }
        return render(request, "scheduling/_status_saved.html", context)
    if error:
        messages.error(request, error)
    else:
        _prepare_rows([appointment])
        messages.success(request, _status_saved_text(appointment))
        for line in warnings:
            messages.warning(request, line)
    return redirect(appointment.get_absolute_url())


@require_http_methods(["GET", "HEAD", "POST"])
def appointment_edit(request: ClinicRequest, pk: int) -> HttpResponse:
    appointment = get_appointment_for_user(request.user, pk, write=True)
    form = AppointmentEditForm(request.POST or None, appointment=appointment, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            changed = services.update_appointment(
                actor=request.user, appointment=appointment, changes=form.changes(),
                scope=form.cleaned_data.get("scope") or "this", override_reason=form.cleaned_data["override_reason"],
            )  # fmt: skip
        except ValidationError as exc:
            _form_errors(form, exc)
        except services.SchedulingConflict as exc:
            form.add_error(None, exc.message)
        except PermissionDenied as exc:
            form.add_error("override_reason", str(exc))
        else:
            messages.success(request, f"Saved {len(changed)} appointment{pluralize(len(changed))}.")
            _warn(request, [warning for target in changed for warning in getattr(target, "authorization_warnings", [])])
            return redirect(reverse("scheduling:day", kwargs={"day": form.cleaned_data["date"].isoformat()}))
    history = appointment.status_history.select_related("changed_by")
    context = {"form": form, "appointment": appointment, "history": history, "appointment_reminders": None}
    if permissions.can_view_reminder_results(request.user):
        context["appointment_reminders"] = reminder_selectors.for_appointments(request.user, [appointment.pk]).get(
            appointment.pk, []
        )
        context["reminder_horizon"] = max(reminder_conf.offsets_hours(), default=0)
    return render(request, "scheduling/appointment_form.html", context)


@require_http_methods(["GET", "HEAD", "POST"])
def series_cancel(request: ClinicRequest, pk: int) -> HttpResponse:
    """ "Cancel future appointments" of a series: a confirmation page says how many and asks for a reason."""
    _require(permissions.can_change_series(request.user))
    series = (
        AppointmentSeries.objects.visible_to(request.user)
        .select_related("patient", "service_type")
        .filter(pk=pk)
        .first()
    )
    if series is None:
        raise Http404("No such series.")
    future = list(services.future_occurrences(series))
    form = CancelSeriesForm(request.POST or None, initial={"by": "clinic"})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if data["expected_count"] is not None and data["expected_count"] != len(future):
            form.add_error(None, "The series changed while you were looking: check the appointments again.")
        else:
            try:
                count = services.cancel_series(
                    actor=request.user, series=series, by_patient=data["by"] == "patient", reason=data["reason"]
                )
            except ValidationError as exc:
                _form_errors(form, exc)
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(
                    request,
                    f"Series cancelled: {count} future appointment{pluralize(count)} cancelled. "
                    "Past ones are unchanged.",
                )
                return redirect(series.patient)
    context = {"series": series, "future": future, "form": form, "expected_count": len(future)}
    return render(request, "scheduling/series_cancel.html", context)


@require_http_methods(["GET", "HEAD", "POST"])
def closed_days(request: ClinicRequest) -> HttpResponse:
    """Upcoming closed days, and closing the clinic on a date: what is booked that day is listed first and
    cancelled (as cancelled by the clinic) only on confirmation, in the same transaction as the closure."""
    _require(permissions.can_manage_closed_days(request.user))
    form = ClosedDayForm(request.POST or None)
    booked: list[Appointment] = []
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        booked = list(selectors.open_appointments_on(data["date"]))
        try:
            if booked and not data["cancel_appointments"]:
                # Not an error yet: the first step shows what closing the day would cancel.
                if data["expected"] is not None:
                    form.add_error("cancel_appointments", "Tick the box to cancel them, or choose another date.")
            else:
                closed_day, cancelled = services.add_closed_day(
                    date=data["date"], reason=data["reason"], by=request.user,
                    cancel_appointments=data["cancel_appointments"], expected=data["expected"],
                )  # fmt: skip
                count = len(cancelled)
                messages.success(
                    request,
                    f"The clinic is closed on {closed_day.date:%m/%d/%Y} ({closed_day.reason})"
                    + (f": {count} appointment{pluralize(count)} cancelled by the clinic." if count else "."),
                )
                return redirect("scheduling:closed-days")
        except ValidationError as exc:
            _form_errors(form, exc)
            booked = list(selectors.open_appointments_on(data["date"]))
    if booked:
        rendering.prepare_rows(booked)
    today = timezone.localdate()
    context = {
        "form": form,
        "booked": booked,
        # The ids shown, sent back with the confirmation: if the day changed meanwhile, it is shown again.
        "expected_ids": ",".join(str(appointment.pk) for appointment in booked),
        "closed_days": ClosedDay.objects.filter(date__gte=today - datetime.timedelta(days=31)).order_by("date"),
    }
    return render(request, "scheduling/closed_days.html", context)
