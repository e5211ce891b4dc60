"""Streaming table readers (CSV, XLSX) and the cell parsers every importer shares.

Rows are numbered as a spreadsheet shows them: the header is row 1 and a record that spans several
physical lines (a quoted multi-line field) is still one row. Blank rows are skipped but counted.
Nothing here holds more than one row in memory.
"""

from __future__ import annotations

import csv
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any, BinaryIO

from .errors import fail

XLSX_SUFFIXES = {".xlsx", ".xlsm"}
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # legacy .xls (BIFF) and other OLE2 compound files
OTHER_DELIMITERS = {";": "semicolon", "\t": "tab", "|": "pipe"}
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


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
) -> Iterator[Row]:
    """The data rows of a CSV or XLSX file whose header holds ``columns`` (any order, any letter case).

    File-level problems (missing, empty, binary, wrong encoding, wrong delimiter, missing or unknown
    columns) raise ImportFailed at once; row-level checks are the caller's.
    """
    path = Path(path)
    kind = _detect(path, label)
    source = _csv_cells(path, delimiter, label, columns) if kind == "csv" else _xlsx_cells(path, label)
    header_names: list[str] | None = None
    index: dict[str, int] = {}
    for number, cells in source:
        if header_names is None:
            header_names = _check_header(cells, columns, delimiter, allow_extra, label, kind)
            index = {name: i for i, name in enumerate(header_names) if name in columns}
            continue
        if _blank(cells):
            continue
        values = {name: (cells[i] if i < len(cells) else None) for name, i in index.items()}
        overflow = any(as_text(c) != "" for c in cells[len(header_names) :])
        yield Row(number, values, overflow)
    if header_names is None:
        fail(f"the file is empty: expected a header row with the columns {', '.join(columns)}", file=label)


def _detect(path: Path, label: str | None) -> str:
    try:
        with path.open("rb") as f:
            head = f.read(8)
    except FileNotFoundError:
        fail(f"file not found: {path}", file=label)
    except IsADirectoryError:
        fail(f"{path} is a directory, not a file", file=label)
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror}", file=label)
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
                f"the file is empty: expected a header row with the columns {', '.join(columns)}", file=label
            )
        if head.startswith((b"\xff\xfe", b"\xfe\xff")):
            fail("the file is UTF-16 encoded; save it as 'CSV UTF-8'", file=label)
        if b"\x00" in head:
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


def _xlsx_cells(path: Path, label: str | None) -> Iterator[tuple[int, Sequence[Any]]]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError, TypeError) as exc:
        fail(f"not a readable .xlsx workbook ({exc.__class__.__name__}: {exc})", file=label)
    try:
        if not workbook.worksheets:
            fail("the workbook has no worksheet", file=label)
        yield from enumerate(workbook.worksheets[0].iter_rows(values_only=True), start=1)
    finally:
        workbook.close()


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


def format_decimal(value: Decimal | None) -> str:
    if value is None:
        return ""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format_decimal(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def write_table(target: str | Path | Any, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Writes a header and rows as XLSX (by the path's suffix) or UTF-8 CSV; ``target`` may be a text stream."""
    count = 0
    if isinstance(target, str | Path) and Path(target).suffix.lower() in XLSX_SUFFIXES:
        from openpyxl import Workbook

        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet()
        sheet.append(list(columns))
        for row in rows:
            sheet.append(list(row))
            count += 1
        workbook.save(target)
        return count
    if isinstance(target, str | Path):
        with Path(target).open("w", encoding="utf-8", newline="") as stream:
            return write_table(stream, columns, rows)
    writer = csv.writer(target, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([format_cell(v) for v in row])
        count += 1
    return count
