"""The face sheet: one patient's essentials as a PDF, rendered from an HTML template with xhtml2pdf."""

import io
from typing import Any

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from xhtml2pdf import pisa

from accounts import permissions
from audit import services as audit
from authorizations import selectors as authorization_selectors
from authorizations.models import Authorization
from patients.models import Patient
from scheduling import selectors as scheduling_selectors

FACE_SHEET = "face_sheet"


class FaceSheetError(RuntimeError):
    pass


def face_sheet_context(*, actor: Any, patient: Patient) -> dict[str, Any]:
    """What the face sheet shows ``actor``: the clinical section only for roles that see clinical text."""
    authorizations = authorization_selectors.for_patient(actor, patient)
    active = None
    if authorizations is not None:
        # ``status`` is derived and annotated by the selector (authorizations.selectors.with_usage).
        active = [a for a in authorizations if a.status == Authorization.Status.ACTIVE]  # type: ignore[attr-defined]
    schedule = scheduling_selectors.patient_schedule(actor, patient)
    return {
        "patient": patient,
        "show_clinical": permissions.can_view_clinical_text(actor),
        "active_authorizations": active,
        "upcoming": schedule["upcoming"] if schedule is not None else None,
        "printed_at": timezone.localtime(),
        "printed_by": actor,
        "clinic_name": settings.CLINIC_NAME,
    }


def _no_fetching(uri: str, rel: str) -> str:
    # The template embeds everything it needs; nothing is read from a URL or the file system on its behalf.
    return ""


def face_sheet_pdf(*, actor: Any, patient: Patient) -> bytes:
    """Render the face sheet and record the disclosure (an export of one patient as PDF)."""
    html = render_to_string("documents/face_sheet.html", face_sheet_context(actor=actor, patient=patient))
    out = io.BytesIO()
    result = pisa.CreatePDF(html, dest=out, link_callback=_no_fetching, encoding="utf-8")
    if result.err:
        raise FaceSheetError("The face sheet could not be rendered.")
    with transaction.atomic():
        audit.record_export(
            model=Patient,
            actor=actor,
            count=1,
            export_format="pdf",
            object_ids=[patient.pk],
            extra={"document": FACE_SHEET},
        )
    return out.getvalue()
