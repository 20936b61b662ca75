from typing import Any, cast

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from accounts.permissions import EnrollmentPermissions, GroupPermissions, GroupSessionPermissions
from audit import services as audit
from groups import selectors, services
from groups.api.serializers import (
    AddAttendeeInputSerializer,
    AttendanceInputSerializer,
    EndEnrollmentInputSerializer,
    EnrollmentSerializer,
    GroupSerializer,
    GroupSessionDetailSerializer,
    GroupSessionSerializer,
)
from groups.filters import AttendanceSheetForm, EnrollmentFilter, GroupFilter, GroupSessionFilter
from groups.models import Enrollment, GroupSession
from scheduling.api.serializers import AppointmentSerializer
from scheduling.models import clinic_now


def _actor(request: Request) -> User:
    """The signed-in user: the permission classes have refused anonymous requests already."""
    return cast(User, request.user)


class GroupViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):  # fmt: skip
    """Program groups. Creating one creates its sessions; a new time, length or clinician moves every
    session that has not started (and each attendee's appointment)."""

    serializer_class = GroupSerializer
    permission_classes = [GroupPermissions]
    filterset_class = GroupFilter

    def get_queryset(self):
        return selectors.groups_visible_to(self.request.user).order_by("program_session", "name")

    def perform_create(self, serializer: Any) -> None:
        data = dict(serializer.validated_data)
        data.pop("override_reason", None)
        serializer.instance = services.create_group(actor=_actor(self.request), data=data)

    def perform_update(self, serializer: Any) -> None:
        data = dict(serializer.validated_data)
        override_reason = data.pop("override_reason", "")
        serializer.instance = services.update_group(
            actor=_actor(self.request), group=serializer.instance, changes=data, override_reason=override_reason
        )


class EnrollmentViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """Enrollments: creating one books the patient into the group's sessions in its range that have not
    started (conflicts answer 409 unless ``override_reason``); ``end`` cancels later sessions only."""

    serializer_class = EnrollmentSerializer
    permission_classes = [EnrollmentPermissions]
    filterset_class = EnrollmentFilter

    def get_queryset(self):
        return selectors.enrollments_visible_to(self.request.user).order_by("group", "start_date", "id")

    def perform_create(self, serializer: Any) -> None:
        data = serializer.validated_data
        serializer.instance = services.enroll_patient(
            actor=_actor(self.request), group=data["group"], patient=data["patient"], start_date=data["start_date"],
            end_date=data.get("end_date"), override_reason=data.get("override_reason", ""),
        )  # fmt: skip

    @extend_schema(request=EndEnrollmentInputSerializer, responses=EnrollmentSerializer)
    @action(detail=True, methods=["post"])
    def end(self, request: Request, pk: str | None = None) -> Response:
        enrollment: Enrollment = self.get_object()
        data = EndEnrollmentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        cancelled = services.end_enrollment(actor=_actor(request), enrollment=enrollment, **data.validated_data)
        body = dict(self.get_serializer(enrollment).data)
        body["cancelled"] = cancelled
        return Response(body)


def _roster_context(view: Any, session: GroupSession) -> dict:
    roster = selectors.roster(view.request.user, session)
    audit.record(
        event="groups.roster.viewed", target=session, actor=view.request.user,
        data={"channel": "api", "patient_ids": [row.patient.pk for row in roster.rows]},
    )  # fmt: skip
    return {**view.get_serializer_context(), "roster": roster}


class GroupSessionViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """Group sessions with their attendee counts; the detail has the roster (``note`` for clinical roles).

    ``PUT …/attendance/`` saves a roster in one transaction (400 with per-appointment errors and nothing
    saved if any entry is wrong); ``POST …/sign/`` signs it; after that a change needs ``amendment_reason``.
    """

    permission_classes = [GroupSessionPermissions]
    filterset_class = GroupSessionFilter

    def get_queryset(self):
        return selectors.group_sessions_visible_to(self.request.user)

    def get_serializer_class(self):
        return GroupSessionSerializer

    def retrieve(self, request: Request, *args, **kwargs) -> Response:
        session = self.get_object()
        return Response(GroupSessionDetailSerializer(session, context=_roster_context(self, session)).data)

    def perform_create(self, serializer: Any) -> None:
        data = serializer.validated_data
        serializer.instance = services.create_session(
            actor=_actor(self.request), service_type=data["service_type"], date=data["date"],
            start_time=data["start_time"], clinician=data["clinician"], duration_minutes=data.get("duration_minutes"),
            program_session=data.get("program_session", ""), location=data.get("location", ""),
            capacity=data.get("capacity"), topic=data.get("topic", ""),
        )  # fmt: skip

    def _detail(self, session_pk: int) -> Response:
        session = self.get_queryset().get(pk=session_pk)
        return Response(GroupSessionDetailSerializer(session, context=_roster_context(self, session)).data)

    @extend_schema(request=AttendanceInputSerializer, responses=GroupSessionDetailSerializer)
    @action(detail=True, methods=["put"])
    def attendance(self, request: Request, pk: str | None = None) -> Response:
        session = self.get_object()
        data = AttendanceInputSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        values = data.validated_data
        services.save_attendance(
            actor=_actor(request), session=session, group_note=values.get("group_note"), topic=values.get("topic"),
            attendees=[services.AttendeeInput(**entry) for entry in values["attendees"]],
            amendment_reason=values["amendment_reason"],
        )  # fmt: skip
        return self._detail(session.pk)

    @extend_schema(request=None, responses=GroupSessionDetailSerializer)
    @action(detail=True, methods=["post"])
    def sign(self, request: Request, pk: str | None = None) -> Response:
        session = self.get_object()
        services.sign_session(actor=_actor(request), session=session)
        return self._detail(session.pk)

    @extend_schema(request=AddAttendeeInputSerializer, responses=AppointmentSerializer)
    @action(detail=True, methods=["post"])
    def attendees(self, request: Request, pk: str | None = None) -> Response:
        session = self.get_object()
        data = AddAttendeeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        appointment = services.add_attendee(actor=_actor(request), session=session, **data.validated_data)
        appointment.authorization_warnings = getattr(appointment, "group_warnings", [])  # type: ignore[attr-defined]
        return Response(AppointmentSerializer(appointment, context=self.get_serializer_context()).data,
                        status=status.HTTP_201_CREATED)  # fmt: skip


def sheet_as_dict(sheet: selectors.Sheet) -> dict:
    return {
        "program_session": sheet.program_session,
        "week": sheet.week,
        "days": [day.isoformat() for day in sheet.days],
        "patients": [
            {
                "patient": row.patient_id, "name": row.name, "patient_number": row.patient_number,
                "cells": [
                    {"date": c.day.isoformat(), "appointment": c.appointment_id, "status": c.status, "units": c.units,
                     "signed": c.is_signed}
                    for c in row.cells
                ],
                "days_present": row.days_present, "total_units": row.total_units,
            }
            for row in sheet.rows
        ],
        "totals": {"units": sheet.day_units, "present": sheet.day_present, "total_units": sheet.total_units},
    }  # fmt: skip


class AttendanceSheetView(APIView):
    """The weekly attendance sheet: patients × weekdays of one program session, status and units per cell."""

    permission_classes = [GroupSessionPermissions]

    @extend_schema(
        parameters=[
            OpenApiParameter("program_session", OpenApiTypes.STR, enum=["AM", "PM"], required=True),
            OpenApiParameter("week", OpenApiTypes.STR, description="ISO week, e.g. 2026-W49 (default: this week)"),
            OpenApiParameter("group", OpenApiTypes.INT),
        ],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request: Request) -> Response:
        form = AttendanceSheetForm(request.query_params)
        if not form.is_valid():
            raise ValidationError({name: [str(error) for error in errors] for name, errors in form.errors.items()})
        week_start = form.cleaned_data["week"] or selectors.week_days_start(clinic_now().date())
        sheet = selectors.attendance_sheet(
            request.user, program_session=form.cleaned_data["program_session"], week_start=week_start,
            group=form.cleaned_data["group"],
        )  # fmt: skip
        audit.record(
            event="groups.attendance_sheet.viewed", target_model=GroupSession, actor=_actor(request),
            data={"channel": "api", "week": sheet.week, "patient_ids": [row.patient_id for row in sheet.rows]},
        )  # fmt: skip
        return Response(sheet_as_dict(sheet))
