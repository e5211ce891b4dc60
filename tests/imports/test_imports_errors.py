"""Bad input: every error is reported with its row (header = row 1) and column, and nothing is written."""

from __future__ import annotations

import io
import random
from datetime import date

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from imports.errors import ImportFailed
from imports.services import opportunities_import, reps_import
from sales.models import Opportunity, Product
from scorecard.models import Organization

from .helpers import REP_COLUMNS, opportunity_rows, org_checksum, org_counts, write_csv, write_xlsx


def rejected(org, path, command: str = "import_opportunities") -> list[str]:
    """Runs the command, expects it to fail, checks nothing changed; returns the error lines."""
    before = (org_counts(org), org_checksum(org))
    err = io.StringIO()
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command(command, str(path), "--org", org.slug, stdout=io.StringIO(), stderr=err)
    assert (org_counts(org), org_checksum(org)) == before
    return err.getvalue().splitlines()


def test_unknown_rep(acme, tmp_path):
    path = write_csv(tmp_path / "o.csv", opportunity_rows({}, {"rep": "Carol King"}))
    assert rejected(acme, path) == [
        "row 3, column rep: unknown rep 'Carol King' (import it with import_reps first)"
    ]


def test_unknown_identified_by_rep(acme, tmp_path):
    path = write_csv(tmp_path / "o.csv", opportunity_rows({}, {"identified_by": "Nobody"}))
    (line,) = rejected(acme, path)
    assert line.startswith("row 3, column identified_by: unknown rep 'Nobody'")


def test_unknown_product(acme, tmp_path):
    path = write_csv(tmp_path / "o.csv", opportunity_rows({}, {"products": "Widget; Sprocket"}))
    assert rejected(acme, path) == ["row 3, column products: unknown product 'Sprocket'"]


def test_a_deal_opened_after_its_product_was_retired_cannot_name_it(acme, tmp_path):
    """Gadget is retired from 2017-02-01: the deal opened on 2017-01-10 keeps it, the one opened that
    day cannot name it."""
    Product.objects.filter(org=acme, name="Gadget").update(retired_on=date(2017, 2, 1))
    rows = opportunity_rows(
        {"products": "Gadget"},
        {"products": "Widget; Gadget", "created_date": "2017-02-01", "engage_date": "2017-02-02"},
    )
    path = write_csv(tmp_path / "o.csv", rows)
    assert rejected(acme, path) == [
        "row 3, column products: product 'Gadget' is retired from 2017-02-01: a deal created on 2017-02-01 "
        "cannot name it"
    ]
    path = write_csv(tmp_path / "o.csv", rows[:1])
    call_command("import_opportunities", str(path), "--org", acme.slug, stdout=io.StringIO())
    deal = Opportunity.objects.get(org=acme, external_id="OPP-1")
    assert [p.name for p in deal.products.all()] == ["Gadget"]


def test_unparsable_date(acme, tmp_path):
    path = write_csv(tmp_path / "o.csv", opportunity_rows({}, {"close_date": "15/03/2017"}))
    assert rejected(acme, path) == [
        "row 3, column close_date: '15/03/2017' is not a date in the form YYYY-MM-DD"
    ]


def test_impossible_date(acme, tmp_path):
    path = write_csv(tmp_path / "o.csv", opportunity_rows({}, {"close_date": "2017-02-30"}))
    assert rejected(acme, path) == ["row 3, column close_date: '2017-02-30' is not a real calendar date"]


def test_close_before_engage(acme, tmp_path):
    path = write_csv(
        tmp_path / "o.csv", opportunity_rows({}, {"engage_date": "2017-03-01", "close_date": "2017-02-01"})
    )
    assert rejected(acme, path) == [
        "row 3, column close_date: close_date 2017-02-01 is before engage_date 2017-03-01"
    ]


def test_negative_amount(acme, tmp_path):
    path = write_csv(tmp_path / "o.csv", opportunity_rows({}, {"amount": "-5"}))
    assert rejected(acme, path) == ["row 3, column amount: the amount must not be negative (-5)"]


def test_unknown_stage(acme, tmp_path):
    path = write_csv(tmp_path / "o.csv", opportunity_rows({}, {"stage": "closed-won"}))
    (line,) = rejected(acme, path)
    assert line.startswith(
        "row 3, column stage: unknown stage 'closed-won'; expected won, lost or an open stage"
    )


def test_a_lost_deal_needs_a_close_date_too(acme, tmp_path):
    path = write_csv(tmp_path / "o.csv", opportunity_rows({"stage": "lost", "close_date": ""}))
    assert rejected(acme, path) == ["row 2, column close_date: a lost deal needs a close_date"]


def test_duplicate_id_within_the_file(acme, tmp_path):
    path = write_csv(tmp_path / "o.csv", opportunity_rows({}, {"opportunity_id": "OPP-1"}))
    assert rejected(acme, path) == [
        "row 3, column opportunity_id: duplicate opportunity_id 'OPP-1' (first on row 2)"
    ]


def test_a_won_deal_needs_a_close_date(acme, tmp_path):
    path = write_csv(tmp_path / "o.csv", opportunity_rows({"close_date": ""}, {"stage": "engaging"}))
    assert rejected(acme, path) == ["row 2, column close_date: a won deal needs a close_date"]


def test_an_open_deals_close_date_is_its_expected_close_and_the_export_imports_again(acme, tmp_path):
    """The deal form and the export give an open deal its expected close date; the import takes it
    back (before, 243 of 1,000 exported rows were refused), and the deal stays open."""
    path = write_csv(
        tmp_path / "o.csv", opportunity_rows({"stage": "engaging"}, {"stage": "Engaging", "close_date": ""})
    )
    call_command("import_opportunities", str(path), "--org", acme.slug, stdout=io.StringIO())
    deals = {o.external_id: o for o in Opportunity.objects.filter(org=acme)}
    assert (deals["OPP-1"].stage, str(deals["OPP-1"].close_date)) == ("engaging", "2017-03-15")
    assert (deals["OPP-2"].stage, deals["OPP-2"].close_date) == ("engaging", None)
    exported = tmp_path / "again.csv"
    call_command("export_opportunities", str(exported), "--org", acme.slug, stdout=io.StringIO())
    out = io.StringIO()
    call_command("import_opportunities", str(exported), "--org", acme.slug, stdout=out)
    assert "2 unchanged" in out.getvalue(), out.getvalue()


def test_every_bad_row_is_reported_not_only_the_first(acme, tmp_path):
    path = write_csv(
        tmp_path / "o.csv",
        opportunity_rows({"rep": "X"}, {}, {"amount": "abc", "poc": "maybe"}, {"channel": "reseller"}),
    )
    lines = rejected(acme, path)
    assert [line.split(":")[0] for line in lines] == [
        "row 2, column rep",
        "row 4, column amount",
        "row 4, column poc",
        "row 5, column channel",
    ]


def test_semicolon_separated_file_lists_the_expected_columns(acme, tmp_path):
    path = write_csv(tmp_path / "o.csv", opportunity_rows({}), delimiter=";")
    (line,) = rejected(acme, path)
    assert line.startswith("row 1: the header is a single column")
    assert "looks semicolon-separated" in line
    assert "opportunity_id, rep, account, products, stage, created_date" in line


def test_missing_and_unknown_columns(acme, tmp_path):
    columns = [c for c in opportunity_rows({})[0] if c != "poc"] + ["notes"]
    path = write_csv(tmp_path / "o.csv", opportunity_rows({}), columns=columns)
    (line,) = rejected(acme, path)
    assert line.startswith("row 1: missing column(s): poc; unknown column(s): notes. Expected the columns:")


def test_utf16_file(acme, tmp_path):
    path = write_csv(tmp_path / "o.csv", opportunity_rows({}), encoding="utf-16")
    assert rejected(acme, path) == ["the file is UTF-16 encoded; save it as 'CSV UTF-8'"]


def test_latin1_bytes_are_reported_at_their_row(acme, tmp_path):
    path = write_csv(tmp_path / "o.csv", opportunity_rows({}, {"account": "Zoë Café"}), encoding="latin-1")
    (line,) = rejected(acme, path)
    assert line.startswith("row 3: the file is not valid UTF-8 (byte 0xeb")
    assert "Latin-1" in line


def test_empty_file(acme, tmp_path):
    path = tmp_path / "o.csv"
    path.write_bytes(b"")
    (line,) = rejected(acme, path)
    assert line.startswith("the file is empty: expected a header row with the columns opportunity_id, rep")


def test_png_named_xlsx_is_not_a_spreadsheet(acme, tmp_path):
    path = tmp_path / "o.xlsx"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + random.Random(1).randbytes(500))
    (line,) = rejected(acme, path)
    assert line.startswith("the file is named .xlsx but is not an Excel workbook")


def test_random_bytes_are_not_a_spreadsheet(acme, tmp_path):
    noise = random.Random(2).randbytes(4000)
    (tmp_path / "o.xlsx").write_bytes(noise)
    (tmp_path / "o.csv").write_bytes(noise)
    assert rejected(acme, tmp_path / "o.xlsx")[0].startswith("the file is named .xlsx but is not")
    (line,) = rejected(acme, tmp_path / "o.csv")
    assert "NUL bytes" in line or "not valid UTF-8" in line


def test_zip_that_is_not_a_workbook(acme, tmp_path):
    import zipfile

    path = tmp_path / "o.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "not a workbook")
    (line,) = rejected(acme, path)
    assert line.startswith("not a readable .xlsx workbook")


def test_xlsx_errors_give_the_sheet_row(acme, tmp_path):
    path = write_xlsx(tmp_path / "o.xlsx", opportunity_rows({}, {}, {"close_date": "2017-02-30"}))
    assert rejected(acme, path) == ["row 4, column close_date: '2017-02-30' is not a real calendar date"]


def test_service_raises_with_row_and_column(acme, tmp_path):
    path = write_csv(tmp_path / "o.csv", opportunity_rows({}, {"rep": "Carol King"}))
    with pytest.raises(ImportFailed) as failed:
        opportunities_import(org_slug="acme", path=path)
    (error,) = failed.value.errors
    assert (error.row, error.column) == (3, "rep")


def test_a_failed_import_does_not_create_the_organisation(db, tmp_path):
    path = write_csv(tmp_path / "o.csv", opportunity_rows({"products": "Widget"}))
    with pytest.raises(ImportFailed):
        opportunities_import(org_slug="newco", path=path)
    assert not Organization.objects.filter(slug="newco").exists()


def test_data_set_directory_without_its_files(db, tmp_path):
    err = io.StringIO()
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import_dataset", "maven-crm", str(tmp_path), "--org", "maven", stderr=err)
    assert err.getvalue().splitlines() == [f"sales_teams.csv: file not found: {tmp_path / 'sales_teams.csv'}"]
    assert not Organization.objects.filter(slug="maven").exists()


# --- reps ----------------------------------------------------------------------------------------


def rep_file(tmp_path, *rows: tuple[str, str, str, str, str]):
    return write_csv(
        tmp_path / "reps.csv", [dict(zip(REP_COLUMNS, r, strict=True)) for r in rows], REP_COLUMNS
    )


def test_rep_path_under_another_root(acme, tmp_path):
    path = rep_file(tmp_path, ("Carol King", "", "Other/East", "2017-01-01", ""))
    assert rejected(acme, path, "import_reps") == [
        "row 2, column territory: the path 'Other/East' must start with the root territory 'Acme'"
    ]


def test_rep_overlapping_assignments(acme, tmp_path):
    path = rep_file(
        tmp_path,
        ("Carol King", "", "Acme/East", "2017-01-01", "2017-06-30"),
        ("Carol King", "", "Acme/West", "2017-06-30", ""),
    )
    (line,) = rejected(acme, path, "import_reps")
    assert line.startswith(
        "row 3, column start_date: Carol King's assignment 2017-06-30 – … overlaps the one on row 2"
    )


def test_rep_impossible_and_missing_dates(acme, tmp_path):
    path = rep_file(
        tmp_path,
        ("Carol King", "", "Acme/East", "2017-02-30", ""),
        ("Dan Brown", "", "Acme/East", "", ""),
        ("Eve Adams", "", "Acme/East", "2017-05-01", "2017-04-01"),
        ("Fay Wong", "not-an-email", "", "", ""),
    )
    assert rejected(acme, path, "import_reps") == [
        "row 2, column start_date: '2017-02-30' is not a real calendar date",
        "row 3, column start_date: a start date is required for an assignment",
        "row 4, column end_date: end_date 2017-04-01 is before start_date 2017-05-01",
        "row 5, column email: 'not-an-email' is not a valid email address",
    ]


def test_reps_file_with_wrong_delimiter(acme, tmp_path):
    path = write_csv(tmp_path / "r.csv", [], REP_COLUMNS, delimiter="\t")
    (line,) = rejected(acme, path, "import_reps")
    assert "looks tab-separated" in line and "rep, email, territory, start_date, end_date" in line


def test_reps_service_reports_row_and_column(acme, tmp_path):
    path = rep_file(tmp_path, ("", "", "Acme/East", "2017-01-01", ""))
    with pytest.raises(ImportFailed) as failed:
        reps_import(org_slug="acme", path=path)
    assert [(e.row, e.column) for e in failed.value.errors] == [(2, "rep")]
