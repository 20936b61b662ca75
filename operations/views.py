import hmac

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.views.decorators.http import require_GET

from accounts import permissions
from accounts.reauth import reauth_response
from operations import conf, exports, metrics

# Paging and page size are the list's, not the export's: an export holds every matching record.
LIST_ONLY_PARAMETERS = ("page", "page_size")


@require_GET
def export_download(request: HttpRequest, what: str, export_format: str) -> HttpResponse | StreamingHttpResponse:
    """The list page's records, with its current filters, as a file (administrators; audited)."""
    if what not in exports.WHATS or export_format not in exports.FORMATS:
        raise Http404("No such export.")
    if not permissions.can_export_data(request.user):
        raise PermissionDenied("Only administrators can export data.")
    if (reauth := reauth_response(request)) is not None:
        return reauth
    params = {
        key: values if len(values) > 1 else values[0]
        for key, values in request.GET.lists()
        if key not in LIST_ONLY_PARAMETERS
    }
    try:
        prepared = exports.prepare(
            user=request.user, what=what, export_format=export_format, params=params, channel="page", request=request
        )
    except exports.ExportError as exc:
        return HttpResponseBadRequest(exc.message, content_type="text/plain; charset=utf-8")
    # Streamed a record at a time (a large export never sits whole in memory); recorded when it ends.
    response = StreamingHttpResponse(prepared.chunks(), content_type=exports.CONTENT_TYPES[export_format])
    response["Content-Disposition"] = f'attachment; filename="{prepared.result.filename}"'
    return response


@login_not_required
@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus metrics: for a scraper with ``Authorization: Bearer <METRICS_TOKEN>``, or an administrator."""
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        token = conf.metrics_token()
        if not token or not hmac.compare_digest(header.removeprefix("Bearer ").strip().encode(), token.encode()):
            return _unauthorized()
    elif request.user.is_authenticated:
        if not permissions.can_view_metrics(request.user):
            raise PermissionDenied("Only administrators and the metrics scraper can read the metrics.")
    else:
        return _unauthorized()
    return HttpResponse(metrics.exposition(), content_type=metrics.CONTENT_TYPE)


def _unauthorized() -> HttpResponse:
    response = HttpResponse("Authentication required.\n", status=401, content_type="text/plain; charset=utf-8")
    response["WWW-Authenticate"] = 'Bearer realm="metrics"'
    return response
