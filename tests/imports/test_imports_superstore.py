"""superstore: orders, revenue and the regions' credit checked against the .xls read with xlrd."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from decimal import Decimal
from types import SimpleNamespace

import pytest
import xlrd

from sales.models import Opportunity
from territories.models import Territory

from .helpers import SUPERSTORE, dataset_dir, import_dataset, org_checksum, org_counts

pytestmark = [pytest.mark.django_db, pytest.mark.data(SUPERSTORE)]


@pytest.fixture(scope="module")
def raw():
    directory = dataset_dir(SUPERSTORE)
    book = xlrd.open_workbook(str(directory / "Sample - Superstore.xls"))
    sheet = book.sheet_by_name("Orders")
    header = sheet.row_values(0)
    lines = [dict(zip(header, sheet.row_values(i), strict=True)) for i in range(1, sheet.nrows)]
    people = book.sheet_by_name("People")
    owners = {people.cell_value(i, 1): people.cell_value(i, 0) for i in range(1, people.nrows)}
    return SimpleNamespace(dir=directory, lines=lines, owners=owners)


@pytest.fixture(scope="module")
def superstore(raw, module_db):
    return import_dataset("superstore", raw.dir, "superstore")


def test_one_won_deal_per_order_and_five_territories(superstore, raw):
    orders = {line["Order ID"] for line in raw.lines}
    territories = 1 + len({line["Region"] for line in raw.lines})
    assert (len(orders), territories) == (5009, 5)
    counts = org_counts(superstore.org)
    assert counts["opportunities"] == len(orders)
    assert counts["territories"] == territories
    assert counts["reps"] == 0
    assert counts["accounts"] == len({line["Customer ID"] for line in raw.lines}) == 793
    assert counts["products"] == len({line["Product ID"] for line in raw.lines}) == 1862
    assert set(Opportunity.objects.filter(org=superstore.org).values_list("stage", flat=True)) == {"won"}


def _line_value(value: float) -> Decimal:
    # Sales and Profit have at most 4 decimals; some doubles in the file carry binary noise beyond.
    return Decimal(str(round(value, 4)))


def test_won_revenue_and_profit_match_the_sums_of_the_order_lines(superstore, raw):
    won = Opportunity.objects.filter(org=superstore.org, stage="won")
    revenue = sum(won.values_list("amount", flat=True))
    profit = sum(won.values_list("profit", flat=True))
    assert revenue == sum(_line_value(line["Sales"]) for line in raw.lines)
    assert profit == sum(_line_value(line["Profit"]) for line in raw.lines)
    assert math.isclose(float(revenue), math.fsum(line["Sales"] for line in raw.lines), abs_tol=0.005)
    assert math.isclose(float(profit), math.fsum(line["Profit"] for line in raw.lines), abs_tol=0.005)


def test_repless_deals_are_credited_to_their_region_whose_manager_owns_it(superstore, raw):
    root = superstore.org.root_territory().name
    region_of = {line["Order ID"]: line["Region"] for line in raw.lines}
    revenue = defaultdict(Decimal)
    for line in raw.lines:
        revenue[line["Region"]] += _line_value(line["Sales"])
    deals = Opportunity.objects.filter(org=superstore.org)
    assert not deals.filter(rep__isnull=False).exists()
    assert not deals.filter(territory__isnull=True).exists()
    stored = defaultdict(lambda: [0, Decimal(0)])
    for region, amount in deals.values_list("territory__name", "amount"):
        stored[region][0] += 1
        stored[region][1] += amount
    stored = {region: tuple(v) for region, v in stored.items()}
    expected = {region: (n, revenue[region]) for region, n in Counter(region_of.values()).items()}
    assert stored == expected
    for region, manager in raw.owners.items():
        assert Territory.objects.get(org=superstore.org, full_name=f"{root}/{region}").owner_name == manager


def test_order_date_account_and_products_of_one_order(superstore, raw):
    order_id = raw.lines[0]["Order ID"]
    lines = [line for line in raw.lines if line["Order ID"] == order_id]
    deal = Opportunity.objects.get(org=superstore.org, external_id=order_id)
    day = xlrd.xldate_as_datetime(lines[0]["Order Date"], 0).date()
    assert (deal.close_date, deal.created_date, deal.engage_date) == (day, day, None)
    assert deal.account.external_id == lines[0]["Customer ID"]
    assert set(deal.products.values_list("name", flat=True)) == {line["Product ID"] for line in lines}
    assert {p.line for p in deal.products.all()} == {line["Category"] for line in lines}


def test_second_import_changes_nothing(superstore):
    before = (org_counts(superstore.org), org_checksum(superstore.org))
    again = import_dataset("superstore", superstore.path / "Sample - Superstore.xls", "superstore")
    assert "opportunities: 0 created, 0 updated, 5009 unchanged" in again.output
    assert (org_counts(superstore.org), org_checksum(superstore.org)) == before
