"""Writing tables (CSV, XLSX) for every export, with spreadsheet formula injection neutralised.

A text cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return would run as a
formula when the file is opened in a spreadsheet (a rep named ``=HYPERLINK(...)``). Such text is
written with a leading apostrophe, which spreadsheets show as text; so is text whose leading
apostrophes precede one of those characters, so the mark can be taken off again without loss:
the readers drop one leading apostrophe before a formula character (``restore``), and an exported
file re-imports unchanged. XLSX text is always written as a string cell, never as a formula or an
error value. Numbers, dates and empty cells are written as they are: they cannot carry a formula.
CSV rows end in CRLF, so a line break inside a text is always quoted and never starts a new row.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, Literal

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"
_NEEDS_QUOTE = re.compile(r"'*[=+\-@\t\r]")
XLSX_SUFFIXES = {".xlsx", ".xlsm"}
FORMATS = ("csv", "xlsx")
Format = Literal["csv", "xlsx"]
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def neutralise(text: str) -> str:
    """``text`` as a spreadsheet shows it as text: a leading apostrophe before a formula character."""
    return QUOTE + text if _NEEDS_QUOTE.match(text) else text


def restore(text: str) -> str:
    """The text ``neutralise`` was given (one leading apostrophe before a formula character dropped)."""
    return text[1:] if text.startswith(QUOTE) and _NEEDS_QUOTE.match(text, 1) else text


def format_decimal(value: Decimal | None) -> str:
    if value is None:
        return ""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_cell(value: Any) -> str:
    """A value as CSV text; text is neutralised."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format_decimal(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return neutralise(value)
    return str(value)


def format_of(target: str | Path | Any) -> Format:
    """The format a path's suffix names (XLSX for .xlsx/.xlsm, else CSV); a stream is CSV."""
    if isinstance(target, str | Path) and Path(target).suffix.lower() in XLSX_SUFFIXES:
        return "xlsx"
    return "csv"


def write_table(
    target: str | Path | IO[Any],
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    format: Format | None = None,
) -> int:
    """Writes a header and rows; returns the row count.

    ``target`` is a path (format by its suffix unless given) or a stream: a text stream for CSV, a
    binary one for XLSX.
    """
    kind = format or format_of(target)
    if kind == "xlsx":
        return _write_xlsx(target, columns, rows)
    if isinstance(target, str | Path):
        with Path(target).open("w", encoding="utf-8", newline="") as stream:
            return write_table(stream, columns, rows, format="csv")
    # CRLF (RFC 4180) also makes the writer quote a field holding a bare carriage return, which a
    # spreadsheet would otherwise read as a new row whose first cell may be a formula.
    writer = csv.writer(target, lineterminator="\r\n")
    writer.writerow(columns)
    count = 0
    for row in rows:
        writer.writerow([format_cell(v) for v in row])
        count += 1
    return count


class _Line:
    """A file-like object whose ``write`` returns what it was given (csv.writer's row as a string)."""

    def write(self, text: str) -> str:
        return text


def csv_lines(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """The CSV of ``write_table`` a line at a time, for a response streamed as it is read."""
    writer = csv.writer(_Line(), lineterminator="\r\n")
    yield writer.writerow(columns)
    for row in rows:
        yield writer.writerow([format_cell(v) for v in row])


def _write_xlsx(target: str | Path | IO[bytes], columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append([_xlsx_cell(sheet, c) for c in columns])
    count = 0
    for row in rows:
        sheet.append([_xlsx_cell(sheet, v) for v in row])
        count += 1
    workbook.save(target)
    return count


def _xlsx_cell(sheet: Any, value: Any) -> Any:
    """Text as a string cell (openpyxl would make ``=…`` a formula and ``#N/A`` an error value), without
    the control characters XML cannot hold."""
    if not isinstance(value, str):
        return value
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    cell = WriteOnlyCell(sheet, value=neutralise(ILLEGAL_CHARACTERS_RE.sub("", value)))
    cell.data_type = "s"
    return cell
