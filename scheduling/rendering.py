"""The day view's rows, built in Python.

A busy day lists dozens of rows with a form and a nine-option select each; through the template engine
that cost most of the page's time. The markup is the same as a template would give, escaped by
format_html. Used for the day page and for the row htmx swaps back after a status change.
"""

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from scheduling.models import Appointment, clinic_now
from spectrum.links import url_maker

ROW = (
    '<tr id="appointment-{pk}" class="status-{status}" data-status-row>'
    '<td class="nowrap">{start}–{end}</td>'
    '<td class="cell-patient"><a href="{patient_url}">{last}, {first}</a> '
    '<span class="muted small">{number}</span></td>'
    '<td><span class="service-dot" data-color="{color}"></span>{code}{recurring}</td>'
    "<td>{clinician}</td>"
    '<td class="nowrap">{minutes} min</td>'
    "<td>{status_cell}</td>"
    "<td>{edit}</td>"
    "</tr>"
)
RECURRING = mark_safe(' <span title="Recurring" aria-label="recurring">↻</span>')  # a constant, no input
# A change is saved only on an explicit choice: the Save button, or Enter in the select
# (static/js/status_controls.js). Arrow keys and the select's change event save nothing.
STATUS_FORM = (
    '<form method="post" action="{url}" class="inline-form status-form" hx-post="{url}" hx-trigger="submit" '
    'hx-target="this" hx-swap="outerHTML" data-status="{status}">'
    '<input type="hidden" name="csrfmiddlewaretoken" value="{csrf}">'
    '<select name="status" id="status-{pk}" aria-label="Status of {first_initial} {last} at {start}" '
    'class="status-select">{options}</select>'
    '<button type="submit" class="btn btn-small status-save" aria-label="Save status of {first_initial} {last}">'
    "Save</button>"
    "{saved}{error}</form>"
)
SAVED = mark_safe('<span class="status-saved" aria-hidden="true">✓ Saved</span>')  # a constant, no input
# The one place the confirmation appears: above the list, never over the controls, replaced (not piled up).
LIVE_REGION = (
    '<div id="status-live" class="status-live status-live-{level}" hx-swap-oob="true" role="status">{text}</div>'
)


def initial_and_last(patient) -> str:
    """How the calendar names a patient: first initial and last name ("R. Rivera"), told apart from another Ryan."""
    return f"{patient.first_name[:1]}. {patient.last_name}" if patient.first_name else patient.last_name


def status_form(
    appointment: Appointment, *, csrf_token: str, error: str | None = None, saved: bool = False
) -> SafeString:
    """The status control of one appointment (day view and dashboard); htmx swaps it back after a save."""
    patient = appointment.patient
    return format_html(
        STATUS_FORM,
        url=appointment.status_url,
        csrf=csrf_token,
        pk=appointment.pk,
        status=appointment.status,
        first_initial=f"{patient.first_name[:1]}." if patient.first_name else "",
        last=patient.last_name,
        start=appointment.start_label,
        options=appointment.status_options,
        saved=SAVED if saved else "",
        error=format_html('<div class="field-error" role="alert">{}</div>', error) if error else "",
    )


def live_region(text: str, *, level: str = "success") -> SafeString:
    """The status confirmation, swapped out of band into the page's one live region."""
    return format_html(LIVE_REGION, text=text, level=level)


def appointment_row(
    appointment: Appointment, *, can_mark: bool, csrf_token: str, error: str | None = None
) -> SafeString:
    """One row; ``appointment`` carries the links and options set by ``scheduling.views._prepare_rows``."""
    patient = appointment.patient
    if can_mark:
        status_cell = status_form(appointment, csrf_token=csrf_token, error=error)
        edit = format_html('<a href="{}" class="link-quiet">Edit</a>', appointment.edit_url)
    else:
        status_cell, edit = appointment.get_status_display(), ""
    return format_html(
        ROW,
        pk=appointment.pk,
        status=appointment.status,
        start=appointment.start_label,
        end=appointment.end_label,
        patient_url=appointment.patient_url,
        last=patient.last_name,
        first=patient.first_name,
        number=patient.patient_number,
        color=appointment.service_type.color,
        code=appointment.service_type.code,
        recurring=RECURRING if appointment.series_id else "",
        clinician=str(appointment.clinician) if appointment.clinician_id else "—",
        minutes=appointment.duration_minutes,
        status_cell=status_cell,
        edit=edit,
    )


def appointment_rows(appointments, *, can_mark: bool, csrf_token: str) -> SafeString:
    return format_html_join(
        "", "{}", ((appointment_row(a, can_mark=can_mark, csrf_token=csrf_token),) for a in appointments)
    )


def status_options(status: str, started: bool) -> SafeString:
    """The <option>s of a status select: the current one selected, outcomes disabled before the start."""
    allowed = Appointment.Status.values if started else [
        value for value in Appointment.Status.values if value not in Appointment.OUTCOME_STATUSES
    ]  # fmt: skip
    return format_html_join(
        "",
        '<option value="{}"{}{}>{}</option>',
        (
            (value, " selected" if value == status else "", "" if value in allowed else " disabled", label)
            for value, label in Appointment.Status.choices
        ),
    )


def prepare_rows(appointments) -> None:
    """Work out each row's links and status choices once, in Python: the day view's cost is its rows.

    The options depend only on (status, started): built once per pair, not once per row.
    """
    now = clinic_now()
    status_url = url_maker("scheduling:appointment-status")
    edit_url = url_maker("scheduling:appointment-edit")
    patient_url = url_maker("patients:patient-detail")
    options: dict[tuple[str, bool], SafeString] = {}
    for appointment in appointments:
        started = appointment.has_started(now)
        key = (appointment.status, started)
        if key not in options:
            options[key] = status_options(*key)
        appointment.status_options = options[key]
        appointment.status_url = status_url(appointment.pk)
        appointment.edit_url = edit_url(appointment.pk)
        appointment.patient_url = patient_url(appointment.patient_id)
        # strftime, not the template's |time filter (which localises each call: slow for many rows).
        appointment.start_label = appointment.start_time.strftime("%I:%M %p").lstrip("0")
        appointment.end_label = appointment.end_time.strftime("%I:%M %p").lstrip("0")
