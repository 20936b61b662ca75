from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, viewsets

from accounts.permissions import AuthorizationPermissions
from authorizations import selectors, services
from authorizations.api.serializers import AuthorizationSerializer
from authorizations.filters import AuthorizationFilter
from authorizations.models import Authorization


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("patient", OpenApiTypes.INT),
            OpenApiParameter("status", OpenApiTypes.STR, enum=Authorization.Status.values),
            OpenApiParameter("service_type", OpenApiTypes.INT),
            OpenApiParameter("payer", OpenApiTypes.STR),
            OpenApiParameter("expiring_within_days", OpenApiTypes.INT),
        ]
    )
)
class AuthorizationViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):  # fmt: skip
    """Insurance authorizations. ``units_used``, ``units_scheduled``, ``units_remaining`` and ``status`` are
    derived from appointments, never written."""

    serializer_class = AuthorizationSerializer
    permission_classes = [AuthorizationPermissions]
    filterset_class = AuthorizationFilter

    def get_queryset(self):
        return selectors.listing(self.request.user).order_by("end_date", "id")

    def _save(self, serializer: AuthorizationSerializer, authorization: Authorization | None) -> None:
        data = dict(serializer.validated_data)
        service_types = data.pop("service_types", None)
        if service_types is None:
            service_types = list(authorization.service_types.all()) if authorization else []
        # Refusals (Django's ValidationError, PermissionDenied) become 400/403 in spectrum.api.exception_handler.
        saved = services.save_authorization(
            actor=self.request.user, data=data, service_types=service_types, authorization=authorization
        )
        serializer.instance = selectors.with_usage(Authorization.objects.filter(pk=saved.pk)).get()

    def perform_create(self, serializer: AuthorizationSerializer) -> None:
        self._save(serializer, None)

    def perform_update(self, serializer: AuthorizationSerializer) -> None:
        self._save(serializer, Authorization.objects.get(pk=serializer.instance.pk))
