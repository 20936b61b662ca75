from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.permissions import PatientPermissions
from patients import selectors, services
from patients.api.serializers import PatientListSerializer, PatientSerializer
from patients.filters import PatientFilter
from spectrum.api import PageNumberPagination
from spectrum.pagination import LargeTablePaginator


class PatientPagination(PageNumberPagination):
    """Counts stop at 1,000 and deep pages stay cheap (see spectrum.pagination). A page's rows are dicts of
    the columns the list shows: no encrypted column is read (nor decrypted), no model instance built."""

    def django_paginator_class(self, patients, page_size: int) -> LargeTablePaginator:
        return LargeTablePaginator(patients, page_size, fields=PatientListSerializer.columns())


def _truthy(value: object) -> bool:
    return str(value).lower() in {"1", "true", "yes", "on"}


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter(
                "ordering",
                OpenApiTypes.STR,
                description="last_name (default), first_name, "
                "patient_number, date_of_birth, city, created_at; prefix - for descending",
            ),
        ]
    ),
    create=extend_schema(parameters=[OpenApiParameter("allow_duplicate", OpenApiTypes.BOOL)]),
)
class PatientViewSet(viewsets.ModelViewSet):
    """Patients. DELETE deactivates (204); a deactivated patient is 404 except for administrators.

    A likely duplicate (same name and date of birth, or same SSN) answers 409 unless ``allow_duplicate=true``.
    """

    serializer_class = PatientSerializer
    permission_classes = [PatientPermissions]
    pagination_class = PatientPagination
    filter_backends = [DjangoFilterBackend]
    filterset_class = PatientFilter

    def get_queryset(self):
        return selectors.patients_visible_to(self.request.user)

    def get_serializer_class(self):
        return PatientListSerializer if self.action == "list" else PatientSerializer

    def filter_queryset(self, queryset):
        if self.action != "list":
            return queryset  # search and filters shape lists; a record is found by its id alone
        queryset = super().filter_queryset(queryset)
        ordering = self.request.query_params.get("ordering", "last_name")
        if ordering.lstrip("-") not in selectors.SORTABLE:
            raise ValidationError({"ordering": [f"Sort by one of: {', '.join(selectors.SORTABLE)}."]})
        return selectors.order_patients(queryset, ordering)

    def allow_duplicate(self) -> bool:
        return _truthy(self.request.query_params.get("allow_duplicate")) or _truthy(
            self.request.data.get("allow_duplicate", False)
        )

    def list(self, request: Request, *args, **kwargs) -> Response:
        rows = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        response = self.get_paginated_response(PatientListSerializer.rows(rows, user=request.user))
        # A search or filter is recorded once per request, with how many matched.
        page = self.paginator.page
        services.record_patient_search(
            actor=request.user,
            params=request.query_params,
            results=page.paginator.count,
            results_exact=page.paginator.count_is_exact,
            channel="api",
            page=page.number,
        )
        return response

    def retrieve(self, request: Request, *args, **kwargs) -> Response:
        patient = self.get_object()
        services.record_patient_access(actor=request.user, patient=patient, channel="api")
        return Response(self.get_serializer(patient).data)

    def update(self, request: Request, *args, **kwargs) -> Response:
        response = super().update(request, *args, **kwargs)
        # The answer holds the whole record: a read, whether or not anything changed.
        services.record_patient_access(actor=request.user, patient=self.get_object(), channel="api")
        return response

    def perform_create(self, serializer: PatientSerializer) -> None:
        serializer.instance = services.create_patient(
            actor=self.request.user,
            data=serializer.validated_data,
            allow_duplicate=self.allow_duplicate(),
        )

    def perform_update(self, serializer: PatientSerializer) -> None:
        serializer.instance = services.update_patient(
            actor=self.request.user,
            patient=serializer.instance,
            data=serializer.validated_data,
            allow_duplicate=self.allow_duplicate(),
        )

    def destroy(self, request: Request, *args, **kwargs) -> Response:
        services.deactivate_patient(actor=request.user, patient=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses=PatientSerializer)
    @action(detail=True, methods=["post"])
    def reactivate(self, request: Request, pk: str | None = None) -> Response:
        patient = services.reactivate_patient(actor=request.user, patient=self.get_object())
        return Response(self.get_serializer(patient).data)
