"""What an uploaded file really is, from its first bytes (magic numbers), never from its name or the browser."""

from dataclasses import dataclass
from pathlib import PurePath


@dataclass(frozen=True)
class FileType:
    code: str
    content_type: str
    extension: str
    label: str


PDF = FileType("pdf", "application/pdf", ".pdf", "a PDF")
JPEG = FileType("jpeg", "image/jpeg", ".jpg", "a JPEG image")
PNG = FileType("png", "image/png", ".png", "a PNG image")
HEIC = FileType("heic", "image/heic", ".heic", "a HEIC photo")
ACCEPTED = (PDF, JPEG, PNG)
BY_CONTENT_TYPE = {kind.content_type: kind for kind in ACCEPTED}

# Names a file may carry for each type; another known extension is a lie about its type.
EXTENSIONS = {
    ".pdf": PDF,
    ".jpg": JPEG, ".jpeg": JPEG, ".jpe": JPEG, ".jfif": JPEG,
    ".png": PNG,
    ".heic": HEIC, ".heif": HEIC,
}  # fmt: skip
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}
HEAD_BYTES = 32


def sniff(head: bytes) -> FileType | None:
    """The type the file's first bytes say it is, or None for anything Spectrum does not accept."""
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if len(head) >= 12 and head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS:
        return HEIC
    return None


def claimed_type(filename: str) -> FileType | None:
    """The type the file's name claims, if its extension is one Spectrum knows."""
    return EXTENSIONS.get(PurePath(filename or "").suffix.lower())
