"""Helpers for the importer tests: the public data sets (``data`` marker, see tests/conftest.py), counts and checksums."""

from __future__ import annotations

import csv
import hashlib
import io
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from sales.models import Account, Deliverable, Opportunity, Partner, Product, StrategicPlay
from scorecard.models import Organization
from territories.models import Rep, Territory, TerritoryAssignment

MAVEN = "maven-crm-sales-opportunities"
SUPERSTORE = "tableau-sample-superstore"
CLASSICMODELS = "mysqltutorial-classicmodels"


def dataset_dir(name: str) -> Path:
    """The data set's folder; a missing one skips the test, a failure with SCORECARD_REQUIRE_SERVICES=1.

    Mark the tests that call this ``@pytest.mark.data(name)`` so they skip before any setup.
    """
    directory = Path(settings.SCORECARD_DATA_DIR) / name
    if not directory.is_dir():
        pytest.skip(
            f"[data] data set {name!r} not found in SCORECARD_DATA_DIR ({settings.SCORECARD_DATA_DIR})"
        )
    return directory


def org_counts(org: Organization) -> dict[str, int]:
    return {
        "territories": Territory.objects.filter(org=org).count(),
        "reps": Rep.objects.filter(org=org).count(),
        "assignments": TerritoryAssignment.objects.filter(org=org).count(),
        "products": Product.objects.filter(org=org).count(),
        "accounts": Account.objects.filter(org=org).count(),
        "partners": Partner.objects.filter(org=org).count(),
        "plays": StrategicPlay.objects.filter(org=org).count(),
        "deliverables": Deliverable.objects.filter(org=org).count(),
        "opportunities": Opportunity.objects.filter(org=org).count(),
    }


def org_checksum(org: Organization) -> str:
    """A digest of every stored value an import writes, ids and ``updated_at`` included.

    Equal digests before and after a re-import mean no row was created, deleted or rewritten.
    """
    digest = hashlib.sha256()

    def feed(queryset, *fields: str) -> None:
        for row in queryset.order_by("pk").values_list("pk", *fields):
            digest.update(repr(row).encode())

    feed(Territory.objects.filter(org=org), "path", "name", "full_name", "owner_name")
    feed(Rep.objects.filter(org=org), "name", "email", "external_id", "hire_date", "leave_date")
    feed(TerritoryAssignment.objects.filter(org=org), "rep_id", "territory_id", "start", "end")
    feed(Product.objects.filter(org=org), "name", "line", "list_price", "description")
    feed(Account.objects.filter(org=org), "external_id", "name", "sector", "country")
    for model in (Partner, StrategicPlay, Deliverable):
        feed(model.objects.filter(org=org), "name")
    fields = [f.attname for f in Opportunity._meta.concrete_fields if f.attname != "id"]
    feed(Opportunity.objects.filter(org=org), *fields)
    feed(Opportunity.products.through.objects.filter(opportunity__org=org), "opportunity_id", "product_id")
    feed(
        Opportunity.deliverables.through.objects.filter(opportunity__org=org),
        "opportunity_id",
        "deliverable_id",
    )
    return digest.hexdigest()


@dataclass
class Imported:
    org: Organization
    path: Path
    output: str
    seconds: float


def import_dataset(name: str, path: Path, slug: str) -> Imported:
    out = io.StringIO()
    started = time.perf_counter()
    call_command("import_dataset", name, str(path), "--org", slug, stdout=out)
    return Imported(Organization.objects.get(slug=slug), path, out.getvalue(), time.perf_counter() - started)


OPPORTUNITY_ROW = {
    "opportunity_id": "OPP-1",
    "rep": "Alice Smith",
    "account": "Globex",
    "products": "Widget",
    "stage": "won",
    "created_date": "2017-01-10",
    "engage_date": "2017-02-01",
    "close_date": "2017-03-15",
    "amount": "1200.5",
    "profit": "300",
    "channel": "direct",
    "partner": "",
    "strategic_play": "",
    "poc": "none",
    "deliverables": "",
    "identified_by": "",
}
REP_COLUMNS = ["rep", "email", "territory", "start_date", "end_date"]


def opportunity_rows(*changes: dict) -> list[dict]:
    """Full rows: OPPORTUNITY_ROW with each change applied, ids OPP-1, OPP-2, … unless given."""
    return [{**OPPORTUNITY_ROW, "opportunity_id": f"OPP-{i}", **c} for i, c in enumerate(changes, start=1)]


def write_csv(path: Path, rows: list[dict], columns: list[str] | None = None, **options) -> Path:
    """``rows`` as CSV text; ``delimiter`` and ``encoding`` may be given to make a broken file."""
    columns = columns or list(OPPORTUNITY_ROW)
    delimiter = options.get("delimiter", ",")
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(c, "") for c in columns])
    path.write_bytes(buffer.getvalue().encode(options.get("encoding", "utf-8")))
    return path


def write_xlsx(path: Path, rows: list[dict], columns: list[str] | None = None) -> Path:
    from openpyxl import Workbook

    columns = columns or list(OPPORTUNITY_ROW)
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(columns)
    for row in rows:
        sheet.append([row.get(c) if row.get(c) != "" else None for c in columns])
    workbook.save(path)
    return path
