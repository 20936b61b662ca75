"""The patient list's rows, sort links and filter fields, built in Python.

Search-as-you-type re-renders the list on every pause in typing; through the template engine its rows
were half of the request's time. The markup is what the template gave, every value escaped
(``html.escape``, which Django's escaping uses too).
"""

from collections.abc import Iterable
from datetime import date
from html import escape
from typing import Any

from django.http import QueryDict
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from patients.filters import PatientFilter
from patients.models import Patient, age_on
from spectrum.links import url_maker

ROW = (
    "<tr{inactive_class}>"
    '<td class="nowrap">{number}</td>'
    '<td><a class="row-link" href="{url}">{last}, {first}</a>{preferred}{inactive_badge}</td>'
    '<td class="nowrap">{born} <span class="muted">({age})</span></td>'
    '<td class="nowrap">{phone}</td>'
    "<td>{city}{state}</td>"
    "<td>{insurance}</td>"
    "</tr>"
)
# Constants, no input.
INACTIVE_CLASS = mark_safe(' class="is-inactive"')
INACTIVE_BADGE = mark_safe(' <span class="badge">Inactive</span>')
FILTER_FIELD = '<div class="field{error_class}"><label for="{id}">{label}</label>{widget}{errors}</div>'
# The errors' id is the one Django's widget names in aria-describedby.
FIELD_ERRORS = '<div id="{id}_error">{errors}</div>'
FIELD_ERROR = '<div class="field-error" role="alert">{}</div>'
SORT_LINK = '<a href="{url}" hx-get="{url}" hx-target="#results" hx-push-url="true"{aria_sort}>{label}{arrow}</a>'
SORT_STATES = {
    "ascending": (mark_safe(' aria-sort="ascending"'), " ▲"),
    "descending": (mark_safe(' aria-sort="descending"'), " ▼"),
    None: ("", ""),
}
INSURANCE_LABELS = dict(Patient.InsuranceType.choices)  # what get_insurance_type_display() shows
SORTABLE_COLUMNS = {
    "patient_number": "Number", "last_name": "Name", "date_of_birth": "Date of birth", "city": "City",
}  # fmt: skip


def patient_rows(patients: Iterable[dict[str, Any]]) -> SafeString:
    """The rows of patients given as dicts of ``selectors.LIST_COLUMNS``."""
    detail_url = url_maker("patients:patient-detail")
    today = timezone.localdate()
    # Every value in a row goes through escape(); format_html would do the same at twice the cost.
    return mark_safe("".join(patient_row(patient, detail_url(patient["id"]), today) for patient in patients))


def filter_fields(filterset: PatientFilter) -> SafeString:
    """The filter panel's fields (the search box has its own place), those the role may use.

    Their markup depends only on the role's form class and the filter values asked for (the search text
    has its own box), and most page loads ask for none: each combination is rendered once per process.
    """
    data = filterset.data
    role_key = (filterset.can_see_clinical, filterset.can_see_inactive)
    key = (role_key, tuple(tuple(data.getlist(name)) for name in filterset.filters if name != "search"))
    if (markup := _FILTER_PANELS.get(key)) is None:
        if len(_FILTER_PANELS) >= FILTER_PANEL_CACHE_SIZE:
            _FILTER_PANELS.clear()
        markup = _FILTER_PANELS[key] = _render_filter_fields(filterset)
    return markup


_FILTER_PANELS: dict[tuple, SafeString] = {}
FILTER_PANEL_CACHE_SIZE = 256


def _render_filter_fields(filterset: PatientFilter) -> SafeString:
    hidden = {"search", *filterset.refused_filters()}  # the search box has its own place
    parts = []
    for field in filterset.form:
        if field.name in hidden:
            continue
        errors = "".join(FIELD_ERROR.format(escape(str(error))) for error in field.errors)
        parts.append(
            FILTER_FIELD.format(
                error_class=" has-error" if errors else "",
                id=escape(field.id_for_label),
                label=escape(str(field.label)),
                widget=field.as_widget(),  # safe: Django's widget rendering escapes every value
                errors=FIELD_ERRORS.format(id=escape(field.auto_id), errors=errors) if errors else "",
            )
        )
    return mark_safe("\n".join(parts))


def sort_links(query: QueryDict, sort: str) -> dict[str, SafeString]:
    """The column headers: a link sorting by each column, the other way round for the current one."""
    links = {}
    for column, label in SORTABLE_COLUMNS.items():
        if sort == column:
            target, state = f"-{column}", "ascending"
        else:
            target, state = column, "descending" if sort == f"-{column}" else None
        params = query.copy()
        params["sort"] = target
        params.pop("page", None)
        aria_sort, arrow = SORT_STATES[state]
        links[column] = format_html(
            SORT_LINK, url=f"?{params.urlencode()}", aria_sort=aria_sort, label=label, arrow=arrow
        )
    return links


def patient_row(patient: dict[str, Any], url: str, today: date) -> str:
    """One row's markup, every value escaped."""
    active, preferred, born, state = (patient[key] for key in ("is_active", "preferred_name", "date_of_birth", "state"))
    return ROW.format(
        inactive_class="" if active else INACTIVE_CLASS,
        number=escape(patient["patient_number"]),
        url=escape(url),
        last=escape(patient["last_name"]),
        first=escape(patient["first_name"]),
        preferred=f' <span class="muted">“{escape(preferred)}”</span>' if preferred else "",
        inactive_badge="" if active else INACTIVE_BADGE,
        born=born.strftime("%m/%d/%Y"),
        age=age_on(born, today),
        phone=escape(patient["phone"]),
        city=escape(patient["city"]),
        state=f", {escape(state)}" if state else "",
        insurance=escape(INSURANCE_LABELS.get(patient["insurance_type"], patient["insurance_type"])),
    )
