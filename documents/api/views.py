from django.http import Http404, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import DocumentPermissions
from documents import selectors, services
from documents.api.serializers import DocumentSerializer, UpdateDocumentInputSerializer, UploadDocumentInputSerializer
from documents.models import Document
from documents.responses import file_response
from documents.uploads import too_large_message, upload_was_too_large
from patients import selectors as patient_selectors
from patients.models import Patient
from spectrum.api import ObjectJSONParser


def _patient(request: Request, pk: int) -> Patient:
    patient = patient_selectors.patients_visible_to(request.user).filter(pk=pk).first()
    if patient is None:
        raise Http404("No such patient.")
    return patient


class PatientDocumentList(generics.ListAPIView):
    """A patient's documents (newest first; clinical categories only for clinical roles); POST uploads one
    as multipart (``file``, ``category``, ``title``, optional ``document_on`` and ``expires_on``)."""

    serializer_class = DocumentSerializer
    permission_classes = [DocumentPermissions]
    parser_classes = [MultiPartParser, FormParser]
    filter_backends: list = []

    def get_queryset(self):
        patient = _patient(self.request, self.kwargs["pk"])
        return selectors.documents_visible_to(self.request.user).filter(patient=patient).order_by("-created_at", "-id")

    @extend_schema(request={"multipart/form-data": UploadDocumentInputSerializer}, responses={201: DocumentSerializer})
    def post(self, request: Request, pk: int) -> Response:
        patient = _patient(request, pk)
        submitted = request.data  # parsing runs the upload handlers, which mark a file past the limit
        if upload_was_too_large(request._request):
            raise ValidationError({"file": [too_large_message()]})
        serializer = UploadDocumentInputSerializer(data=submitted, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        document = services.upload_document(
            actor=request.user,
            patient=patient,
            upload=data["file"],
            filename=data["file"].name,
            category=data["category"],
            title=data["title"],
            document_on=data.get("document_on"),
            expires_on=data.get("expires_on"),
        )
        return Response(DocumentSerializer(document).data, status=status.HTTP_201_CREATED)


class PatientDocumentDetail(APIView):
    """One document's description: PATCH changes its category, title or dates; DELETE soft-deletes it
    (administrators; the file is kept until the retention purge)."""

    permission_classes = [DocumentPermissions]
    parser_classes = [ObjectJSONParser, MultiPartParser, FormParser]
    serializer_class = DocumentSerializer

    def _document(self, request: Request, pk: int, document_pk: int) -> Document:
        patient = _patient(request, pk)
        document = selectors.documents_visible_to(request.user).filter(patient=patient, pk=document_pk).first()
        if document is None:
            raise Http404("No such document.")
        return document

    @extend_schema(responses={200: DocumentSerializer})
    def get(self, request: Request, pk: int, document_pk: int) -> Response:
        return Response(DocumentSerializer(self._document(request, pk, document_pk)).data)

    @extend_schema(request=UpdateDocumentInputSerializer, responses={200: DocumentSerializer})
    def patch(self, request: Request, pk: int, document_pk: int) -> Response:
        document = self._document(request, pk, document_pk)
        serializer = UpdateDocumentInputSerializer(data=request.data, context={"request": request}, partial=True)
        serializer.is_valid(raise_exception=True)
        document = services.update_document(actor=request.user, document=document, data=dict(serializer.validated_data))
        return Response(DocumentSerializer(document).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: int, document_pk: int) -> Response:
        document = self._document(request, pk, document_pk)
        services.delete_document(actor=request.user, document=document)
        return Response(status=status.HTTP_204_NO_CONTENT)


class DocumentDownload(APIView):
    """The document's file, decrypted (``Content-Disposition: attachment``); every download is audited."""

    permission_classes = [DocumentPermissions]

    @extend_schema(
        responses={
            (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="The file."),
            (200, "image/jpeg"): OpenApiResponse(OpenApiTypes.BINARY, description="The file."),
            (200, "image/png"): OpenApiResponse(OpenApiTypes.BINARY, description="The file."),
        }
    )
    def get(self, request: Request, pk: int) -> StreamingHttpResponse:
        document = selectors.document_for(request.user, pk)
        if document is None:
            raise Http404("No such document.")
        chunks = services.open_document(actor=request.user, document=document, download=True, channel="api")
        return file_response(document, chunks, download=True)
