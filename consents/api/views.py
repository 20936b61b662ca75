from typing import cast

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import permissions
from accounts.models import User
from accounts.permissions import ConsentPermissions
from consents import selectors, services
from consents.api.serializers import ConsentSerializer, RecordConsentInputSerializer
from patients import selectors as patient_selectors
from patients.models import Patient


def _user(request: Request) -> User:
    """The signed-in user (ConsentPermissions lets no one else through)."""
    return cast(User, request.user)


class PatientConsentsView(APIView):
    """A patient's consent records, newest first (the whole history). POST records a new one: giving,
    refusing or revoking is always a new record, so revoking is POSTing ``status: revoked``."""

    permission_classes = [ConsentPermissions]

    def _patient(self, request: Request, patient_pk: int) -> Patient:
        patient = patient_selectors.patients_visible_to(request.user).filter(pk=patient_pk).first()
        if patient is None or not permissions.can_view_patient_consents(request.user, patient):
            raise Http404
        return patient

    @extend_schema(responses=ConsentSerializer(many=True))
    # ``id``: the patient's, as in /api/v1/patients/{id}/ (the schema names the parameter after it).
    def get(self, request: Request, id: int) -> Response:
        patient = self._patient(request, id)
        services.record_consents_viewed(actor=_user(request), patient=patient, channel="api")
        return Response(ConsentSerializer(selectors.consents_for_patient(patient), many=True).data)

    @extend_schema(request=RecordConsentInputSerializer, responses={201: ConsentSerializer})
    def post(self, request: Request, id: int) -> Response:
        patient = self._patient(request, id)
        if not permissions.can_record_consent(request.user, patient):
            raise PermissionDenied("Your role may not record consents.")
        data = RecordConsentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        consent = services.record_consent(actor=_user(request), patient=patient, **data.validated_data)
        return Response(ConsentSerializer(consent).data, status=status.HTTP_201_CREATED)
