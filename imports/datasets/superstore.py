"""Tableau "Sample - Superstore" (classic US edition, legacy .xls, 9,994 order lines).

Tree ``<root>/<Region>``; the People sheet's regional managers own the regions (as owner names,
not reps). One won deal per Order ID: amount Σ Sales, profit Σ Profit (negative allowed), created
and closed on the Order Date, account = Customer ID (name, segment as sector, country). The deals
have no rep, so each is credited to its region through ``Opportunity.territory``. Products are
keyed by Product ID (32 IDs carry several names: the first is the description), line = Category.
Order lines are summed as they are: the one fully duplicated line counts twice and returns are not
netted out, like the reference figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

from imports.errors import ErrorList, fail
from imports.readers import Row, as_text
from imports.rules import OpportunityRules
from imports.sync import OpportunityRecord

from .base import Dataset

COMPANY = "Superstore"
FILE_NAME = "Sample - Superstore.xls"
ORDER_COLUMNS = (
    "Order ID",
    "Order Date",
    "Customer ID",
    "Customer Name",
    "Segment",
    "Country",
    "Region",
    "Product ID",
    "Category",
    "Product Name",
    "Sales",
    "Profit",
)
FOUR_PLACES = Decimal("0.0001")
LABELS = {"opportunity_id": "Order ID", "account": "Customer ID", "products": "Product ID"}


@dataclass
class _Order:
    row: int
    day: date
    customer: str
    region: str
    sales: Decimal = Decimal(0)
    profit: Decimal = Decimal(0)
    products: dict[str, None] = field(default_factory=dict)


def _workbook_path(path: Path) -> Path:
    if path.is_dir():
        candidates = [path / FILE_NAME] if (path / FILE_NAME).exists() else sorted(path.glob("*.xls"))
        if len(candidates) != 1:
            fail(f"expected one .xls workbook ({FILE_NAME!r}) in {path}")
        return candidates[0]
    return path


def load(path: Path, *, root: str) -> Dataset:
    import xlrd

    path = _workbook_path(path)
    label = path.name
    try:
        book = xlrd.open_workbook(str(path), on_demand=True)
    except FileNotFoundError:
        fail(f"file not found: {path}", file=label)
    except (xlrd.XLRDError, OSError, ValueError, AssertionError) as exc:
        fail(f"not a readable .xls workbook ({exc})", file=label)
    try:
        names = set(book.sheet_names())
        for sheet in ("Orders", "People"):
            if sheet not in names:
                fail(f"the workbook has no {sheet!r} sheet", file=label)
        orders_sheet, people_sheet = book.sheet_by_name("Orders"), book.sheet_by_name("People")
        data, errors = Dataset(), ErrorList(file=f"{label} [Orders]")
        orders = _read_orders(orders_sheet, book.datemode, data, errors)
        owners = _read_people(people_sheet, errors, f"{label} [People]")
    finally:
        book.release_resources()

    data.territories[root] = None
    for region in sorted({o.region for o in orders.values()} | owners.keys()):
        data.territories[f"{root}/{region}"] = owners.get(region)
    rules = OpportunityRules(reps=set(), products=set(data.products))
    for order_id, order in orders.items():
        values = {
            "opportunity_id": order_id,
            "account": order.customer,
            "products": ";".join(order.products),
            "stage": "won",
            "created_date": order.day,
            "close_date": order.day,
            "amount": order.sales,
            "profit": order.profit,
        }
        record: OpportunityRecord | None = rules.clean(Row(order.row, values), errors, labels=LABELS)
        if record is not None:
            record.territory = f"{root}/{order.region}"
            data.opportunities.append(record)
    errors.raise_if_any()
    return data


def _read_orders(sheet, datemode: int, data: Dataset, errors: ErrorList) -> dict[str, _Order]:
    import xlrd

    header = [as_text(v) for v in sheet.row_values(0)] if sheet.nrows else []
    missing = [c for c in ORDER_COLUMNS if c not in header]
    if missing:
        fail(f"missing column(s): {', '.join(missing)}", row=1, file=errors.file)
    col = {name: header.index(name) for name in ORDER_COLUMNS}
    orders: dict[str, _Order] = {}
    for i in range(1, sheet.nrows):
        number, cells = i + 1, sheet.row(i)

        def text(name: str, cells=cells) -> str:
            return as_text(cells[col[name]].value)

        def number_of(name: str, cells=cells, number=number) -> Decimal | None:
            cell = cells[col[name]]
            if cell.ctype != xlrd.XL_CELL_NUMBER:
                errors.add(f"{cell.value!r} is not a number", row=number, column=name)
                return None
            # Values have at most 4 decimals; rounding each line drops the binary noise some carry.
            return Decimal(repr(cell.value)).quantize(FOUR_PLACES)

        order_id = text("Order ID")
        if not order_id:
            if any(as_text(c.value) for c in cells):
                errors.add("the Order ID is required", row=number, column="Order ID")
            continue
        date_cell = cells[col["Order Date"]]
        if date_cell.ctype != xlrd.XL_CELL_DATE:
            errors.add(f"{date_cell.value!r} is not a date", row=number, column="Order Date")
            continue
        day = xlrd.xldate_as_datetime(date_cell.value, datemode).date()
        sales, profit = number_of("Sales"), number_of("Profit")
        if sales is None or profit is None:
            continue
        customer, region, product = text("Customer ID"), text("Region"), text("Product ID")
        order = orders.setdefault(order_id, _Order(number, day, customer, region))
        for name, value, first in (
            ("Order Date", day, order.day),
            ("Customer ID", customer, order.customer),
            ("Region", region, order.region),
        ):
            if value != first:
                errors.add(
                    f"order {order_id} has {first} on row {order.row} but {value} here",
                    row=number,
                    column=name,
                )
        order.sales += sales
        order.profit += profit
        order.products[product] = None
        data.products.setdefault(
            product, {"line": text("Category"), "description": text("Product Name")[:300]}
        )
        data.accounts.setdefault(
            customer, {"name": text("Customer Name"), "sector": text("Segment"), "country": text("Country")}
        )
    return orders


def _read_people(sheet, errors: ErrorList, label: str) -> dict[str, str]:
    header = [as_text(v) for v in sheet.row_values(0)] if sheet.nrows else []
    if "Person" not in header or "Region" not in header:
        fail("expected the columns Person and Region", row=1, file=label)
    person, region = header.index("Person"), header.index("Region")
    owners: dict[str, str] = {}
    for i in range(1, sheet.nrows):
        values = sheet.row_values(i)
        name, area = as_text(values[person]), as_text(values[region])
        if name and area:
            if area in owners and owners[area] != name:
                errors.add(
                    f"region {area} already has manager {owners[area]}",
                    row=i + 1,
                    column="Region",
                    file=label,
                )
            owners[area] = name
    return owners
