"""Uploading, describing, serving and (soft-)deleting patients' documents; every step audited."""

import datetime
import io
import logging
import tempfile
from collections.abc import Iterator
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from PIL import Image, UnidentifiedImageError

from accounts import permissions
from audit import services as audit
from documents import sniffing, storage
from documents.models import Document, DocumentCategory
from patients.models import Patient

logger = logging.getLogger(__name__)

UPLOADED = "documents.document.uploaded"
VIEWED = "documents.document.viewed"
DOWNLOADED = "documents.document.downloaded"
DELETED = "documents.document.deleted"
PURGED = "documents.document.purged"
THUMBNAIL_SIZE = (240, 240)
EDITABLE_FIELDS = ("category", "title", "document_on", "expires_on")


def _file_error(message: str) -> ValidationError:
    return ValidationError({"file": [message]})


def inspect_upload(upload: IO[bytes], filename: str) -> sniffing.FileType:
    """The accepted type of ``upload`` from its content; refuses anything else, and a name that claims another type.

    HEIC photos (phones) are recognised here and converted to JPEG by ``_convert_heic``.
    """
    upload.seek(0)
    head = upload.read(sniffing.HEAD_BYTES)
    upload.seek(0)
    if not head:
        raise _file_error("The file is empty.")
    actual = sniffing.sniff(head)
    if actual is None:
        raise _file_error("Only PDF, JPEG, PNG and HEIC files can be uploaded; this file is none of them.")
    claimed = sniffing.claimed_type(filename)
    if claimed is not None and claimed != actual:
        raise _file_error(
            f"The file's name says it is {claimed.label}, but its content is {actual.label}. "
            "Rename it or upload the original file."
        )
    if actual in (sniffing.JPEG, sniffing.PNG):
        _check_image(upload, actual)
    upload.seek(0)
    return actual


def _check_image(upload: IO[bytes], kind: sniffing.FileType) -> None:
    try:
        with Image.open(upload) as image:
            if image.format != kind.code.upper():
                raise _file_error(f"The file is not a valid {kind.label}.")
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError):
        raise _file_error(f"The file is not a readable {kind.label} (damaged or too large in pixels).") from None
    finally:
        upload.seek(0)


def _convert_heic(upload: IO[bytes]) -> IO[bytes]:
    """A HEIC photo re-encoded as JPEG (pillow-heif), in a temporary file."""
    from pillow_heif import register_heif_opener

    register_heif_opener()
    converted = tempfile.SpooledTemporaryFile(max_size=1024 * 1024)  # noqa: SIM115 - the caller closes it
    try:
        with Image.open(upload) as image:
            image.convert("RGB").save(converted, format="JPEG", quality=90)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        converted.close()
        raise _file_error("The HEIC photo could not be read; export it as JPEG and upload that.") from None
    converted.seek(0)
    return converted


# PDF actions that run something or reach out (as opposed to moving to a page).
ACTIVE_ACTIONS = {"/JavaScript", "/Launch", "/SubmitForm", "/ImportData", "/RichMediaExecute", "/Rendition", "/URI"}
MAX_INSPECTED_PAGES = 2000


def pdf_has_active_content(upload: IO[bytes]) -> bool:
    """Whether a PDF holds scripts or actions, or cannot be inspected (then it counts as active).

    Reads the document's structure with pypdf (not its page content): the catalogue's open and
    additional actions, named scripts, embedded files and XFA forms, and every page's and annotation's
    actions. A file without an end marker is not parsed at all (pypdf would scan all of it).
    """
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    size = _size_of(upload)
    upload.seek(max(size - 1024, 0))
    tail = upload.read()
    upload.seek(0)
    if b"%%EOF" not in tail:
        return True
    try:
        reader = PdfReader(upload, strict=True)
        root: Any = reader.trailer["/Root"].get_object()
        if "/AA" in root or _is_active_action(root.get("/OpenAction")):
            return True
        names = root.get("/Names")
        if names is not None and ({"/JavaScript", "/EmbeddedFiles"} & set(names.get_object().keys())):
            return True
        form = root.get("/AcroForm")
        if form is not None and "/XFA" in form.get_object():
            return True
        if len(reader.pages) > MAX_INSPECTED_PAGES:
            return True
        for page in reader.pages:
            if "/AA" in page:
                return True
            for annotation in page.get("/Annots") or []:
                annotation = annotation.get_object()
                if "/AA" in annotation or _is_active_action(annotation.get("/A")):
                    return True
    except (PyPdfError, KeyError, AttributeError, TypeError, ValueError, RecursionError):
        return True
    finally:
        upload.seek(0)
    return False


def _is_active_action(action: Any) -> bool:
    if action is None:
        return False
    action = action.get_object()
    if not hasattr(action, "get"):  # an explicit destination (an array): goes to a page
        return False
    if action.get("/S") in ACTIVE_ACTIONS:
        return True
    following = action.get("/Next")
    if following is None:
        return False
    following = following.get_object()
    return any(_is_active_action(item) for item in (following if isinstance(following, list) else [following]))


def _thumbnail(source: IO[bytes]) -> io.BytesIO:
    source.seek(0)
    out = io.BytesIO()
    with Image.open(source) as image:
        image.thumbnail(THUMBNAIL_SIZE)
        image.convert("RGB").save(out, format="JPEG", quality=80)
    source.seek(0)
    out.seek(0)
    return out


def _size_of(handle: IO[bytes]) -> int:
    handle.seek(0, io.SEEK_END)
    size = handle.tell()
    handle.seek(0)
    return size


def _check_dates(document_on: datetime.date | None, expires_on: datetime.date | None) -> None:
    if document_on and expires_on and expires_on < document_on:
        raise ValidationError({"expires_on": ["The expiry date is before the document's date."]})


def upload_document(
    *,
    actor: Any,
    patient: Patient,
    upload: IO[bytes],
    filename: str,
    category: DocumentCategory,
    title: str,
    document_on: datetime.date | None = None,
    expires_on: datetime.date | None = None,
) -> Document:
    """Check, encrypt and store one file for ``patient``, then record it (row and audit entry in one transaction).

    Raises ``PermissionDenied``, or ``ValidationError`` per field (file type or size, category, dates). The
    stored file is removed again if the database write fails.
    """
    if not permissions.can_upload_document_for(actor, patient):
        raise PermissionDenied("Your role may not upload documents for this patient.")
    if not permissions.can_use_document_category(actor, category):
        raise ValidationError({"category": ["Your role may not file documents under this category."]})
    _check_dates(document_on, expires_on)
    size = _size_of(upload)
    if size > settings.DOCUMENT_MAX_BYTES:
        from documents.uploads import too_large_message

        raise _file_error(too_large_message())
    kind = inspect_upload(upload, filename)
    converted = None
    if kind == sniffing.HEIC:
        upload = converted = _convert_heic(upload)
        kind, size = sniffing.JPEG, _size_of(upload)
    has_active_content = kind == sniffing.PDF and pdf_has_active_content(upload)
    names: list[str] = []
    try:
        name, _ = storage.save_encrypted(upload)
        names.append(name)
        thumbnail_name = ""
        if kind in (sniffing.JPEG, sniffing.PNG):
            thumbnail_name, _ = storage.save_encrypted(_thumbnail(upload), suffix="-t")
            names.append(thumbnail_name)
        with transaction.atomic():
            document = Document(
                patient=patient,
                category=category,
                title=title.strip(),
                document_on=document_on,
                expires_on=expires_on,
                content_type=kind.content_type,
                size=size,
                storage_name=name,
                thumbnail_name=thumbnail_name,
                has_active_content=has_active_content,
                uploaded_by=actor,
            )
            document.full_clean(exclude=["patient", "category", "uploaded_by", "deleted_by"])
            document.save()
            audit.record(
                event=UPLOADED,
                target=document,
                actor=actor,
                data={"category": category.code, "content_type": kind.content_type, "size": size},
            )
    except BaseException:
        for stored in names:
            try:
                storage.delete(stored)
            except Exception:  # noqa: BLE001 - the original error matters more; the purge finds orphans
                logger.warning("Could not remove a stored document after a failed upload.")
        raise
    finally:
        if converted is not None:
            converted.close()
    return document


@transaction.atomic
def update_document(*, actor: Any, document: Document, data: dict[str, Any]) -> Document:
    """Change a document's category, title or dates (the file itself never changes)."""
    if not permissions.can_change_document(actor, document):
        raise PermissionDenied("Your role may not change this document.")
    unknown = set(data) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError({name: ["This field cannot be changed."] for name in sorted(unknown)})
    category = data.get("category", document.category)
    if category != document.category and not permissions.can_use_document_category(actor, category):
        raise ValidationError({"category": ["Your role may not file documents under this category."]})
    for name, value in data.items():
        setattr(document, name, value.strip() if name == "title" else value)
    _check_dates(document.document_on, document.expires_on)
    document.full_clean(exclude=["patient", "category", "uploaded_by", "deleted_by"])
    document.save(update_fields=[*data, "updated_at"])
    return document


@transaction.atomic
def delete_document(*, actor: Any, document: Document) -> Document:
    """Soft-delete ``document``: it disappears for everyone; the file stays until the retention purge."""
    if not permissions.can_delete_document(actor, document):
        raise PermissionDenied("Only administrators can delete documents.")
    document.deleted_at = timezone.now()
    document.deleted_by = actor
    document.save(update_fields=["deleted_at", "deleted_by", "updated_at"])
    audit.record(event=DELETED, target=document, actor=actor, data={"category": document.category.code})
    return document


def open_document(*, actor: Any, document: Document, download: bool, channel: str) -> Iterator[bytes]:
    """Record the view or download of ``document`` and return its decrypted content as chunks.

    The entry is written before the first byte is sent: a disclosure is recorded even if the client stops
    reading. Decryption errors (a wrong key) raise while streaming and end the response.
    """
    if not permissions.can_view_document(actor, document):
        raise PermissionDenied("Your role may not open this document.")
    with transaction.atomic():
        audit.record(
            event=DOWNLOADED if download else VIEWED,
            target=document,
            actor=actor,
            data={"channel": channel, "category": document.category.code},
        )
    return storage.open_decrypted(document.storage_name)


def open_thumbnail(*, actor: Any, document: Document) -> bytes:
    """The thumbnail of an image document (decrypted; small). Shown on the patient page, whose view is audited."""
    if not permissions.can_view_document(actor, document) or not document.thumbnail_name:
        raise PermissionDenied("No thumbnail.")
    return b"".join(storage.open_decrypted(document.thumbnail_name))


def purge_deleted_documents(*, older_than: datetime.timedelta, now: datetime.datetime | None = None) -> int:
    """Remove the stored files of documents deleted more than ``older_than`` ago; keeps their rows. Returns how many."""
    now = now or timezone.now()
    due = Document.objects.filter(deleted_at__lt=now - older_than, purged_at__isnull=True)
    purged = 0
    for document in due.select_related("category").iterator():
        storage.delete(document.storage_name)
        storage.delete(document.thumbnail_name)
        with transaction.atomic():
            document.purged_at = now
            document.save(update_fields=["purged_at", "updated_at"])
            audit.record(event=PURGED, target=document, data={"deleted_at": document.deleted_at.isoformat()})
        purged += 1
    return purged
