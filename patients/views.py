import datetime
from typing import Any

from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import EmptyPage, PageNotAnInteger
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import push_url

from accounts import permissions
from accounts.permissions import Actor
from accounts.reauth import reauth_required
from audit import selectors as audit_selectors
from audit.models import AuditEvent
from authorizations import selectors as authorization_selectors
from consents import selectors as consent_selectors
from consents.forms import ConsentForm
from documents import selectors as document_selectors
from documents.forms import DocumentUploadForm
from patients import selectors, services
from patients.filters import PAGE_SIZES
from patients.forms import PatientForm
from patients.models import Patient
from reminders import selectors as reminder_selectors
from scheduling import selectors as scheduling_selectors
from spectrum.outages import CACHE_ERRORS
from spectrum.pagination import KeysFirstPaginator

HISTORY_LIMIT = 25
FILTER_PANEL_SECONDS = 600


def get_patient_for_user(user: Actor, pk: int, *, write: bool = False) -> Patient:
    """The patient ``pk`` if ``user`` may see it (else 404), and change it when ``write`` (else 403)."""
    patient = selectors.patients_visible_to(user).filter(pk=pk).first()
    if patient is None:
        raise Http404("No such patient.")
    if write and not permissions.can_change_patient(user, patient):
        raise PermissionDenied("Your role may not change patients.")
    return patient


@require_http_methods(["GET", "HEAD"])
def patient_list(request: HttpRequest) -> HttpResponse:
    if not permissions.can_view_patients(request.user):
        raise PermissionDenied
    # One FilterSet per request: its form parses the filters, the sort and the page size; the panel shows its
    # fields and errors, and its queryset is the list.
    filterset = selectors.patient_filter(user=request.user, data=request.GET)
    valid = filterset.is_valid()
    sort = filterset.ordering if valid else selectors.DEFAULT_SORT
    page_size = (filterset.page_size if valid else None) or PAGE_SIZES[0]
    search = filterset.search_text if valid else request.GET.get("search", "")
    context = {
        "filterset": filterset,
        "errors": {} if valid else filterset.errors,
        "page": None,
        "suggestions": [],
        "columns": sort_columns(sort),
        "sort": sort,
        "page_size": page_size,
        "page_sizes": PAGE_SIZES,
        "search": search,
        "has_filters": filterset.has_filters(),
        "can_add": permissions.can_add_patient(request.user),
    }
    if valid:
        results = _results(request, filterset, context)
        services.record_patient_search(
            actor=request.user,
            params=request.GET,
            results=results["count"],
            results_exact=results["count_is_exact"],
            channel="page",
            page=results["number"],
            after=filterset.form.cleaned_data.get("after"),
            before=filterset.form.cleaned_data.get("before"),
        )
        context["results"] = results["html"]
    else:
        context["results"] = render_to_string("patients/_patient_results.html", context, request=request)
    if not request.htmx:
        context["filter_panel"] = filter_panel(request, context)
        return render(request, "patients/patient_list.html", context)
    response = HttpResponse(context["results"])
    # The address bar gets a short, bookmarkable URL: only the parameters that differ from the defaults.
    defaults = {"sort": selectors.DEFAULT_SORT, "page_size": "25", "page": "1"}
    kept = [(key, value) for key, value in request.GET.items() if value and defaults.get(key) != value]
    return push_url(response, f"{request.path}?{urlencode(kept)}" if kept else request.path)


def _results(request: HttpRequest, filterset: Any, context: dict[str, Any]) -> dict[str, Any]:
    """One page of the list, rendered (rows, count, pager, "Did you mean"), with what its audit entry records:
    from the cache until a list entry is written (``selectors.cached_list_page``). The audit entry is written
    for every request, cached or not."""
    user = request.user
    # What the role decides about the page (deactivated patients, clinical filters, export links, the
    # register link), the query as asked, and today (ages).
    flags = (
        filterset.can_see_clinical,
        filterset.can_see_inactive,
        permissions.can_export_data(user),
        context["can_add"],
    )
    query = urlencode(sorted(request.GET.lists()), doseq=True)
    scope = f"page:{''.join(str(int(flag)) for flag in flags)}:{timezone.localdate()}:{query}"

    def render_results() -> dict[str, Any]:
        paginator = KeysFirstPaginator(filterset.qs, context["page_size"], known_count=filterset.matches)
        if filterset.anchor is not None:  # a "Next" or "Previous" link of a list counted "1,000+"
            page = filterset.keyset_page(paginator)
        else:
            try:
                page = paginator.page(request.GET.get("page") or 1)
            except (EmptyPage, PageNotAnInteger):
                page = paginator.page(1)
        search = context["search"]
        for entry in page.object_list:
            entry.matched_on = selectors.matched_on(entry, search)
        suggestions = []
        if search and page.number == 1 and paginator.count < selectors.DID_YOU_MEAN_BELOW:
            listed = [entry.pk for entry in page.object_list]
            suggestions = selectors.did_you_mean(user=user, text=search, exclude=listed)
        html = render_to_string(
            "patients/_patient_results.html", {**context, "page": page, "suggestions": suggestions}, request=request
        )
        return {"html": html, "count": paginator.count, "count_is_exact": paginator.count_is_exact,
                "number": page.number}  # fmt: skip

    return selectors.cached_list_page(scope, render_results)


def filter_panel(request: HttpRequest, context: dict) -> str:
    """The filter panel's HTML. Its selects render a hundred options through Django's widget templates, about
    a third of the page's time; with no filter set (the usual visit) the panel depends only on the role, the
    sort and the page size, so it is kept in Django's cache under those. Rendered afresh when a filter is set
    (it then shows the values and their errors) or the cache is down.
    """

    def render_panel() -> str:
        return render_to_string("patients/_patient_filter_panel.html", context, request=request)

    if context["has_filters"]:
        return render_panel()
    filterset = context["filterset"]
    role = f"clinical={filterset.can_see_clinical}:inactive={filterset.can_see_inactive}"
    key = f"patients:filter-panel:{role}:{context['sort']}:{context['page_size']}"
    try:
        return cache.get_or_set(key, render_panel, FILTER_PANEL_SECONDS)
    except CACHE_ERRORS:
        return render_panel()


SORTABLE_COLUMNS = {"patient_number": "Number", "last_name": "Name", "date_of_birth": "Date of birth", "city": "City"}


def sort_columns(sort: str) -> dict[str, dict[str, str | None]]:
    """Each sortable column's header: its label, the sort its link asks for, and its aria-sort state."""
    columns = {}
    for column, label in SORTABLE_COLUMNS.items():
        if sort == column:
            target, state = f"-{column}", "ascending"
        else:
            target, state = column, "descending" if sort == f"-{column}" else None
        columns[column] = {"label": label, "target": target, "state": state}
    return columns


@require_http_methods(["GET", "HEAD"])
def patient_detail(request: HttpRequest, pk: int) -> HttpResponse:
    patient = get_patient_for_user(request.user, pk)
    services.record_patient_access(actor=request.user, patient=patient, channel="page")
    user = request.user
    hidden = permissions.patient_hidden_fields(user)
    history = None
    if permissions.can_view_change_history(user):
        history = (
            AuditEvent.objects.filter(patient_id=patient.pk)
            .exclude(action=AuditEvent.Action.ACCESS)
            .select_related("actor")
            .order_by("-timestamp")[:HISTORY_LIMIT]
        )
    access_history = None
    if permissions.can_view_access_history(user):
        access_history = audit_selectors.patient_access_history(patient.pk).select_related("content_type")[
            :HISTORY_LIMIT
        ]
    context = {
        "patient": patient,
        "show_clinical": "diagnosis" not in hidden,
        "show_ssn": "ssn_masked" not in hidden,
        "can_change": permissions.can_change_patient(user, patient),
        "can_deactivate": permissions.can_deactivate_patient(user, patient),
        "can_reactivate": permissions.can_reactivate_patient(user, patient),
        "history": history,
        "access_history": access_history,
        "schedule": scheduling_selectors.patient_schedule(user, patient),
        "patient_authorizations": authorization_selectors.for_patient(user, patient),
        "can_add_authorization": permissions.can_add_authorization_for(user, patient),
        "can_book": permissions.can_book_for_patient(user, patient),
        "can_view_face_sheet": permissions.can_view_face_sheet(user, patient),
        "patient_documents": document_selectors.patient_documents(user, patient),
        "can_delete_documents": permissions.can_delete_documents(user),
        "document_form": (
            DocumentUploadForm(categories=document_selectors.categories_for_upload(user))
            if permissions.can_upload_document_for(user, patient)
            else None
        ),
        **consent_context(user, patient),
        "patient_reminders": reminder_selectors.for_patient(user, patient)
        if permissions.can_view_reminder_results(user)
        else None,
    }
    return render(request, "patients/patient_detail.html", context)


def consent_context(user: Actor, patient: Patient) -> dict[str, Any]:
    """The patient page's consents: what stands, the history, and the form for those who record them."""
    if not permissions.can_view_patient_consents(user, patient):
        return {"consents": None}
    current = list(consent_selectors.current_consents(patient))
    soon = consent_selectors.clinic_today() + datetime.timedelta(days=30)
    return {
        "consents": current,
        "consent_history": list(consent_selectors.consents_for_patient(patient)),
        "expiring_ids": {c.pk for c in current if c.status == "given" and c.expires_on and c.expires_on <= soon},
        "consent_form": ConsentForm(initial={"recorded_on": consent_selectors.clinic_today()})
        if permissions.can_record_consent(user, patient)
        else None,
    }


def _save_patient(request: HttpRequest, form: PatientForm, patient: Patient | None) -> HttpResponse | None:
    """Run the service for a valid form; on a rule's refusal put the messages on the form and return None."""
    allow_duplicate = form.cleaned_data.get("confirm_duplicate", False)
    try:
        if patient is None:
            patient = services.create_patient(
                actor=request.user, data=form.patient_data(), allow_duplicate=allow_duplicate
            )
            messages.success(request, f"Patient {patient.patient_number} registered.")
        else:
            services.update_patient(
                actor=request.user, patient=patient, data=form.patient_data(), allow_duplicate=allow_duplicate
            )
            messages.success(request, "Changes saved.")
    except ValidationError as exc:
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
        return None
    except services.DuplicatePatientError as exc:
        form.duplicates = exc.likely
        form.add_error(None, exc.message)
        return None
    return redirect(patient)


@require_http_methods(["GET", "HEAD", "POST"])
def patient_create(request: HttpRequest) -> HttpResponse:
    if not permissions.can_add_patient(request.user):
        raise PermissionDenied
    form = PatientForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid() and (response := _save_patient(request, form, None)):
        return response
    return render(request, "patients/patient_form.html", {"form": form, "patient": None})


@require_http_methods(["GET", "HEAD", "POST"])
def patient_edit(request: HttpRequest, pk: int) -> HttpResponse:
    patient = get_patient_for_user(request.user, pk, write=True)
    form = PatientForm(request.POST or None, instance=patient, user=request.user)
    if request.method == "POST" and form.is_valid() and (response := _save_patient(request, form, patient)):
        return response
    # The form shows the whole record, clinical fields included: a read like the detail page's.
    services.record_patient_access(actor=request.user, patient=patient, channel="edit")
    return render(request, "patients/patient_form.html", {"form": form, "patient": patient})


@require_POST
@reauth_required
def patient_deactivate(request: HttpRequest, pk: int) -> HttpResponse:
    patient = get_patient_for_user(request.user, pk)
    services.deactivate_patient(actor=request.user, patient=patient)
    messages.success(
        request, f"Patient {patient.patient_number} deactivated. An administrator can reactivate the record."
    )
    if permissions.can_view_patient(request.user, patient):
        return redirect(patient)
    return redirect("patients:patient-list")


@require_POST
def patient_reactivate(request: HttpRequest, pk: int) -> HttpResponse:
    patient = get_patient_for_user(request.user, pk)
    services.reactivate_patient(actor=request.user, patient=patient)
    messages.success(request, f"Patient {patient.patient_number} reactivated.")
    return redirect(patient)
