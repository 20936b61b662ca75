from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from spectrum import views

api_v1 = [
    path("", include("accounts.api.urls")),
    path("", include("patients.api.urls")),
    path("", include("scheduling.api.urls")),
    path("", include("authorizations.api.urls")),
    path("", include("groups.api.urls")),
    path("", include("audit.api.urls")),
    path("", include("documents.api.urls")),
    path("", include("consents.api.urls")),
]

# An unknown address under /api/ answers JSON like the API itself; elsewhere, the styled page.
handler404 = "spectrum.views.page_not_found"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("health/", views.health, name="health"),
    path("accounts/", include("accounts.urls")),
    path("patients/", include("patients.urls")),
    path("audit/", include("audit.urls")),
    path("", include("scheduling.urls")),
    path("authorizations/", include("authorizations.urls")),
    path("", include("groups.urls")),
    # /patients/<id>/face-sheet.pdf, /patients/<id>/documents/upload/ and /documents/<id>/...
    path("", include("documents.urls")),
    # /exports/<what>.<format> (list-page downloads) and /metrics (Prometheus).
    path("", include("operations.urls")),
    # /r/<token>/ (patients' confirm/cancel links) and /reminders/ (administrators).
    path("", include("reminders.urls")),
    path("patients/", include("consents.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include((api_v1, "api"), namespace="api")),
    # ``?version=`` is honoured only for a version in REST_FRAMEWORK's ALLOWED_VERSIONS (any other value went
    # into a response header, control characters and all).
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The docs page is for signed-in staff: anonymous visitors go to the login page like everywhere else.
    path("api/docs/", login_required(SpectacularSwaggerSplitView.as_view(url_name="api-schema")), name="api-docs"),
]

# 503 while the database or the cache is unreachable, JSON for the API (spectrum.outages).
handler500 = "spectrum.views.server_error"
