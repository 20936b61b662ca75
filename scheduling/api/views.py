from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import AppointmentPermissions, SeriesPermissions, ServiceTypePermissions
from scheduling import selectors, services
from scheduling.api.serializers import (
    AppointmentSerializer,
    CancelSeriesInputSerializer,
    SeriesInputSerializer,
    SeriesSerializer,
    ServiceTypeSerializer,
    StatusInputSerializer,
    occurrence_as_dict,
)
from scheduling.filters import AppointmentFilter, CalendarFilter, SeriesFilter, ServiceTypeFilter, calendar_period
from scheduling.models import AppointmentSeries, ServiceType


class ServiceTypeViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):  # fmt: skip
    """Service types: read for every role, write for administrators. Retire one with ``is_active: false``."""

    serializer_class = ServiceTypeSerializer
    permission_classes = [ServiceTypePermissions]
    queryset = ServiceType.objects.order_by("code")
    filterset_class = ServiceTypeFilter


class AppointmentViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):  # fmt: skip
    """Appointments. ``PATCH {"status": …}`` marks attendance; other edits of a series occurrence take
    ``scope=this|following|all``. A conflict answers 409 with the conflicting appointment's id unless
    ``override_reason`` is given by a role that may override. Cancel by status; nothing is deleted.
    """

    serializer_class = AppointmentSerializer
    permission_classes = [AppointmentPermissions]
    filterset_class = AppointmentFilter
    ordering_fields = ["date", "start_time", "status"]

    def get_queryset(self):
        return (
            selectors.appointments_visible_to(self.request.user)
            .select_related("service_type")
            .order_by("date", "start_time", "id")
        )

    def perform_create(self, serializer: AppointmentSerializer) -> None:
        data = serializer.validated_data
        serializer.instance = services.book_appointment(
            actor=self.request.user, patient=data["patient"],
            service_type=data["service_type"], date=data["date"], start_time=data["start_time"],
            duration_minutes=data.get("duration_minutes"), clinician=data.get("clinician"),
            notes=data.get("notes", ""), override_reason=data.get("override_reason", ""),
        )  # fmt: skip

    @extend_schema(
        parameters=[OpenApiParameter("scope", OpenApiTypes.STR, enum=list(services.SCOPES))],
        description="With only `status` (and `reason`) in the body: marks attendance / changes the status.",
    )
    def partial_update(self, request: Request, *args, **kwargs) -> Response:
        if set(request.data) and set(request.data) <= {"status", "reason"}:
            appointment = self.get_object()
            data = StatusInputSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            appointment = services.set_status(actor=request.user, appointment=appointment, **data.validated_data)
            return Response(self.get_serializer(appointment).data)
        return super().partial_update(request, *args, **kwargs)

    def perform_update(self, serializer: AppointmentSerializer) -> None:
        data = dict(serializer.validated_data)
        if "status" in self.request.data:
            raise ValidationError({"status": ['Change the status on its own: PATCH {"status": …}.']})
        override_reason = data.pop("override_reason", "")
        if data.get("patient", serializer.instance.patient) != serializer.instance.patient:
            raise ValidationError({"patient": ["An appointment cannot move to another patient; book a new one."]})
        data.pop("patient", None)
        scope = self.request.query_params.get("scope") or self.request.data.get("scope") or "this"
        changed = services.update_appointment(
            actor=self.request.user, appointment=serializer.instance, changes=data,
            scope=scope, override_reason=override_reason,
        )  # fmt: skip
        serializer.instance = changed[0]
        # The response reports every warning of the edit (a series edit changes several appointments).
        serializer.instance.authorization_warnings = [
            warning for target in changed for warning in getattr(target, "authorization_warnings", [])
        ]


class AppointmentSeriesViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """Recurring series: create all occurrences at once (or none); preview first; cancel future ones."""

    serializer_class = SeriesSerializer
    permission_classes = [SeriesPermissions]
    filterset_class = SeriesFilter

    def get_queryset(self):
        return AppointmentSeries.objects.visible_to(self.request.user).order_by("-created_at")

    def _request(self, request: Request) -> tuple[services.SeriesRequest, str]:
        data = SeriesInputSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        override_reason = values.pop("override_reason")
        values["weekdays"] = tuple(values["weekdays"])
        values["skip_dates"] = tuple(values["skip_dates"])
        return services.SeriesRequest(**values), override_reason

    @extend_schema(request=SeriesInputSerializer, responses=SeriesSerializer)
    def create(self, request: Request, *args, **kwargs) -> Response:
        series_request, override_reason = self._request(request)
        series = services.create_series(actor=request.user, request=series_request, override_reason=override_reason)
        return Response(self.get_serializer(series).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=SeriesInputSerializer, responses=OpenApiTypes.OBJECT)
    @action(detail=False, methods=["post"])
    def preview(self, request: Request) -> Response:
        series_request, _ = self._request(request)
        occurrences = services.preview_series(request=series_request)
        return Response(
            {
                "count": sum(1 for occ in occurrences if not occ.skipped),
                "asked": len(occurrences),
                "collisions": sum(1 for occ in occurrences if occ.collided),
                "conflicts": sum(1 for occ in occurrences if occ.conflicts and not occ.skipped),
                "warnings": sum(1 for occ in occurrences if occ.warnings and not occ.skipped),
                "occurrences": [occurrence_as_dict(occ) for occ in occurrences],
            }
        )

    @extend_schema(
        request=CancelSeriesInputSerializer,
        responses=SeriesSerializer,
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        series = self.get_object()
        data = CancelSeriesInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.cancel_series(
            actor=request.user, series=series, by_patient=data.validated_data["by"] == "patient",
            reason=data.validated_data["reason"],
        )  # fmt: skip
        return Response(self.get_serializer(series).data)


class CalendarView(APIView):
    """Per-day counts for a month: ``total`` excludes cancellations, which appear only in ``by_status``."""

    permission_classes = [AppointmentPermissions]

    @extend_schema(
        parameters=[
            OpenApiParameter("month", OpenApiTypes.STR, description="YYYY-MM (default: this month)"),
            OpenApiParameter("clinician", OpenApiTypes.INT),
            OpenApiParameter("service_type", OpenApiTypes.INT),
        ],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request: Request) -> Response:
        # The calendar pages' own filters and period, with the same meaning: what is wrong is a 400.
        filterset = CalendarFilter(
            request.query_params, queryset=selectors.appointments_counted_for(request.user), request=request
        )
        period = calendar_period(request.query_params)
        if not filterset.is_valid() or not period.is_valid():
            raise ValidationError({**filterset.errors, **period.errors})
        month = period.period("month") or timezone.localdate()
        appointments = filterset.qs
        days = selectors.month_summary(appointments, month.year, month.month)
        return Response(
            {
                "month": f"{month:%Y-%m}",
                "days": [
                    {
                        "date": day["date"].isoformat(),
                        "total": day["total"],
                        "by_status": day["by_status"],
                        "recurring": day["recurring"],
                    }
                    for day in days
                ],
            }
        )
