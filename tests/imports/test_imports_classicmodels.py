"""classicmodels: reps, tree and order revenue checked against the raw `;`-separated CSVs."""

from __future__ import annotations

import csv
import io
import shutil
from collections import Counter
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from sales.models import Opportunity
from scorecard.services import organization_create
from territories.models import Rep, Territory, TerritoryAssignment

from .helpers import CLASSICMODELS, dataset_dir, import_dataset, org_checksum, org_counts

pytestmark = [pytest.mark.django_db, pytest.mark.data(CLASSICMODELS)]


def _read(path):
    # The csv module never turns the territory "NA" into a missing value.
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter=";"))


@pytest.fixture(scope="module")
def raw():
    directory = dataset_dir(CLASSICMODELS)
    return SimpleNamespace(
        dir=directory,
        **{
            name: _read(directory / f"{name}.csv")
            for name in ("offices", "employees", "orders", "orderdetails", "customers")
        },
    )


@pytest.fixture(scope="module")
def classic(raw, module_db):
    return import_dataset("classicmodels", raw.dir, "classic")


def test_counts_match_the_raw_files_and_the_documented_figures(classic, raw):
    reps = [e for e in raw.employees if e["jobTitle"] == "Sales Rep"]
    territories = 1 + len({o["territory"] for o in raw.offices}) + len(raw.offices)
    assert (len(raw.orders), len(reps), territories) == (326, 17, 12)
    counts = org_counts(classic.org)
    assert counts["opportunities"] == len(raw.orders)
    assert counts["reps"] == len(reps)
    assert counts["territories"] == territories
    assert set(Rep.objects.filter(org=classic.org).values_list("name", flat=True)) == {
        f"{e['firstName']} {e['lastName']}" for e in reps
    }


def test_won_revenue_is_the_sum_of_order_lines_of_orders_not_cancelled(classic, raw):
    status = {o["orderNumber"]: o["status"] for o in raw.orders}
    expected = sum(
        int(d["quantityOrdered"]) * Decimal(d["priceEach"])
        for d in raw.orderdetails
        if status[d["orderNumber"]] != "Cancelled"
    )
    stored = sum(Opportunity.objects.filter(org=classic.org, stage="won").values_list("amount", flat=True))
    assert stored == expected
    stages = Counter(Opportunity.objects.filter(org=classic.org).values_list("stage", flat=True))
    assert stages == {"lost": Counter(status.values())["Cancelled"], "won": len(raw.orders) - 6}
    assert stages["lost"] == 6


def test_reps_sit_in_their_office_under_its_territory_na_included(classic, raw):
    root = classic.org.root_territory().name
    offices = {o["officeCode"]: o for o in raw.offices}
    for e in raw.employees:
        if e["jobTitle"] != "Sales Rep":
            continue
        office = offices[e["officeCode"]]
        (assignment,) = TerritoryAssignment.objects.filter(
            rep__org=classic.org, rep__name=f"{e['firstName']} {e['lastName']}"
        )
        assert assignment.territory.full_name == f"{root}/{office['territory']}/{office['city']}"
    na = Territory.objects.get(org=classic.org, full_name=f"{root}/NA")
    assert sorted(c.name for c in Territory.objects.get_children(na)) == ["Boston", "NYC", "San Francisco"]
    assert na.owner_name == "Anthony Bow"
    assert Territory.objects.get(org=classic.org, full_name=f"{root}/EMEA").owner_name == "Gerard Bondur"


def test_deals_are_credited_to_the_customers_rep(classic, raw):
    rep_of_customer = {c["customerNumber"]: c["salesRepEmployeeNumber"] for c in raw.customers}
    names = {e["employeeNumber"]: f"{e['firstName']} {e['lastName']}" for e in raw.employees}
    expected = Counter(names[rep_of_customer[o["customerNumber"]]] for o in raw.orders)
    stored = Counter(Opportunity.objects.filter(org=classic.org).values_list("rep__name", flat=True))
    assert stored == expected
    assert stored["Tom King"] == stored["Yoshimi Kato"] == 0


def test_second_import_changes_nothing(classic):
    before = (org_counts(classic.org), org_checksum(classic.org))
    again = import_dataset("classicmodels", classic.path, "classic")
    assert "opportunities: 0 created, 0 updated, 326 unchanged" in again.output
    assert (org_counts(classic.org), org_checksum(classic.org)) == before


def test_a_bad_source_row_is_reported_in_its_file_and_nothing_is_written(classic, tmp_path):
    for f in classic.path.glob("*.csv"):
        shutil.copy(f, tmp_path / f.name)
    orders = (tmp_path / "orders.csv").read_text(encoding="utf-8")
    (tmp_path / "orders.csv").write_text(orders.replace('"2003-01-06"', '"2003-02-30"', 1), encoding="utf-8")
    before = (org_counts(classic.org), org_checksum(classic.org))
    err = io.StringIO()
    with pytest.raises(CommandError, match="1 error"):
        call_command("import_dataset", "classicmodels", str(tmp_path), "--org", "classic", stderr=err)
    assert err.getvalue().splitlines() == [
        "orders.csv, row 2, column orderDate: '2003-02-30' is not a real calendar date"
    ]
    assert (org_counts(classic.org), org_checksum(classic.org)) == before


def test_the_tree_hangs_from_an_existing_organisations_root(raw, db):
    organization_create(name="Acme", slug="acme", root_name="Whole company")
    org = import_dataset("classicmodels", raw.dir, "acme").org
    assert org.name == "Acme"
    paths = set(Territory.objects.filter(org=org).values_list("full_name", flat=True))
    assert "Whole company/NA/Boston" in paths
    assert all(p.startswith("Whole company") for p in paths)
