from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from accounts import permissions
from accounts.permissions import PatientPermissions
from accounts.reauth import require_recent_authentication
from patients import selectors, services
from patients.api.serializers import PatientListSerializer, PatientSerializer
from patients.filters import PatientFilter
from spectrum.api import PageNumberPagination
from spectrum.pagination import KeysFirstPaginator


class PatientPagination(PageNumberPagination):
    """Counts stop at 1,000 (see spectrum.pagination); a search that finds few patients adds
    ``did_you_mean``: patients with a name close to the search's words, marked apart from the results.

    Past a capped count (and from any page read by cursor) ``next`` and ``previous`` carry ``after`` or
    ``before``, a patient's id, instead of a page number: keyset pages, as cheap at any depth."""

    known_count: int | None = None  # set by the view from its FilterSet (a count kept in Django's cache)
    filterset: PatientFilter | None = None  # set by the view: its cursor, order and anchor row

    def django_paginator_class(self, queryset, page_size: int) -> KeysFirstPaginator:
        # DRF builds the Django paginator by calling this attribute with (queryset, page_size).
        return KeysFirstPaginator(queryset, page_size, known_count=self.known_count)

    def paginate_queryset(self, queryset, request, view=None):
        filterset = self.filterset
        if filterset is None or filterset.anchor is None:
            return super().paginate_queryset(queryset, request, view)
        self.request = request
        paginator = self.django_paginator_class(queryset, self.get_page_size(request))
        self.page = filterset.keyset_page(paginator)
        return list(self.page)

    def get_next_link(self) -> str | None:
        if (after := self.page.next_after) is None:
            return super().get_next_link() if not self.page.links_by_cursor else None
        return self._cursor_link("after", after)

    def get_previous_link(self) -> str | None:
        if (before := self.page.previous_before) is None:
            return super().get_previous_link() if not self.page.links_by_cursor else None
        return self._cursor_link("before", before)

    def _cursor_link(self, name: str, pk: int) -> str:
        url = self.request.build_absolute_uri()
        for other in ("page", "after", "before"):
            url = remove_query_param(url, other)
        return replace_query_param(url, name, pk)

    def get_paginated_response_schema(self, schema: dict) -> dict:
        paginated = super().get_paginated_response_schema(schema)
        paginated["properties"]["did_you_mean"] = {**schema, "description": "Close matches of a search's names"}
        return paginated


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
            OpenApiParameter(
                "after",
                OpenApiTypes.INT,
                description="A patient's id: the page of this list right after that patient (as `next` links "
                "once the count is capped at 1,000); not with `page` or `before`",
            ),
            OpenApiParameter(
                "before",
                OpenApiTypes.INT,
                description="A patient's id: the page of this list right before that patient (as `previous` links)",
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
        if self.action == "list":  # what selectors.patient_filter filters (and the schema documents)
            return selectors.entries_visible_to(self.request.user)
        return selectors.patients_visible_to(self.request.user)

    def get_serializer_class(self):
        return PatientListSerializer if self.action == "list" else PatientSerializer

    def filter_queryset(self, queryset):
        # The list applies its filters itself, with the one FilterSet it also reads the search text from
        # (filter_backends document them in the schema); a record is found by its id alone.
        return queryset

    def allow_duplicate(self) -> bool:
        return _truthy(self.request.query_params.get("allow_duplicate")) or _truthy(
            self.request.data.get("allow_duplicate", False)
        )

    def list(self, request: Request, *args, **kwargs) -> Response:
        params = request.query_params
        filterset = selectors.patient_filter(user=request.user, data=params)
        if not filterset.is_valid():  # a bad filter, ordering or page size: a 400 per parameter
            raise ValidationError(filterset.errors)
        search = filterset.search_text

        def page_data() -> dict[str, Any]:
            self.paginator.known_count = filterset.matches
            self.paginator.filterset = filterset
            listed = self.paginate_queryset(filterset.qs)
            for entry in listed:
                entry.matched_on = selectors.matched_on(entry, search)
            page = self.paginator.page
            suggestions = []
            if search and page.number == 1 and page.paginator.count < selectors.DID_YOU_MEAN_BELOW:
                suggestions = selectors.did_you_mean(user=request.user, text=search, exclude=[e.pk for e in listed])
            data = self.get_paginated_response(self.get_serializer(listed, many=True).data).data
            data["did_you_mean"] = self.get_serializer(suggestions, many=True).data
            return {"data": data, "count": page.paginator.count, "count_is_exact": page.paginator.count_is_exact,
                    "number": page.number}  # fmt: skip

        # What the answer depends on besides the entries: the fields the role may see, deactivated patients,
        # today (ages) and the whole URL asked (the links are absolute).
        hidden = ",".join(sorted(permissions.patient_hidden_fields(request.user)))
        scope = f"api:{hidden}:{int(filterset.can_see_inactive)}:{timezone.localdate()}:{request.build_absolute_uri()}"
        page = selectors.cached_list_page(scope, page_data)
        # A search or filter is recorded once per request, with how many matched.
        services.record_patient_search(
            actor=request.user,
            params=params,
            results=page["count"],
            results_exact=page["count_is_exact"],
            channel="api",
            page=page["number"],
            after=filterset.form.cleaned_data.get("after"),
            before=filterset.form.cleaned_data.get("before"),
        )
        return Response(page["data"])

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
        patient = self.get_object()
        require_recent_authentication(request)
        services.deactivate_patient(actor=request.user, patient=patient)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses=PatientSerializer)
    @action(detail=True, methods=["post"])
    def reactivate(self, request: Request, pk: str | None = None) -> Response:
        patient = services.reactivate_patient(actor=request.user, patient=self.get_object())
        return Response(self.get_serializer(patient).data)
