from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import permissions as drf_permissions
from rest_framework import viewsets

from accounts import permissions
from audit import selectors
from audit.api.serializers import AuditEventSerializer
from audit.filters import AuditEventFilter
from spectrum.api import PageNumberPagination
from spectrum.pagination import LargeTablePaginator


class AuditEventPagination(PageNumberPagination):
    """Counts stop at 1,000 and deep pages stay cheap (see spectrum.pagination)."""

    django_paginator_class = LargeTablePaginator


class CanViewAuditLog(drf_permissions.BasePermission):
    """Every method needs the audit log permission; then only GET exists (others answer 405)."""

    def has_permission(self, request, view) -> bool:
        return permissions.can_view_audit_log(request.user)


@extend_schema_view(
    list=extend_schema(description="The audit trail, newest first. Filters as on the audit log page."),
    retrieve=extend_schema(description="One audit entry."),
)
class AuditEventViewSet(viewsets.ReadOnlyModelViewSet):
    """The audit trail, read-only, for administrators and auditors (``audit.view_auditevent``).

    Nobody can create, change or delete entries: other methods answer 405.
    """

    serializer_class = AuditEventSerializer
    permission_classes = [CanViewAuditLog]
    pagination_class = AuditEventPagination
    filterset_class = AuditEventFilter
    filter_backends = [DjangoFilterBackend]  # no ordering parameter: newest first, always

    def get_queryset(self):
        return selectors.events_visible_to(self.request.user)
