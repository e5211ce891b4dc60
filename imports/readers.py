"""Streaming table readers (CSV, XLSX) and the cell parsers every importer shares.

Rows are numbered as a spreadsheet shows them: the header is row 1 and a record that spans several
physical lines (a quoted multi-line field) is still one row. Blank rows are skipped but counted.
Nothing here holds more than one row in memory.

Hostile files are refused before they are parsed (``Limits``, from settings): a file over the size
limit, an XLSX whose members would uncompress beyond a limit (a zip bomb is refused from the zip's
directory, before anything is inflated) or whose shared strings alone would, and more rows than the
row limit. XLSX is parsed with defusedxml (no entity expansion, no DTD, no external references). A
NUL character anywhere is an error at its row and column. A leading apostrophe that an export put
before a formula character is dropped (``writers.restore``).
"""

from __future__ import annotations

import csv
import re
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any, BinaryIO

from .errors import fail
from .writers import XLSX_SUFFIXES, restore

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # legacy .xls (BIFF) and other OLE2 compound files
OTHER_DELIMITERS = {";": "semicolon", "\t": "tab", "|": "pipe"}
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
SHARED_STRINGS = "xl/sharedstrings.xml"  # compared in lower case
MB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """What an import accepts before it parses a file (settings ``SCORECARD_IMPORT_MAX_*``)."""

    max_bytes: int = 10 * MB
    max_uncompressed_bytes: int = 256 * MB
    max_shared_strings_bytes: int = 32 * MB
    max_rows: int = 1_000_000

    @classmethod
    def from_settings(cls) -> Limits:
        from django.conf import settings

        default = cls()
        return cls(
            max_bytes=getattr(settings, "SCORECARD_IMPORT_MAX_BYTES", default.max_bytes),
            max_uncompressed_bytes=getattr(
                settings, "SCORECARD_IMPORT_MAX_UNCOMPRESSED_BYTES", default.max_uncompressed_bytes
            ),
            max_shared_strings_bytes=getattr(
                settings, "SCORECARD_IMPORT_MAX_SHARED_STRINGS_BYTES", default.max_shared_strings_bytes
            ),
            max_rows=getattr(settings, "SCORECARD_IMPORT_MAX_ROWS", default.max_rows),
        )


def size_text(size: int) -> str:
    """A byte count as people read it: 10 MB, 10.5 MB, 812 KB."""
    if size >= MB:
        return f"{size / MB:.1f}".removesuffix(".0") + " MB"
    return f"{max(1, round(size / 1024))} KB" if size else "0 KB"


def too_large_message(size: int, limit: int) -> str:
    return (
        f"the file is {size_text(size)}, larger than the {size_text(limit)} an import accepts: "
        "split it into smaller files"
    )


@dataclass(slots=True)
class Row:
    number: int
    values: dict[str, Any]
    overflow: bool = False  # non-empty cells to the right of the last header column

    def text(self, column: str) -> str:
        return as_text(self.values.get(column))


def as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # an id typed into Excel comes back as 1001.0
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def _blank(cells: Sequence[Any]) -> bool:
    return all(as_text(c) == "" for c in cells)


def read_table(
    path: str | Path,
    *,
    columns: Sequence[str],
    delimiter: str = ",",
    allow_extra: bool = False,
    label: str | None = None,
    mapping: Mapping[str, str] | None = None,
    limits: Limits | None = None,
) -> Iterator[Row]:
    """The data rows of a CSV or XLSX file whose header holds ``columns`` (any order, any letter case).

    ``mapping`` (from the import wizard) names, for each of ``columns``, the file's column that holds
    it; a column it leaves blank or out is empty in every row, and the file's other columns are
    ignored. File-level problems (missing, too large, empty, binary, wrong encoding, wrong delimiter,
    missing or unknown columns, too many rows) raise ImportFailed at once; row-level checks are the
    caller's.
    """
    path = Path(path)
    limits = limits or Limits.from_settings()
    kind = _detect(path, label, limits)
    source = _cells(path, kind, delimiter, label, columns, limits)
    header_names: list[str] | None = None
    index: dict[str, int] = {}
    for number, cells in source:
        if header_names is None:
            if mapping is None:
                header_names = _check_header(cells, columns, delimiter, allow_extra, label, kind)
                index = {name: i for i, name in enumerate(header_names) if name in columns}
            else:
                header_names = [as_text(c) for c in cells]
                index = _mapped_index(header_names, columns, mapping, label)
            continue
        if number > limits.max_rows + 1:
            fail(
                f"the file has more than {limits.max_rows:,} rows, the most an import accepts: "
                "split it into smaller files",
                row=number,
                file=label,
            )
        if _blank(cells):
            continue
        for i, cell in enumerate(cells):
            if isinstance(cell, str) and "\x00" in cell:
                column = header_names[i] if i < len(header_names) and header_names[i] else f"#{i + 1}"
                fail(
                    "the cell contains a NUL character (a binary file?)",
                    row=number,
                    column=column,
                    file=label,
                )
        values = {name: _cell(cells, i) for name, i in index.items()}
        for name in columns:
            values.setdefault(name, None)
        overflow = any(as_text(c) != "" for c in cells[len(header_names) :])
        yield Row(number, values, overflow)
    if header_names is None:
        fail(f"the file is empty: expected a header row with the columns {', '.join(columns)}", file=label)


def read_header(path: str | Path, *, label: str | None = None, limits: Limits | None = None) -> list[str]:
    """The names in the header row of a CSV (comma-separated) or XLSX file, for mapping its columns."""
    path = Path(path)
    limits = limits or Limits.from_settings()
    kind = _detect(path, label, limits)
    for number, cells in _cells(path, kind, ",", label, (), limits):
        names = [as_text(c) for c in cells]
        for i, name in enumerate(names):
            if "\x00" in name:
                fail("the header contains a NUL character", row=number, column=f"#{i + 1}", file=label)
        while names and names[-1] == "":
            names.pop()
        if kind == "csv" and len(names) == 1:
            for other, what in OTHER_DELIMITERS.items():
                if other in names[0]:
                    fail(
                        f"the header is a single column {names[0][:80]!r}: the file looks {what}-separated; "
                        "save it as comma-separated CSV UTF-8",
                        row=1,
                        file=label,
                    )
        if any(names):
            return names
        break
    fail("the file is empty: expected a header row with the names of its columns", file=label)


def _cell(cells: Sequence[Any], i: int) -> Any:
    value = cells[i] if i < len(cells) else None
    return restore(value) if isinstance(value, str) else value


def _mapped_index(
    header: list[str], columns: Sequence[str], mapping: Mapping[str, str], label: str | None
) -> dict[str, int]:
    """Positions of ``columns`` in the file by the mapping (column → the file's header name)."""
    positions: dict[str, int] = {}
    for i, name in enumerate(header):
        if name:
            positions.setdefault(name.lower(), i)
    index: dict[str, int] = {}
    missing = []
    for column in columns:
        source = (mapping.get(column) or "").strip()
        if not source:
            continue
        if source.lower() not in positions:
            missing.append(f"{source!r} (for {column})")
            continue
        index[column] = positions[source.lower()]
    if missing:
        fail(
            f"the file has no column {', '.join(missing)}: map its columns again",
            row=1,
            file=label,
        )
    return index


def _detect(path: Path, label: str | None, limits: Limits) -> str:
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            head = f.read(8)
    except FileNotFoundError:
        fail(f"file not found: {path}", file=label)
    except IsADirectoryError:
        fail(f"{path} is a directory, not a file", file=label)
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror}", file=label)
    if size > limits.max_bytes:
        fail(too_large_message(size, limits.max_bytes), file=label)
    suffix = path.suffix.lower()
    if head.startswith(OLE_MAGIC) or suffix == ".xls":
        fail("legacy Excel .xls files are not supported: save the sheet as .xlsx or CSV UTF-8", file=label)
    if head.startswith(ZIP_MAGIC):
        return "xlsx"
    if suffix in XLSX_SUFFIXES:
        fail(
            f"the file is named {suffix} but is not an Excel workbook (its content is not a zip-based "
            ".xlsx file); export it again from the spreadsheet application",
            file=label,
        )
    return "csv"


def _cells(
    path: Path, kind: str, delimiter: str, label: str | None, columns: Sequence[str], limits: Limits
) -> Iterator[tuple[int, Sequence[Any]]]:
    if kind == "csv":
        return _csv_cells(path, delimiter, label, columns)
    return _xlsx_cells(path, label, limits)


class _Utf8Lines:
    """Decodes a binary file line by line, so a bad byte is reported at the row that holds it."""

    def __init__(self, raw: BinaryIO, label: str | None) -> None:
        self.raw = raw
        self.label = label
        self.row = 1  # the row being read, kept up to date by the consumer

    def __iter__(self) -> Iterator[str]:
        first = True
        for line in self.raw:
            try:
                text = line.decode("utf-8")
            except UnicodeDecodeError as exc:
                bad = line[exc.start : exc.start + 1].hex()
                hint = ""
                try:
                    line.decode("cp1252")
                    hint = " It looks like Latin-1/Windows-1252 text."
                except UnicodeDecodeError:
                    pass
                fail(
                    f"the file is not valid UTF-8 (byte 0x{bad} at character {exc.start + 1} of the line).{hint} "
                    "Save it as 'CSV UTF-8'.",
                    row=self.row,
                    file=self.label,
                )
            if first:
                text = text.removeprefix("\ufeff")
                first = False
            yield text


def _csv_cells(
    path: Path, delimiter: str, label: str | None, columns: Sequence[str]
) -> Iterator[tuple[int, list[str]]]:
    with path.open("rb") as raw:
        head = raw.read(4096)
        raw.seek(0)
        if not head.strip():
            fail(
                f"the file is empty: expected a header row with the columns {', '.join(columns)}"
                if columns
                else "the file is empty: expected a header row with the names of its columns",
                file=label,
            )
        if head.startswith((b"\xff\xfe", b"\xfe\xff")):
            fail("the file is UTF-16 encoded; save it as 'CSV UTF-8'", file=label)
        if b"\x00" in head:
            # NUL further on is reported at its row and column by read_table.
            fail("the file contains NUL bytes: it is binary or UTF-16, not a UTF-8 CSV file", file=label)
        lines = _Utf8Lines(raw, label)
        reader = csv.reader(lines, delimiter=delimiter)
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                fail(f"unreadable CSV: {exc}", row=lines.row, file=label)
            yield lines.row, cells
            lines.row += 1


XLSX_ERRORS: tuple[type[BaseException], ...] = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    KeyError,
    EOFError,
    OSError,
    ValueError,  # defusedxml's EntitiesForbidden, DTDForbidden, … are ValueErrors
    SyntaxError,  # xml.etree.ElementTree.ParseError
    TypeError,
    IndexError,
    AttributeError,
)


def _xlsx_check(path: Path, label: str | None, limits: Limits) -> None:
    """Refuses, from the zip's directory alone, a workbook that would inflate beyond the limits.

    The sizes in the directory bound what is inflated: Python's zipfile stops a member at its
    declared size (and then fails its CRC check), so a lying directory cannot get past this either.
    """
    import openpyxl

    if not openpyxl.DEFUSEDXML:
        fail("XLSX imports need the defusedxml package (install it, or import a CSV file)", file=label)
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
        fail(f"not a readable .xlsx workbook ({exc.__class__.__name__}: {exc})", file=label)
    total = sum(m.file_size for m in members)
    if total > limits.max_uncompressed_bytes:
        fail(
            f"the workbook would uncompress to {size_text(total)}, more than the "
            f"{size_text(limits.max_uncompressed_bytes)} an import accepts (a zip bomb?): "
            "save the sheet as CSV UTF-8 or split it",
            file=label,
        )
    strings = sum(m.file_size for m in members if m.filename.lower() == SHARED_STRINGS)
    if strings > limits.max_shared_strings_bytes:
        fail(
            f"the workbook's text (shared strings) would uncompress to {size_text(strings)}, more than "
            f"the {size_text(limits.max_shared_strings_bytes)} an import accepts: "
            "save the sheet as CSV UTF-8 or split it",
            file=label,
        )


def _xlsx_cells(path: Path, label: str | None, limits: Limits) -> Iterator[tuple[int, Sequence[Any]]]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    _xlsx_check(path, label, limits)
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, *XLSX_ERRORS) as exc:
        fail(_unreadable(exc, path), file=label)
    try:
        if not workbook.worksheets:
            fail("the workbook has no worksheet", file=label)
        rows = enumerate(workbook.worksheets[0].iter_rows(values_only=True), start=1)
        while True:
            try:
                number, cells = next(rows)
            except StopIteration:
                return
            except XLSX_ERRORS as exc:
                fail(_unreadable(exc, path), file=label)
            yield number, cells
    finally:
        workbook.close()


def _unreadable(exc: BaseException, path: Path) -> str:
    """What went wrong, from the first cause (openpyxl wraps it), in one line without server paths."""
    while exc.__cause__ is not None:
        exc = exc.__cause__
    text = str(exc).splitlines()[0] if str(exc) else ""
    text = text.replace(str(path), path.name)
    return f"not a readable .xlsx workbook ({exc.__class__.__name__}{': ' + text if text else ''})"


def _check_header(
    cells: Sequence[Any],
    columns: Sequence[str],
    delimiter: str,
    allow_extra: bool,
    label: str | None,
    kind: str,
) -> list[str]:
    canonical = {c.lower(): c for c in columns}
    names = [canonical.get(as_text(c).lower(), as_text(c).lower()) for c in cells]
    expected = ", ".join(columns)
    present = [n for n in names if n]
    if kind == "csv" and len(present) == 1 and len(columns) > 1:
        for other, what in OTHER_DELIMITERS.items():
            if other != delimiter and other in present[0]:
                fail(
                    f"the header is a single column {present[0][:80]!r}: the file looks {what}-separated, "
                    f"but this import expects {'comma' if delimiter == ',' else repr(delimiter)}-separated "
                    f"columns: {expected}",
                    row=1,
                    file=label,
                )
    problems = []
    duplicates = sorted({n for n in present if present.count(n) > 1})
    if duplicates:
        problems.append(f"column(s) appear more than once: {', '.join(duplicates)}")
    missing = [c for c in columns if c not in names]
    if missing:
        problems.append(f"missing column(s): {', '.join(missing)}")
    unknown = [n for n in present if n not in columns]
    if unknown and not allow_extra:
        problems.append(f"unknown column(s): {', '.join(unknown)}")
    if problems:
        fail(f"{'; '.join(problems)}. Expected the columns: {expected}", row=1, file=label)
    return names


# --- cell parsers: return the value or raise ValueError with a message for the user ---------------


def parse_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = as_text(value)
    if not text:
        return None
    if not ISO_DATE.fullmatch(text):
        raise ValueError(f"{text!r} is not a date in the form YYYY-MM-DD")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a real calendar date") from None


def parse_decimal(value: Any, *, places: int = 4, limit_digits: int = 12) -> Decimal | None:
    """A Decimal rounded half-up to ``places`` (spreadsheet floats carry binary noise)."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    if isinstance(value, float):
        number = Decimal(repr(value))
    elif isinstance(value, int | Decimal):
        number = Decimal(value)
    else:
        text = as_text(value)
        if not text:
            return None
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"{text!r} is not a number (use a dot for decimals, no separators)") from None
    if not number.is_finite():
        raise ValueError(f"{value!r} is not a finite number")
    number = number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    if abs(number) >= Decimal(10) ** limit_digits:
        raise ValueError(f"{value!r} is too large")
    return number


def split_list(value: Any) -> tuple[str, ...]:
    """``a; b;c`` → ("a", "b", "c"): trimmed, empties dropped, duplicates dropped, order kept."""
    return tuple(dict.fromkeys(part.strip() for part in as_text(value).split(";") if part.strip()))
