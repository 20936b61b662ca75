"""What the calendar's rows show, worked out once in Python for the templates (``_day_rows.html``,
``_status_form.html``, the dashboard and the closed-days page).

The rows used to be built as HTML strings with format_html, because through the template engine they were
most of the day view's time. The rendered rows are now cached (``scheduling.day_cache``), so the template
only runs when a day changes (and once a minute for today): 50 rows take ~19 ms through the templates
against ~6 ms as format_html strings, paid once per day version, far below the 10% under load that would
justify the strings. See README.md "Calendar under load".
"""

from typing import Any

from scheduling.models import Appointment, clinic_now
from spectrum.links import url_maker


def initial_and_last(patient) -> str:
    """How the calendar names a patient: first initial and last name ("R. Rivera"), told apart from another Ryan."""
    return f"{patient.first_name[:1]}. {patient.last_name}" if patient.first_name else patient.last_name


def status_choices(status: str, started: bool) -> list[dict[str, Any]]:
    """The options of a status select: the current one selected, outcomes disabled before the start."""
    return [
        {
            "value": value,
            "label": label,
            "selected": value == status,
            "disabled": not started and value in Appointment.OUTCOME_STATUSES,
        }
        for value, label in Appointment.Status.choices
    ]


def prepare_rows(appointments) -> None:
    """Work out each row's links, labels and status choices once (the choices once per (status, started) pair)."""
    now = clinic_now()
    status_url = url_maker("scheduling:appointment-status")
    edit_url = url_maker("scheduling:appointment-edit")
    patient_url = url_maker("patients:patient-detail")
    choices: dict[tuple[str, bool], list[dict[str, Any]]] = {}
    for appointment in appointments:
        started = appointment.has_started(now)
        key = (appointment.status, started)
        if key not in choices:
            choices[key] = status_choices(*key)
        appointment.status_choices = choices[key]
        appointment.status_url = status_url(appointment.pk)
        appointment.edit_url = edit_url(appointment.pk)
        appointment.patient_url = patient_url(appointment.patient_id)
        first_name = appointment.patient.first_name
        appointment.first_initial = f"{first_name[:1]}." if first_name else ""
        # strftime, not the template's |time filter (which localises each call: slow for many rows).
        appointment.start_label = appointment.start_time.strftime("%I:%M %p").lstrip("0")
        appointment.end_label = appointment.end_time.strftime("%I:%M %p").lstrip("0")
