"""import_products, import_certifications, import_programmes (DESIGN §5): rows stored as given, re-imports
change nothing, every bad row reported with its row and column, exports re-import unchanged."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from people.models import Certification, CertificationType, Program, ProgramParticipation
from sales.models import Product
from territories.models import Rep

from .helpers import write_csv, write_xlsx

PRODUCT_COLUMNS = ["product", "line", "list_price"]
CERT_COLUMNS = ["rep", "certification", "category", "issuer", "earned", "expires"]
PROGRAMME_COLUMNS = ["rep", "programme", "kind", "start", "end"]


def run(command: str, path, org: str = "acme") -> str:
    out = io.StringIO()
    call_command(command, str(path), "--org", org, stdout=out)
    return out.getvalue().splitlines()[0]


def rejected(command: str, path, org: str = "acme") -> list[str]:
    err = io.StringIO()
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command(command, str(path), "--org", org, stdout=io.StringIO(), stderr=err)
    return err.getvalue().splitlines()


def exported(command: str, org: str = "acme") -> list[str]:
    out = io.StringIO()
    call_command(command, "-", "--org", org, stdout=out)
    return out.getvalue().splitlines()


def snapshot(model, org, *fields):
    return sorted(model.objects.filter(org=org).values_list("pk", *fields))


# --- products ---------------------------------------------------------------------------------------


def test_products_are_created_updated_and_left_alone_by_name(acme, tmp_path):
    path = write_csv(
        tmp_path / "p.csv",
        [
            {"product": "Widget", "line": "Tools", "list_price": "120.50"},  # price changed (was 100)
            {"product": "Gadget", "line": "Gizmos", "list_price": "250"},  # as stored
            {"product": "Sprocket", "line": "Tools", "list_price": ""},  # new, no price
        ],
        PRODUCT_COLUMNS,
    )
    assert run("import_products", path) == "3 row(s) into 'acme': 1 created, 1 updated, 1 unchanged"
    stored = {p.name: (p.line, p.list_price) for p in Product.objects.filter(org=acme)}
    assert stored == {
        "Widget": ("Tools", Decimal("120.50")),
        "Gadget": ("Gizmos", Decimal("250")),
        "Sprocket": ("Tools", None),
    }
    before = snapshot(Product, acme, "name", "line", "list_price", "description")
    assert run("import_products", path) == "3 row(s) into 'acme': 0 created, 0 updated, 3 unchanged"
    assert snapshot(Product, acme, "name", "line", "list_price", "description") == before


def test_bad_product_rows_are_each_reported(acme, tmp_path):
    path = write_csv(
        tmp_path / "p.csv",
        [
            {"product": "Widget", "line": "Tools", "list_price": "-1"},
            {"product": "", "line": "Tools", "list_price": "5"},
            {"product": "Bolt", "line": "", "list_price": "12 EUR"},
            {"product": "Nut", "line": "Tools", "list_price": "1"},
            {"product": "Nut", "line": "Tools", "list_price": "2"},
        ],
        PRODUCT_COLUMNS,
    )
    before = snapshot(Product, acme, "name", "line", "list_price")
    assert rejected("import_products", path) == [
        "row 2, column list_price: the list price must not be negative (-1)",
        "row 3, column product: the product name is required",
        "row 4, column line: the product line is required",
        "row 4, column list_price: '12 EUR' is not a number (use a dot for decimals, no separators)",
        "row 6, column product: duplicate product 'Nut' (first on row 5)",
    ]
    assert snapshot(Product, acme, "name", "line", "list_price") == before


def test_import_products_creates_a_missing_organisation(db, tmp_path):
    path = write_csv(tmp_path / "p.csv", [{"product": "Widget", "line": "Tools"}], PRODUCT_COLUMNS)
    assert run("import_products", path, org="newco") == (
        "1 row(s) into 'newco': 1 created, 0 updated, 0 unchanged (organisation created)"
    )


# --- certifications ---------------------------------------------------------------------------------


CERTS = [
    {
        "rep": "Alice Smith",
        "certification": "Cloud Architect",
        "category": "product",
        "issuer": "Acme Academy",
        "earned": "2023-02-01",
        "expires": "2025-02-01",
    },
    {
        "rep": "Bob Jones",
        "certification": "TOGAF",
        "category": "industry",
        "issuer": "The Open Group",
        "earned": "2022-06-15",
        "expires": "",
    },
    {
        "rep": "Alice Smith",
        "certification": "LOMA 280",
        "category": "customer-industry",
        "issuer": "LOMA",
        "earned": "2021-09-30",
        "expires": "",
    },
]


def test_certifications_and_their_types_are_stored_as_given(acme, tmp_path):
    path = write_csv(tmp_path / "c.csv", CERTS, CERT_COLUMNS)
    assert run("import_certifications", path) == (
        "3 row(s) into 'acme': 3 created, 0 updated, 0 unchanged; 3 certification types created"
    )
    stored = {
        (c.rep.name, c.type.name, c.type.category, c.type.issuer, c.earned, c.expires)
        for c in Certification.objects.filter(org=acme).select_related("rep", "type")
    }
    assert stored == {
        ("Alice Smith", "Cloud Architect", "product", "Acme Academy", date(2023, 2, 1), date(2025, 2, 1)),
        ("Bob Jones", "TOGAF", "industry", "The Open Group", date(2022, 6, 15), None),
        ("Alice Smith", "LOMA 280", "customer_industry", "LOMA", date(2021, 9, 30), None),
    }


def test_a_certification_reimport_changes_nothing_and_a_new_expiry_updates_it(acme, tmp_path):
    run("import_certifications", write_csv(tmp_path / "c.csv", CERTS, CERT_COLUMNS))
    before = snapshot(Certification, acme, "rep_id", "type_id", "earned", "expires")
    types = snapshot(CertificationType, acme, "name", "category", "issuer")
    assert run("import_certifications", tmp_path / "c.csv") == (
        "3 row(s) into 'acme': 0 created, 0 updated, 3 unchanged"
    )
    assert snapshot(Certification, acme, "rep_id", "type_id", "earned", "expires") == before
    assert snapshot(CertificationType, acme, "name", "category", "issuer") == types
    renewed = [{**CERTS[0], "expires": "2026-02-01"}]
    assert run("import_certifications", write_csv(tmp_path / "r.csv", renewed, CERT_COLUMNS)) == (
        "1 row(s) into 'acme': 0 created, 1 updated, 0 unchanged"
    )
    assert Certification.objects.get(org=acme, type__name="Cloud Architect").expires == date(2026, 2, 1)


def test_bad_certification_rows_are_each_reported(acme, tmp_path):
    rows = [
        {**CERTS[0], "rep": "Carol King"},
        {**CERTS[0], "earned": "2023-02-30"},
        {**CERTS[0], "expires": "2022-01-01"},
        {**CERTS[0], "category": "vendor"},
        {**CERTS[1], "earned": ""},
        CERTS[1],
        {**CERTS[1], "category": "product", "earned": "2023-01-01"},
        CERTS[2],
        CERTS[2],
    ]
    path = write_csv(tmp_path / "c.csv", rows, CERT_COLUMNS)
    assert rejected("import_certifications", path) == [
        "row 2, column rep: unknown rep 'Carol King' (import it with import_reps first)",
        "row 3, column earned: '2023-02-30' is not a real calendar date",
        "row 4, column expires: expires 2022-01-01 is before earned 2023-02-01",
        "row 5, column category: unknown category 'vendor'; expected one of product, industry, customer-industry",
        "row 6, column earned: the date it was earned is required",
        "row 8, column category: certification 'TOGAF' is described differently on row 7 "
        "(industry, The Open Group); one description per certification",
        "row 10, column earned: duplicate certification LOMA 280 of Alice Smith earned 2021-09-30 (first on row 9)",
    ]
    assert not Certification.objects.filter(org=acme).exists()
    assert not CertificationType.objects.filter(org=acme).exists()


def test_certifications_need_an_existing_organisation(db, tmp_path):
    path = write_csv(tmp_path / "c.csv", CERTS, CERT_COLUMNS)
    assert rejected("import_certifications", path, org="newco") == [
        "unknown organisation 'newco': create it first (import_reps creates one)"
    ]


# --- programmes -------------------------------------------------------------------------------------


PROGRAMMES = [
    {
        "rep": "Alice Smith",
        "programme": "Rising stars",
        "kind": "high-potential",
        "start": "2023-01-01",
        "end": "",
    },
    {
        "rep": "Bob Jones",
        "programme": "Rising stars",
        "kind": "high-potential",
        "start": "2023-03-01",
        "end": "2023-12-31",
    },
    {
        "rep": "Bob Jones",
        "programme": "Sales academy",
        "kind": "education",
        "start": "2022-01-10",
        "end": "2022-02-10",
    },
]


def test_programme_participations_are_stored_and_a_reimport_changes_nothing(acme, tmp_path):
    path = write_xlsx(tmp_path / "p.xlsx", PROGRAMMES, PROGRAMME_COLUMNS)
    assert run("import_programmes", path) == (
        "3 row(s) into 'acme': 3 created, 0 updated, 0 unchanged; 2 programmes created"
    )
    stored = {
        (p.rep.name, p.program.name, p.program.kind, p.start, p.end)
        for p in ProgramParticipation.objects.filter(org=acme).select_related("rep", "program")
    }
    assert stored == {
        ("Alice Smith", "Rising stars", "high_potential", date(2023, 1, 1), None),
        ("Bob Jones", "Rising stars", "high_potential", date(2023, 3, 1), date(2023, 12, 31)),
        ("Bob Jones", "Sales academy", "education", date(2022, 1, 10), date(2022, 2, 10)),
    }
    before = snapshot(ProgramParticipation, acme, "rep_id", "program_id", "start", "end")
    assert run("import_programmes", path) == "3 row(s) into 'acme': 0 created, 0 updated, 3 unchanged"
    assert snapshot(ProgramParticipation, acme, "rep_id", "program_id", "start", "end") == before
    assert Program.objects.filter(org=acme).count() == 2


def test_bad_programme_rows_are_each_reported(acme, tmp_path):
    rows = [
        {**PROGRAMMES[0], "kind": "mentoring"},
        {**PROGRAMMES[0], "start": "01/02/2023"},
        {**PROGRAMMES[1], "end": "2023-02-01"},
        {**PROGRAMMES[2], "rep": ""},
    ]
    path = write_csv(tmp_path / "p.csv", rows, PROGRAMME_COLUMNS)
    assert rejected("import_programmes", path) == [
        "row 2, column kind: unknown kind 'mentoring'; expected one of diversity, career-movement, "
        "high-potential, education, training",
        "row 3, column start: '01/02/2023' is not a date in the form YYYY-MM-DD",
        "row 4, column end: end 2023-02-01 is before start 2023-03-01",
        "row 5, column rep: the rep name is required",
    ]
    assert not ProgramParticipation.objects.filter(org=acme).exists()


# --- exports ----------------------------------------------------------------------------------------


def test_each_export_writes_its_import_columns_and_re_imports_unchanged(acme, tmp_path):
    run("import_certifications", write_csv(tmp_path / "c.csv", CERTS, CERT_COLUMNS))
    run("import_programmes", write_csv(tmp_path / "p.csv", PROGRAMMES, PROGRAMME_COLUMNS))
    assert exported("export_products") == [
        "product,line,list_price",
        "Gadget,Gizmos,250",
        "Widget,Tools,100",
    ]
    assert exported("export_certifications") == [
        "rep,certification,category,issuer,earned,expires",
        "Alice Smith,Cloud Architect,product,Acme Academy,2023-02-01,2025-02-01",
        "Alice Smith,LOMA 280,customer-industry,LOMA,2021-09-30,",
        "Bob Jones,TOGAF,industry,The Open Group,2022-06-15,",
    ]
    assert exported("export_programmes") == [
        "rep,programme,kind,start,end",
        "Alice Smith,Rising stars,high-potential,2023-01-01,",
        "Bob Jones,Rising stars,high-potential,2023-03-01,2023-12-31",
        "Bob Jones,Sales academy,education,2022-01-10,2022-02-10",
    ]
    for kind, suffix in [("products", "xlsx"), ("certifications", "csv"), ("programmes", "xlsx")]:
        out = tmp_path / f"{kind}.{suffix}"
        call_command(f"export_{kind}", str(out), "--org", "acme", stdout=io.StringIO())
        assert ": 0 created, 0 updated" in run(f"import_{kind}", out)
    assert Rep.objects.filter(org=acme).count() == 2
