"""mysqltutorial.org "classicmodels" (Classic Models Inc., 326 orders, `;`-separated exports).

Tree ``<root>/<territory>/<office city>`` over all 7 offices; a regional sales manager (title
``Sales Manager (X)``, or the misspelt ``Sale Manager (EMEA)``) owns territory X. Reps are the 17
employees titled "Sales Rep", named "firstName lastName", assigned to their office's territory
(external id = employeeNumber). One deal per order, credited to the customer's rep: amount
Σ quantityOrdered × priceEach (exact decimals), created and closed on orderDate; ``Cancelled`` is
lost (amount kept, so lost value is measurable), every other status won. Products are keyed by
productName (unique), line = productLine, list price = MSRP. Quirks handled: the territory ``NA``
is the string "NA", never missing; quoted fields span lines and hold ``;``; customer countries
carry trailing spaces.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path

from imports.errors import ErrorList
from imports.readers import Row, parse_date, parse_decimal, read_table
from imports.rules import OpportunityRules
from imports.sync import AssignmentRecord, RepRecord

from .base import Dataset

COMPANY = "Classic Models Inc."
ASSIGNMENT_START = date(2003, 1, 1)  # the earliest order is dated 2003-01-06
SALES_REP = "Sales Rep"
MANAGER_TITLE = re.compile(r"Sales? Manager \((?P<territory>[^)]+)\)")
LABELS = {
    "opportunity_id": "orderNumber",
    "account": "customerNumber",
    "close_date": "orderDate",
    "created_date": "orderDate",
    "stage": "status",
}


def _rows(directory: Path, name: str, columns: tuple[str, ...]):
    return read_table(directory / name, columns=columns, delimiter=";", allow_extra=True, label=name)


def load(directory: Path, *, root: str) -> Dataset:
    data = Dataset()
    errors = ErrorList()
    office_paths = _read_offices(directory, root, data, errors)
    rep_names = _read_employees(directory, root, office_paths, data, errors)
    customer_reps = _read_customers(directory, rep_names, data)
    product_names = _read_products(directory, data, errors)
    amounts, order_products = _read_order_lines(directory, product_names, errors)
    _read_orders(directory, customer_reps, amounts, order_products, data, errors)
    errors.raise_if_any()
    return data


def _read_offices(directory: Path, root: str, data: Dataset, errors: ErrorList) -> dict[str, str]:
    """The territory path of each office by officeCode; adds the territories of every office."""
    office_paths: dict[str, str] = {}
    for row in _rows(directory, "offices.csv", ("officeCode", "city", "territory")):
        city, territory = row.text("city"), row.text("territory")
        if not (city and territory):
            errors.add("city and territory are required", row=row.number, file="offices.csv")
            continue
        data.territories.setdefault(f"{root}/{territory}", None)
        office_paths[row.text("officeCode")] = office_path = f"{root}/{territory}/{city}"
        data.territories[office_path] = None
    return office_paths


def _read_employees(
    directory: Path, root: str, office_paths: dict[str, str], data: Dataset, errors: ErrorList
) -> dict[str, str]:
    """The rep name of each sales rep by employeeNumber; adds the reps and the managers' territories."""
    rep_names: dict[str, str] = {}
    columns = ("employeeNumber", "lastName", "firstName", "email", "officeCode", "jobTitle")
    for row in _rows(directory, "employees.csv", columns):
        title, office = row.text("jobTitle"), row.text("officeCode")
        name = f"{row.text('firstName')} {row.text('lastName')}".strip()
        if office not in office_paths:
            errors.add(
                f"unknown office {office!r}", row=row.number, column="officeCode", file="employees.csv"
            )
            continue
        manager = MANAGER_TITLE.fullmatch(title)
        if manager:
            data.territories[f"{root}/{manager['territory']}"] = name
        if title != SALES_REP:
            continue
        if name in data.reps:
            errors.add(f"two sales reps are named {name!r}", row=row.number, file="employees.csv")
            continue
        rep_names[row.text("employeeNumber")] = name
        data.reps[name] = RepRecord(
            email=row.text("email"),
            external_id=row.text("employeeNumber"),
            assignments=[AssignmentRecord(office_paths[office], ASSIGNMENT_START)],
        )
    return rep_names


def _read_customers(directory: Path, rep_names: dict[str, str], data: Dataset) -> dict[str, str | None]:
    """The rep name (None without one) of each customer by customerNumber; adds the accounts."""
    customer_reps: dict[str, str | None] = {}
    columns = ("customerNumber", "customerName", "country", "salesRepEmployeeNumber")
    for row in _rows(directory, "customers.csv", columns):
        number = row.text("customerNumber")
        data.accounts[number] = {"name": row.text("customerName"), "country": row.text("country")}
        customer_reps[number] = rep_names.get(row.text("salesRepEmployeeNumber"))
    return customer_reps


def _read_products(directory: Path, data: Dataset, errors: ErrorList) -> dict[str, str]:
    """The product name of each productCode; adds the products."""
    product_names: dict[str, str] = {}
    columns = ("productCode", "productName", "productLine", "productDescription", "MSRP")
    for row in _rows(directory, "products.csv", columns):
        name, description = row.text("productName"), row.text("productDescription")
        try:
            price = parse_decimal(row.values["MSRP"], places=2)
        except ValueError as exc:
            errors.add(str(exc), row=row.number, column="MSRP", file="products.csv")
            continue
        product_names[row.text("productCode")] = name
        data.products[name] = {
            "line": row.text("productLine"),
            "list_price": price,
            "description": description if len(description) <= 300 else description[:299] + "…",
        }
    return product_names


def _read_order_lines(
    directory: Path, product_names: dict[str, str], errors: ErrorList
) -> tuple[dict[str, Decimal], dict[str, dict[str, None]]]:
    """Each order's amount and product names (in line order, as dict keys), by orderNumber."""
    amounts: dict[str, Decimal] = defaultdict(Decimal)
    order_products: dict[str, dict[str, None]] = defaultdict(dict)
    columns = ("orderNumber", "productCode", "quantityOrdered", "priceEach")
    for row in _rows(directory, "orderdetails.csv", columns):
        code = row.text("productCode")
        if code not in product_names:
            errors.add(
                f"unknown product {code!r}", row=row.number, column="productCode", file="orderdetails.csv"
            )
            continue
        try:
            quantity = parse_decimal(row.values["quantityOrdered"], places=0)
            price = parse_decimal(row.values["priceEach"])
        except ValueError as exc:
            errors.add(str(exc), row=row.number, file="orderdetails.csv")
            continue
        order = row.text("orderNumber")
        amounts[order] += (quantity or 0) * (price or 0)
        order_products[order][product_names[code]] = None
    return amounts, order_products


def _read_orders(
    directory: Path,
    customer_reps: dict[str, str | None],
    amounts: dict[str, Decimal],
    order_products: dict[str, dict[str, None]],
    data: Dataset,
    errors: ErrorList,
) -> None:
    """Adds one opportunity per order, credited to the customer's rep."""
    rules = OpportunityRules(reps=set(data.reps), products=set(data.products))
    for row in _rows(directory, "orders.csv", ("orderNumber", "orderDate", "status", "customerNumber")):
        order, customer = row.text("orderNumber"), row.text("customerNumber")
        if customer not in data.accounts:
            errors.add(
                f"unknown customer {customer!r}", row=row.number, column="customerNumber", file="orders.csv"
            )
            continue
        try:
            day = parse_date(row.values["orderDate"])
        except ValueError as exc:
            errors.add(str(exc), row=row.number, column="orderDate", file="orders.csv")
            continue
        values = {
            "opportunity_id": order,
            "rep": customer_reps[customer],
            "account": customer,
            "products": ";".join(order_products.get(order, {})),
            "stage": "lost" if row.text("status") == "Cancelled" else "won",
            "created_date": day,
            "close_date": day,
            "amount": amounts.get(order, Decimal(0)),
        }
        record = rules.clean(Row(row.number, values), errors, file="orders.csv", labels=LABELS)
        if record is not None:
            data.opportunities.append(record)
