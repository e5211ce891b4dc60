"""Differential tests: kpi_report against figures computed here, independently, from the raw files.

The expectations use only the csv module and xlrd over ../shared/data, never the code under test.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import transaction

from scorecard.models import Organization

DATA = Path(settings.SCORECARD_DATA_DIR)
MAVEN = DATA / "maven-crm-sales-opportunities"
CLASSIC = DATA / "mysqltutorial-classicmodels"
SUPERSTORE = DATA / "tableau-sample-superstore" / "Sample - Superstore.xls"

# Missing data skips locally and fails in CI (SCORECARD_REQUIRE_SERVICES=1), like the service markers.
pytestmark = pytest.mark.data(
    "maven-crm-sales-opportunities", "mysqltutorial-classicmodels", "tableau-sample-superstore"
)

PERIODS = ["2017", "2017-Q1", "2017-Q2", "2017-Q3", "2017-Q4"]
QUARTER_ENDS = {
    "2017-Q1": date(2017, 3, 31),
    "2017-Q2": date(2017, 6, 30),
    "2017-Q3": date(2017, 9, 30),
    "2017-Q4": date(2017, 12, 31),
}


def keys_of(day: date) -> list[str]:
    return [f"{day.year}", f"{day.year}-Q{(day.month - 1) // 3 + 1}"]


def previous_key(key: str) -> str:
    if "-Q" not in key:
        return str(int(key) - 1)
    year, q = int(key[:4]), int(key[-1])
    return f"{year - 1}-Q4" if q == 1 else f"{year}-Q{q - 1}"


class Expected:
    """Independent accumulators per (scope, period)."""

    def __init__(self) -> None:
        self.won: defaultdict[tuple, float] = defaultdict(float)
        self.won_n: defaultdict[tuple, int] = defaultdict(int)
        self.lost_n: defaultdict[tuple, int] = defaultdict(int)
        self.cycle: defaultdict[tuple, list[int]] = defaultdict(list)
        self.profit: defaultdict[tuple, float] = defaultdict(float)
        self.accounts: defaultdict[tuple, set] = defaultdict(set)
        self.open_n: defaultdict[tuple, int] = defaultdict(int)
        self.open_value: defaultdict[tuple, float] = defaultdict(float)

    def close(self, scopes, day, won, amount, account=None, engage=None, profit=None):
        for scope in scopes:
            for key in keys_of(day):
                if won:
                    self.won[scope, key] += amount
                    self.won_n[scope, key] += 1
                    if account:
                        self.accounts[scope, key].add(account)
                    if profit is not None:
                        self.profit[scope, key] += profit
                else:
                    self.lost_n[scope, key] += 1
                if engage is not None:
                    self.cycle[scope, key].append((day - engage).days)

    def figures(self, scope, key) -> dict:
        won, lost = self.won_n[scope, key], self.lost_n[scope, key]
        cycles = self.cycle[scope, key]
        prev = self.won[scope, previous_key(key)]
        return {
            "won_revenue": self.won[scope, key],
            "won_deals": won,
            "lost_deals": lost,
            "win_rate": won / (won + lost) if won + lost else None,
            "avg_deal_size": self.won[scope, key] / won if won else None,
            "sales_cycle_days": sum(cycles) / len(cycles) if cycles else None,
            "active_customers": len(self.accounts[scope, key]),
            "gross_profit": self.profit[scope, key],
            "won_revenue_change_pct": (self.won[scope, key] - prev) / abs(prev) * 100 if prev else None,
            "open_pipeline_count": self.open_n[scope, key],
            "open_pipeline_value": self.open_value[scope, key],
        }


def report(org: str, period: str, kpis: list[str], *scope_args: str) -> dict:
    rows = {}
    for kpi in kpis:
        out = io.StringIO()
        call_command("kpi_report", "--org", org, "--period", period, "--kpi", kpi, *scope_args, stdout=out)
        for row in json.loads(out.getvalue()):
            rows[(row["rep"] or row["territory"], row["kpi"])] = row
    return rows


def compare(expected: Expected, org: str, scopes: list[str], periods: list[str], kpis: list[str], *args: str):
    checked = 0
    for period in periods:
        rows = report(org, period, kpis, *args)
        for scope in scopes:
            want = expected.figures(scope, period)
            for kpi in kpis:
                got = rows[(scope, kpi)]["actual"]
                assert got == (None if want[kpi] is None else pytest.approx(want[kpi], rel=1e-9, abs=1e-6)), (
                    scope,
                    period,
                    kpi,
                )
                checked += 1
            if "won_revenue" in kpis:
                change = rows[(scope, "won_revenue")]["change_pct"]
                want_change = want["won_revenue_change_pct"]
                assert change == (None if want_change is None else pytest.approx(want_change)), (
                    scope,
                    period,
                )
    return checked


@pytest.fixture(scope="module")
def imported(django_db_setup, django_db_blocker) -> Iterator[None]:
    with django_db_blocker.unblock(), transaction.atomic():
        yield
        transaction.set_rollback(True)


def _import(name: str, path: Path, slug: str) -> Organization:
    call_command("import_dataset", name, str(path), "--org", slug, stdout=io.StringIO())
    return Organization.objects.get(slug=slug)


# --- maven-crm ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def maven(imported):
    org = _import("maven-crm", MAVEN, "maven-diff")
    root = org.root_territory().name
    with open(MAVEN / "sales_teams.csv", newline="") as f:
        teams = {
            r["sales_agent"]: (
                f"{root}/{r['regional_office']}",
                f"{root}/{r['regional_office']}/{r['manager']}",
            )
            for r in csv.DictReader(f)
        }
    with open(MAVEN / "products.csv", newline="") as f:
        prices = {r["product"]: float(r["sales_price"]) for r in csv.DictReader(f)}
    expected = Expected()
    with open(MAVEN / "sales_pipeline.csv", newline="") as f:
        deals = list(csv.DictReader(f))
    for d in deals:
        office, team = teams[d["sales_agent"]]
        scopes = [root, office, team, d["sales_agent"]]
        engage = date.fromisoformat(d["engage_date"]) if d["engage_date"] else None
        close = date.fromisoformat(d["close_date"]) if d["close_date"] else None
        amount = float(d["close_value"]) if d["close_value"] else None
        if d["deal_stage"] in ("Won", "Lost"):
            expected.close(scopes, close, d["deal_stage"] == "Won", amount, d["account"], engage)
        for key, end in QUARTER_ENDS.items():
            if engage and engage <= end and (close is None or close > end):
                value = amount if amount is not None else prices[d["product"].replace("GTXPro", "GTX Pro")]
                for scope in scopes:
                    expected.open_n[scope, key] += 1
                    expected.open_value[scope, key] += value
    offices = sorted({o for o, _ in teams.values()})
    team_paths = sorted({t for _, t in teams.values()})
    return org, expected, [root, *offices, *team_paths], sorted(teams)


MAVEN_KPIS = [
    "won_revenue",
    "won_deals",
    "lost_deals",
    "win_rate",
    "avg_deal_size",
    "sales_cycle_days",
    "active_customers",
]


@pytest.mark.django_db
def test_maven_territories_match_independent_figures_by_year_and_quarter(maven):
    org, expected, territories, _reps = maven
    assert compare(expected, org.slug, territories, PERIODS, MAVEN_KPIS) == len(PERIODS) * len(
        territories
    ) * len(MAVEN_KPIS)


@pytest.mark.django_db
def test_maven_reps_match_independent_figures(maven):
    org, expected, _territories, reps = maven
    assert len(reps) == 35
    compare(expected, org.slug, reps, ["2017", "2017-Q2", "2017-Q4"], MAVEN_KPIS, "--all-reps")


@pytest.mark.django_db
def test_maven_open_pipeline_at_quarter_end(maven):
    org, expected, territories, _reps = maven
    compare(
        expected, org.slug, territories, list(QUARTER_ENDS), ["open_pipeline_count", "open_pipeline_value"]
    )


@pytest.mark.django_db
def test_maven_yoy_is_null_without_a_base_year(maven):
    org, _expected, territories, _reps = maven
    rows = report(org.slug, "2017", ["won_revenue"])
    assert rows[(territories[0], "won_revenue")]["last_year"] == 0
    assert rows[(territories[0], "won_revenue")]["yoy_pct"] is None


# --- classicmodels --------------------------------------------------------------------------------


def _semicolon_rows(name: str) -> list[dict]:
    with open(CLASSIC / name, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter=";"))


@pytest.mark.django_db
def test_classicmodels_matches_independent_figures(imported):
    org = _import("classicmodels", CLASSIC, "classic-diff")
    root = org.root_territory().name
    offices = {
        o["officeCode"]: (f"{root}/{o['territory']}", f"{root}/{o['territory']}/{o['city']}")
        for o in _semicolon_rows("offices.csv")
    }
    employees = {e["employeeNumber"]: e for e in _semicolon_rows("employees.csv")}
    customers = {c["customerNumber"]: c for c in _semicolon_rows("customers.csv")}
    lines = defaultdict(float)
    for line in _semicolon_rows("orderdetails.csv"):
        lines[line["orderNumber"]] += int(line["quantityOrdered"]) * float(line["priceEach"])
    expected = Expected()
    for order in _semicolon_rows("orders.csv"):
        employee = employees[customers[order["customerNumber"]]["salesRepEmployeeNumber"]]
        territory, office = offices[employee["officeCode"]]
        rep = f"{employee['firstName']} {employee['lastName']}"
        day = date.fromisoformat(order["orderDate"])
        expected.close(
            [root, territory, office, rep],
            day,
            order["status"] != "Cancelled",
            lines[order["orderNumber"]],
            order["customerNumber"],
        )
    territories = sorted({root, *(t for t, _ in offices.values()), *(o for _, o in offices.values())})
    assert len(territories) == 12
    kpis = ["won_revenue", "won_deals", "lost_deals", "win_rate", "avg_deal_size", "active_customers"]
    periods = ["2003", "2004", "2005", "2003-Q4", "2004-Q1", "2004-Q4", "2005-Q2"]
    compare(expected, org.slug, territories, periods, kpis)
    reps = sorted(
        {f"{e['firstName']} {e['lastName']}" for e in employees.values() if e["jobTitle"] == "Sales Rep"}
    )
    compare(
        expected, org.slug, reps, ["2004", "2004-Q4"], ["won_revenue", "won_deals", "win_rate"], "--all-reps"
    )
    rows = report(org.slug, "2004", ["won_revenue"])
    assert rows[(root, "won_revenue")]["yoy_pct"] == pytest.approx(
        (expected.won[root, "2004"] - expected.won[root, "2003"]) / expected.won[root, "2003"] * 100
    )


# --- superstore -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_superstore_matches_independent_figures(imported):
    xlrd = pytest.importorskip("xlrd")
    org = _import("superstore", SUPERSTORE, "superstore-diff")
    root = org.root_territory().name
    sheet = xlrd.open_workbook(str(SUPERSTORE)).sheet_by_name("Orders")
    header = [str(c) for c in sheet.row_values(0)]
    col = {
        name: header.index(name)
        for name in ("Order ID", "Order Date", "Customer ID", "Region", "Sales", "Profit")
    }
    orders: dict[str, dict] = {}
    for i in range(1, sheet.nrows):
        row = sheet.row_values(i)
        order = orders.setdefault(row[col["Order ID"]], {"sales": 0.0, "profit": 0.0, "row": row})
        order["sales"] += round(row[col["Sales"]], 4)
        order["profit"] += round(row[col["Profit"]], 4)
    assert len(orders) == 5009
    expected = Expected()
    for order in orders.values():
        row = order["row"]
        day = date(1899, 12, 30) + timedelta(days=int(row[col["Order Date"]]))
        scopes = [root, f"{root}/{row[col['Region']]}"]
        expected.close(scopes, day, True, order["sales"], row[col["Customer ID"]], profit=order["profit"])
    territories = [root] + [f"{root}/{r}" for r in ("Central", "East", "South", "West")]
    kpis = ["won_revenue", "won_deals", "avg_deal_size", "gross_profit", "active_customers"]
    periods = ["2011", "2012", "2013", "2014", "2012-Q1", "2013-Q3", "2014-Q4"]
    compare(expected, org.slug, territories, periods, kpis)
    rows = report(org.slug, "2014", ["profit_margin"])
    for scope in territories:
        assert rows[(scope, "profit_margin")]["actual"] == pytest.approx(
            expected.profit[scope, "2014"] / expected.won[scope, "2014"]
        )
