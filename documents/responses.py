"""How a stored document is sent: its own headers (no script, no sniffing, no caching) and a made-up name."""

from typing import TypeVar

from django.http import StreamingHttpResponse
from django.http.response import HttpResponseBase

from documents.models import Document

# An uploaded file is shown as itself and nothing more: no script, no plugins but the PDF viewer, no
# requests, no forms, in a unique origin (sandbox). nosniff keeps the browser to the declared type. A PDF
# with scripts is only ever downloaded (see document_view).
DOCUMENT_CSP = (
    "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; object-src 'self'; sandbox; "
    "frame-ancestors 'self'"
)


ResponseType = TypeVar("ResponseType", bound=HttpResponseBase)


def document_headers(response: ResponseType) -> ResponseType:
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = DOCUMENT_CSP
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    response["Cache-Control"] = "no-store"
    return response


def file_response(document: Document, chunks, *, download: bool) -> StreamingHttpResponse:
    response = StreamingHttpResponse(chunks, content_type=document.content_type)
    response["Content-Length"] = str(document.size)
    # The filename is made up here (category and id): the uploaded name and the title may hold PHI.
    disposition = "attachment" if download else "inline"
    filename = f"{document.category.code}-{document.pk}{document.extension}"
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    return document_headers(response)
