"""Maven Analytics "CRM Sales Opportunities" (MavenTech, 8,800 B2B deals).

Tree ``<root>/<regional_office>/<manager>``, the manager owning their territory; every agent of
sales_teams.csv (35, five without deals) is a rep assigned to their manager's territory. Quirks
handled: pipeline label ``GTXPro`` is product ``GTX Pro``; blank accounts stay null; open deals have
no close date and no amount; lost deals keep their close_value of 0; accounts.csv's typos
``technolgy`` and ``Philipines`` are corrected. Product line = series, list price = sales_price.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from imports.errors import ErrorList
from imports.readers import Row, parse_decimal, read_table
from imports.rules import OpportunityRules
from imports.sync import AssignmentRecord, RepRecord

from .base import Dataset

COMPANY = "MavenTech"
ASSIGNMENT_START = date(2016, 1, 1)  # the earliest engage date is 2016-10-20
PRODUCT_ALIASES = {"GTXPro": "GTX Pro"}
TYPOS = {"technolgy": "technology", "Philipines": "Philippines"}
LABELS = {
    "opportunity_id": "opportunity_id",
    "rep": "sales_agent",
    "products": "product",
    "stage": "deal_stage",
    "amount": "close_value",
}
STAGES = {"Won": "won", "Lost": "lost", "Engaging": "engaging", "Prospecting": "prospecting"}
PIPELINE_COLUMNS = (
    "opportunity_id",
    "sales_agent",
    "product",
    "account",
    "deal_stage",
    "engage_date",
    "close_date",
    "close_value",
)


def load(directory: Path, *, root: str) -> Dataset:
    data = Dataset()
    errors = ErrorList()
    _read_teams(directory, root, data, errors)
    _read_products(directory, data, errors)
    _read_accounts(directory, data)
    _read_pipeline(directory, data, errors)
    errors.raise_if_any()
    return data


def _read_teams(directory: Path, root: str, data: Dataset, errors: ErrorList) -> None:
    """Adds each agent as a rep in their manager's territory, and the territories."""
    teams = "sales_teams.csv"
    for row in read_table(
        directory / teams,
        columns=("sales_agent", "manager", "regional_office"),
        allow_extra=True,
        label=teams,
    ):
        agent, manager, office = row.text("sales_agent"), row.text("manager"), row.text("regional_office")
        if not (agent and manager and office):
            errors.add(
                "sales_agent, manager and regional_office are all required", row=row.number, file=teams
            )
            continue
        if agent in data.reps:
            errors.add(f"agent {agent!r} is listed twice", row=row.number, column="sales_agent", file=teams)
            continue
        data.territories.setdefault(f"{root}/{office}", None)
        path = f"{root}/{office}/{manager}"
        data.territories[path] = manager
        data.reps[agent] = RepRecord(assignments=[AssignmentRecord(path, ASSIGNMENT_START)])


def _read_products(directory: Path, data: Dataset, errors: ErrorList) -> None:
    products = "products.csv"
    for row in read_table(
        directory / products, columns=("product", "series", "sales_price"), allow_extra=True, label=products
    ):
        try:
            price = parse_decimal(row.values["sales_price"], places=2)
        except ValueError as exc:
            errors.add(str(exc), row=row.number, column="sales_price", file=products)
            continue
        data.products[row.text("product")] = {"line": row.text("series"), "list_price": price}


def _read_accounts(directory: Path, data: Dataset) -> None:
    accounts = "accounts.csv"
    for row in read_table(
        directory / accounts,
        columns=("account", "sector", "office_location"),
        allow_extra=True,
        label=accounts,
    ):
        name = row.text("account")
        data.accounts[name] = {
            "name": name,
            "sector": TYPOS.get(row.text("sector"), row.text("sector")),
            "country": TYPOS.get(row.text("office_location"), row.text("office_location")),
        }


def _read_pipeline(directory: Path, data: Dataset, errors: ErrorList) -> None:
    """Adds one opportunity per pipeline row; an opportunity_id may appear once."""
    pipeline = "sales_pipeline.csv"
    rules = OpportunityRules(reps=set(data.reps), products=set(data.products))
    seen: set[str] = set()
    for row in read_table(directory / pipeline, columns=PIPELINE_COLUMNS, allow_extra=True, label=pipeline):
        stage = row.text("deal_stage")
        values = {
            "opportunity_id": row.text("opportunity_id"),
            "rep": row.text("sales_agent"),
            "account": row.text("account"),
            "products": PRODUCT_ALIASES.get(row.text("product"), row.text("product")),
            "stage": STAGES.get(stage, stage),
            "engage_date": row.values["engage_date"],
            "close_date": row.values["close_date"],
            "amount": row.values["close_value"],
        }
        record = rules.clean(Row(row.number, values), errors, file=pipeline, labels=LABELS)
        if record is None:
            continue
        if record.external_id in seen:
            errors.add(
                f"duplicate opportunity_id {record.external_id!r}",
                row=row.number,
                column="opportunity_id",
                file=pipeline,
            )
            continue
        seen.add(record.external_id)
        data.opportunities.append(record)
