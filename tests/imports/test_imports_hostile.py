"""Hostile files (issue 13): refused before parsing, fast, with a message that says what to do."""

from __future__ import annotations

import io
import time
import zipfile

import openpyxl
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from imports.errors import ImportFailed
from imports.readers import Limits, read_header, read_table
from imports.services import opportunities_import, reps_import

from .helpers import REP_COLUMNS, opportunity_rows, org_checksum, org_counts, write_csv, write_xlsx

MB = 1024 * 1024


def lines(call) -> list[str]:
    with pytest.raises(ImportFailed) as failed:
        call()
    return failed.value.lines()


def refused(org, path, command: str = "import_opportunities") -> list[str]:
    before = (org_counts(org), org_checksum(org))
    err = io.StringIO()
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command(command, str(path), "--org", org.slug, stdout=io.StringIO(), stderr=err)
    assert (org_counts(org), org_checksum(org)) == before
    return err.getvalue().splitlines()


def test_openpyxl_parses_with_defusedxml():
    assert openpyxl.DEFUSEDXML is True


def test_a_file_over_10_mb_is_refused_before_it_is_read(acme, tmp_path):
    path = write_csv(tmp_path / "big.csv", opportunity_rows({}))
    with path.open("ab") as f:  # one valid row, then padding up to one byte over 10 MB
        f.truncate(10 * MB + 1)
    started = time.perf_counter()
    assert refused(acme, path) == [
        "the file is 10 MB, larger than the 10 MB an import accepts: split it into smaller files"
    ]
    assert time.perf_counter() - started < 2


def test_the_size_limit_is_a_setting_and_a_file_at_the_limit_is_read(acme, tmp_path, settings):
    path = write_csv(tmp_path / "o.csv", opportunity_rows({}))
    settings.SCORECARD_IMPORT_MAX_BYTES = path.stat().st_size
    assert "1 created" in str(opportunities_import(org_slug="acme", path=path))
    settings.SCORECARD_IMPORT_MAX_BYTES = path.stat().st_size - 1
    assert lines(lambda: opportunities_import(org_slug="acme", path=path)) == [
        "the file is 1 KB, larger than the 1 KB an import accepts: split it into smaller files"
    ]


def _with_member(source, target, name: str, data: bytes):
    """A copy of the workbook ``source`` whose member ``name`` is ``data`` (deflated)."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for item in old.infolist():
            if item.filename != name:
                new.writestr(item, old.read(item.filename))
        new.writestr(name, data)
    return target


def test_an_xlsx_whose_shared_strings_inflate_to_40_mb_is_refused_fast(acme, tmp_path):
    book = write_xlsx(tmp_path / "plain.xlsx", opportunity_rows({}))
    item = b"<si><t>" + b"a" * 40 + b"</t></si>"
    body = item * (40 * MB // len(item))
    xml = b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">' + body + b"</sst>"
    bomb = _with_member(book, tmp_path / "bomb.xlsx", "xl/sharedStrings.xml", xml)
    assert bomb.stat().st_size < MB  # small on disk
    started = time.perf_counter()
    assert refused(acme, bomb) == [
        "the workbook's text (shared strings) would uncompress to 40 MB, more than the 32 MB an import "
        "accepts: save the sheet as CSV UTF-8 or split it"
    ]
    assert time.perf_counter() - started < 2


def test_an_xlsx_inflating_beyond_the_limit_is_refused_from_its_directory(acme, tmp_path, settings):
    settings.SCORECARD_IMPORT_MAX_UNCOMPRESSED_BYTES = 2 * MB
    book = write_xlsx(tmp_path / "plain.xlsx", opportunity_rows({}))
    padded = _with_member(book, tmp_path / "padded.xlsx", "docProps/padding.xml", b" " * (3 * MB))
    (line,) = refused(acme, padded)
    assert "would uncompress to 3 MB, more than the 2 MB an import accepts (a zip bomb?)" in line


def test_an_xlsx_with_an_entity_expansion_is_refused(acme, tmp_path):
    book = write_xlsx(tmp_path / "plain.xlsx", opportunity_rows({}))
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        b'<row r="1"><c r="A1" t="inlineStr"><is><t>&c;</t></is></c></row></sheetData></worksheet>'
    )
    hostile = _with_member(book, tmp_path / "laughs.xlsx", "xl/worksheets/sheet1.xml", laughs)
    (line,) = refused(acme, hostile)
    assert line.startswith("not a readable .xlsx workbook (EntitiesForbidden")


def test_a_nul_byte_after_the_first_4_kb_is_an_error_at_its_row_and_column(acme, tmp_path):
    rows = opportunity_rows(*[{} for _ in range(60)])
    rows[49]["account"] = "Glo\x00bex"  # row 51 (the header is row 1), well past the first 4 KB
    path = write_csv(tmp_path / "o.csv", rows)
    assert path.read_bytes().index(b"\x00") > 4096
    assert refused(acme, path) == [
        "row 51, column account: the cell contains a NUL character (a binary file?)"
    ]


def test_more_rows_than_the_limit_are_refused(acme, tmp_path, settings):
    settings.SCORECARD_IMPORT_MAX_ROWS = 3
    path = write_csv(tmp_path / "o.csv", opportunity_rows({}, {}, {}, {}))
    assert refused(acme, path) == [
        "row 5: the file has more than 3 rows, the most an import accepts: split it into smaller files"
    ]


def test_a_pdf_and_random_bytes_are_not_spreadsheets(acme, tmp_path):
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 20)
    assert refused(acme, pdf) == ["the file contains NUL bytes: it is binary or UTF-16, not a UTF-8 CSV file"]
    renamed = tmp_path / "report.xlsx"
    renamed.write_bytes(pdf.read_bytes())
    (line,) = refused(acme, renamed)
    assert line.startswith("the file is named .xlsx but is not an Excel workbook")


def test_reps_are_refused_the_same_way(acme, tmp_path, settings):
    settings.SCORECARD_IMPORT_MAX_BYTES = 10
    path = write_csv(tmp_path / "r.csv", [{"rep": "Carol"}], REP_COLUMNS)
    assert lines(lambda: reps_import(org_slug="acme", path=path)) == [
        "the file is 1 KB, larger than the 1 KB an import accepts: split it into smaller files"
    ]


def test_mapped_columns_are_read_from_the_files_names(tmp_path):
    path = write_csv(
        tmp_path / "p.csv", [{"Name": "Widget", "Brand": "Tools", "Other": "x"}], ["Other", "Name", "Brand"]
    )
    assert read_header(path, limits=Limits()) == ["Other", "Name", "Brand"]
    (row,) = read_table(
        path,
        columns=("product", "line", "list_price"),
        mapping={"product": "name", "line": "Brand", "list_price": ""},
        limits=Limits(),
    )
    assert (row.number, row.values) == (2, {"product": "Widget", "line": "Tools", "list_price": None})
    mapped = {"product": "Name", "list_price": "Price"}
    assert lines(lambda: list(read_table(path, columns=("product", "list_price"), mapping=mapped))) == [
        "row 1: the file has no column 'Price' (for list_price): map its columns again"
    ]
