"""Documents on the patient page: upload, view inline, download, thumbnails, delete; and the face sheet PDF."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods, require_POST

from accounts import permissions
from documents import facesheet, selectors, services
from documents.forms import DocumentUploadForm
from documents.models import Document
from documents.responses import document_headers, file_response
from documents.uploads import too_large_message, upload_was_too_large
from patients import selectors as patient_selectors


def visible_patient_or_404(user, pk: int):
    """The patient ``pk`` if ``user`` may see it (else 404), by the same rule as the patient pages."""
    patient = patient_selectors.patients_visible_to(user).filter(pk=pk).first()
    if patient is None:
        raise Http404("No such patient.")
    return patient


def get_document_for_user(user, pk: int) -> Document:
    document = selectors.document_for(user, pk)
    if document is None:
        raise Http404("No such document.")
    return document


@require_POST
def document_upload(request: HttpRequest, pk: int) -> HttpResponse:
    patient = visible_patient_or_404(request.user, pk)
    if not permissions.can_upload_document_for(request.user, patient):
        raise PermissionDenied("Your role may not upload documents for this patient.")
    form = DocumentUploadForm(request.POST, request.FILES, categories=selectors.categories_for_upload(request.user))
    if upload_was_too_large(request):
        messages.error(request, too_large_message())
        return redirect(patient.get_absolute_url() + "#documents")
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.upload_document(
                actor=request.user,
                patient=patient,
                upload=data["file"],
                filename=data["file"].name,
                category=data["category"],
                title=data["title"],
                document_on=data["document_on"],
                expires_on=data["expires_on"],
            )
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        else:
            messages.success(request, "Document uploaded.")
    else:
        for field, errors in form.errors.items():
            label = form.fields[field].label if field in form.fields else ""
            for error in errors:
                messages.error(request, f"{label or field.replace('_', ' ').capitalize()}: {error}")
    return redirect(patient.get_absolute_url() + "#documents")


@require_http_methods(["GET", "HEAD"])
def document_view(request: HttpRequest, pk: int) -> HttpResponseBase:
    document = get_document_for_user(request.user, pk)
    # A PDF with scripts is downloaded, never shown: the browser's PDF engine would run them.
    download = request.GET.get("download") == "1" or document.has_active_content
    chunks = services.open_document(actor=request.user, document=document, download=download, channel="page")
    return file_response(document, chunks, download=download)


@require_http_methods(["GET", "HEAD"])
def document_thumbnail(request: HttpRequest, pk: int) -> HttpResponse:
    document = get_document_for_user(request.user, pk)
    if not document.thumbnail_name:
        raise Http404("No thumbnail.")
    response = HttpResponse(services.open_thumbnail(actor=request.user, document=document), content_type="image/jpeg")
    return document_headers(response)


@require_POST
def document_delete(request: HttpRequest, pk: int) -> HttpResponse:
    document = get_document_for_user(request.user, pk)
    services.delete_document(actor=request.user, document=document)  # PermissionDenied: 403
    messages.success(request, "Document deleted.")
    return redirect(document.patient.get_absolute_url() + "#documents")


@require_http_methods(["GET", "HEAD"])
def face_sheet(request: HttpRequest, pk: int) -> HttpResponse:
    patient = visible_patient_or_404(request.user, pk)
    if not permissions.can_view_face_sheet(request.user, patient):
        raise PermissionDenied
    pdf = facesheet.face_sheet_pdf(actor=request.user, patient=patient)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="face-sheet-{patient.patient_number}.pdf"'
    return document_headers(response)
