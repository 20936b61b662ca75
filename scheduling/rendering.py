"""The day view's rows, built in Python.

A busy day lists dozens of rows with a form and a nine-option select each; through the template engine
that cost most of the page's time. The markup is the same as a template would give, escaped by
format_html. Used for the day page and for the row htmx swaps back after a status change.
"""

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from scheduling.models import Appointment

ROW = (
    '<tr id="appointment-{pk}" class="status-{status}">'
    '<td class="nowrap">{start}–{end}</td>'
    '<td><a href="{patient_url}">{last}, {first}</a> <span class="muted small">{number}</span></td>'
    '<td><span class="service-dot" data-color="{color}"></span>{code}{recurring}</td>'
    "<td>{clinician}</td>"
    '<td class="nowrap">{minutes} min</td>'
    "<td>{status_cell}</td>"
    "<td>{edit}</td>"
    "</tr>"
)
RECURRING = mark_safe(' <span title="Recurring" aria-label="recurring">↻</span>')  # a constant, no input
STATUS_FORM = (
    '<form method="post" action="{url}" class="inline-form" hx-post="{url}" hx-trigger="change" '
    'hx-target="closest tr" hx-swap="outerHTML">'
    '<input type="hidden" name="csrfmiddlewaretoken" value="{csrf}">'
    '<select name="status" aria-label="Status of {last} at {start}" class="status-select">{options}</select>'
    '<noscript><button type="submit" class="btn btn-small">Save</button></noscript>'
    "</form>{error}"
)


def appointment_row(
    appointment: Appointment, *, can_mark: bool, csrf_token: str, error: str | None = None
) -> SafeString:
    """One row; ``appointment`` carries the links and options set by ``scheduling.views._prepare_rows``."""
    patient = appointment.patient
    if can_mark:
        status_cell = format_html(
            STATUS_FORM,
            url=appointment.status_url,
            csrf=csrf_token,
            last=patient.last_name,
            start=appointment.start_label,
            options=appointment.status_options,
            error=format_html('<div class="field-error" role="alert">{}</div>', error) if error else "",
        )
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
