"""maven-crm: counts and sums checked against the raw CSVs read with the csv module."""

from __future__ import annotations

import csv
import io
import shutil
from collections import Counter, defaultdict
from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django.db.models import Q

from sales.models import Opportunity, Product
from territories.models import Rep, Territory, TerritoryAssignment

from .helpers import MAVEN, dataset_dir, import_dataset, org_checksum, org_counts

pytestmark = [pytest.mark.django_db, pytest.mark.data(MAVEN)]


def _read(path):
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def raw():
    directory = dataset_dir(MAVEN)
    return SimpleNamespace(
        dir=directory,
        pipeline=_read(directory / "sales_pipeline.csv"),
        teams=_read(directory / "sales_teams.csv"),
        products=_read(directory / "products.csv"),
    )


@pytest.fixture(scope="module")
def maven(raw, module_db):
    return import_dataset("maven-crm", raw.dir, "maven")


def test_counts_match_the_raw_files_and_the_documented_figures(maven, raw):
    deals = len({r["opportunity_id"] for r in raw.pipeline})
    agents = len({r["sales_agent"] for r in raw.teams})
    territories = 1 + len({r["regional_office"] for r in raw.teams}) + len({r["manager"] for r in raw.teams})
    assert (deals, agents, territories) == (8800, 35, 10)
    counts = org_counts(maven.org)
    assert counts["opportunities"] == deals
    assert counts["reps"] == agents
    assert counts["territories"] == territories
    assert counts["products"] == len(raw.products) == 7
    by_stage = Counter(Opportunity.objects.filter(org=maven.org).values_list("stage", flat=True))
    assert by_stage == Counter(r["deal_stage"].lower() for r in raw.pipeline)


def test_won_revenue_matches_the_raw_sum_in_total_and_per_rep(maven, raw):
    won = [r for r in raw.pipeline if r["deal_stage"] == "Won"]
    expected = sum(Decimal(r["close_value"]) for r in won)
    stored = sum(Opportunity.objects.filter(org=maven.org, stage="won").values_list("amount", flat=True))
    assert stored == expected
    per_rep = defaultdict(Decimal)
    for r in won:
        per_rep[r["sales_agent"]] += Decimal(r["close_value"])
    stored_per_rep = defaultdict(Decimal)
    for name, amount in Opportunity.objects.filter(org=maven.org, stage="won").values_list(
        "rep__name", "amount"
    ):
        stored_per_rep[name] += amount
    assert stored_per_rep == per_rep


def test_agents_sit_in_their_managers_territory_from_before_the_first_deal(maven, raw):
    root = maven.org.root_territory().name
    for r in raw.teams:
        (assignment,) = TerritoryAssignment.objects.filter(rep__org=maven.org, rep__name=r["sales_agent"])
        assert assignment.territory.full_name == f"{root}/{r['regional_office']}/{r['manager']}"
        assert assignment.territory.owner_name == r["manager"]
        assert assignment.end is None
    first = min(date.fromisoformat(r[c]) for r in raw.pipeline for c in ("engage_date", "close_date") if r[c])
    assert TerritoryAssignment.objects.filter(rep__org=maven.org, start__gt=first).count() == 0
    assert Territory.objects.get(org=maven.org, full_name=f"{root}/Central").owner_name == ""


def test_product_label_gtxpro_is_gtx_pro_and_blank_accounts_stay_null(maven, raw):
    gtxpro = sum(1 for r in raw.pipeline if r["product"] == "GTXPro")
    assert gtxpro == 1480
    assert Opportunity.objects.filter(org=maven.org, products__name="GTX Pro").count() == gtxpro + sum(
        1 for r in raw.pipeline if r["product"] == "GTX Pro"
    )
    assert not Product.objects.filter(org=maven.org, name="GTXPro").exists()
    blank = sum(1 for r in raw.pipeline if not r["account"])
    assert Opportunity.objects.filter(org=maven.org, account__isnull=True).count() == blank == 1425
    gtx_pro = Product.objects.get(org=maven.org, name="GTX Pro")
    raw_pro = next(p for p in raw.products if p["product"] == "GTX Pro")
    assert (gtx_pro.line, gtx_pro.list_price) == (raw_pro["series"], Decimal(raw_pro["sales_price"]))


def test_open_deals_have_no_close_date_and_no_amount(maven):
    open_deals = Opportunity.objects.filter(org=maven.org, stage__in=["engaging", "prospecting"])
    assert open_deals.count() == 1589 + 500
    assert not open_deals.filter(Q(close_date__isnull=False) | Q(amount__isnull=False)).exists()
    assert not Opportunity.objects.filter(org=maven.org, stage="lost").exclude(amount=0).exists()


def test_second_import_changes_nothing(maven):
    before = (org_counts(maven.org), org_checksum(maven.org))
    again = import_dataset("maven-crm", maven.path, "maven")
    assert "opportunities: 0 created, 0 updated, 8800 unchanged" in again.output
    assert (org_counts(maven.org), org_checksum(maven.org)) == before


def test_reimporting_a_changed_row_updates_only_that_deal(maven, tmp_path):
    for f in maven.path.glob("*.csv"):
        shutil.copy(f, tmp_path / f.name)
    text = (tmp_path / "sales_pipeline.csv").read_text(encoding="utf-8")
    row = next(line for line in text.splitlines() if ",Won," in line)
    cells = row.split(",")
    changed = ",".join([*cells[:-1], str(int(cells[-1]) + 100)])
    (tmp_path / "sales_pipeline.csv").write_text(text.replace(row, changed, 1), encoding="utf-8")
    untouched = Opportunity.objects.exclude(external_id=cells[0]).filter(org=maven.org)
    before = list(untouched.order_by("pk").values_list("pk", "amount", "updated_at"))
    out = io.StringIO()
    call_command("import_dataset", "maven-crm", str(tmp_path), "--org", "maven", stdout=out)
    assert "opportunities: 0 created, 1 updated, 8799 unchanged" in out.getvalue()
    deal = Opportunity.objects.get(org=maven.org, external_id=cells[0])
    assert deal.amount == Decimal(cells[-1]) + 100
    assert list(untouched.order_by("pk").values_list("pk", "amount", "updated_at")) == before
    assert Rep.objects.filter(org=maven.org).count() == 35
