"""Importers for the public sample data sets in ``settings.SCORECARD_DATA_DIR`` (DESIGN §5).

Each module parses and validates its files (see the data set's SOURCE.md for the quirks handled)
into a ``Dataset`` — territories, reps with assignments, products, accounts and opportunity records
— which ``dataset_import`` writes in one transaction through the same idempotent writers as the
generic import. Re-running an import changes nothing; a changed source row updates the stored one.

The tree hangs from the organisation's existing root territory; a new organisation is named after
the data set's company and its root takes that name. Reps get one open-ended assignment starting
on the data set's ``ASSIGNMENT_START`` (1 January of the year of its earliest date), so every deal's
close date falls within an assignment. Fields a data set does not carry (a rep's email in
maven-crm, a territory's owner where no manager is named) are left as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.db import transaction

from imports.errors import fail
from imports.services import organization_lookup
from imports.sync import (
    Counts,
    References,
    opportunities_write,
    reps_write,
    rollups_mark_stale,
    rows_upsert,
    territories_ensure,
)
from sales.models import Account, Product
from scorecard.models import Organization
from scorecard.services import organization_create

from . import classicmodels, maven_crm, superstore
from .base import Dataset, DatasetSource

__all__ = ["DATASET_NAMES", "SOURCES", "Dataset", "DatasetResult", "dataset_import"]

# The registry. The modules import ``.base``, never this package, so importing them here is no loop.
SOURCES: dict[str, DatasetSource] = {
    "maven-crm": maven_crm,
    "superstore": superstore,
    "classicmodels": classicmodels,
}
DATASET_NAMES = tuple(SOURCES)


@dataclass
class DatasetResult:
    org: Organization
    org_created: bool
    territories: int
    reps: Counts
    assignments: Counts
    products: Counts
    accounts: Counts
    opportunities: Counts

    def __str__(self) -> str:
        return "\n".join(
            [
                f"organisation {self.org.slug!r}" + (" (created)" if self.org_created else ""),
                f"territories: {self.territories} in the tree",
                f"reps: {self.reps}",
                f"assignments: {self.assignments}",
                f"products: {self.products}",
                f"accounts: {self.accounts}",
                f"opportunities: {self.opportunities}",
            ]
        )


def dataset_import(*, name: str, path: str | Path, org_slug: str) -> DatasetResult:
    """Imports data set ``name`` from ``path`` (its directory; superstore also takes the .xls file)."""
    module = SOURCES.get(name)
    if module is None:
        fail(f"unknown data set {name!r}; expected one of {', '.join(DATASET_NAMES)}")
    org = organization_lookup(org_slug)
    root = org.root_territory() if org else None
    root_name = root.name if root else org.name if org else module.COMPANY
    data: Dataset = module.load(Path(path), root=root_name)
    with transaction.atomic():
        created = org is None
        if org is None:
            org = organization_create(name=module.COMPANY, slug=org_slug, root_name=root_name)
        territory_ids = territories_ensure(org=org, owners=data.territories)
        _, products = rows_upsert(Product, org=org, key="name", rows=data.products)
        _, accounts = rows_upsert(Account, org=org, key="external_id", rows=data.accounts)
        reps, assignments = reps_write(org=org, reps=data.reps)
        references = References()
        for record in data.opportunities:
            references.add(record)
        opportunities = opportunities_write(org=org, records=data.opportunities, references=references)
        rollups_mark_stale(org=org, counts=[reps, assignments, products, accounts, opportunities])
    return DatasetResult(
        org, created, len(territory_ids), reps, assignments, products, accounts, opportunities
    )
