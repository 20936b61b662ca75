from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts import permissions
from consents import selectors, services
from consents.forms import ConsentForm
from patients import selectors as patient_selectors
from spectrum.http import ClinicRequest


def _patient_for(user, pk: int):
    patient = patient_selectors.patients_visible_to(user).filter(pk=pk).first()
    if patient is None:
        raise Http404("No such patient.")
    return patient


@require_POST
def consent_create(request: ClinicRequest, pk: int) -> HttpResponse:
    """Record a consent given, refused or revoked (a new record each time: the history stays)."""
    patient = _patient_for(request.user, pk)
    if not permissions.can_record_consent(request.user, patient):
        raise PermissionDenied
    form = ConsentForm(request.POST)
    if form.is_valid():
        try:
            services.record_consent(actor=request.user, patient=patient, **form.cleaned_data)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
        else:
            messages.success(request, "Consent recorded.")
            return redirect(patient.get_absolute_url() + "#consents")
    context = {"patient": patient, "form": form, "consents": selectors.current_consents(patient)}
    return render(request, "consents/consent_form.html", context, status=400)
