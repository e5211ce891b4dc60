"""Every kind of generic import (DESIGN §5): its columns, its import and its export, for the wizard,
the export view and the tests that walk them all."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from scorecard.models import Organization

from . import services, services_catalog, services_inputs
from .writers import Format, write_table


@dataclass(frozen=True)
class Kind:
    slug: str
    label: str  # plural, capitalised: "Reps"
    columns: tuple[str, ...]
    run: Callable[..., services.ImportResult]  # (org_slug=, path=, options=)
    export_rows: Callable[..., Iterator[list[Any]]]  # (org=)
    key: str  # what identifies a row, for the page
    creates: tuple[str, ...] = ()  # unknown names the wizard may create: "reps", "products"

    def export(self, *, org: Organization, target: str | Path | IO[Any], format: Format | None = None) -> int:
        return write_table(target, self.columns, self.export_rows(org=org), format=format)


KINDS: dict[str, Kind] = {
    k.slug: k
    for k in (
        Kind(
            "reps",
            "Reps",
            services.REP_COLUMNS,
            services.reps_import,
            services.reps_export_rows,
            "one row per territory assignment; a rep by name, a territory by its full path",
        ),
        Kind(
            "opportunities",
            "Opportunities",
            services.OPPORTUNITY_COLUMNS,
            services.opportunities_import,
            services.opportunities_export_rows,
            "opportunity_id",
            creates=("reps", "products"),
        ),
        Kind(
            "products",
            "Products",
            services_catalog.PRODUCT_COLUMNS,
            services_catalog.products_import,
            services_catalog.products_export_rows,
            "the product name",
        ),
        Kind(
            "certifications",
            "Certifications",
            services_catalog.CERTIFICATION_COLUMNS,
            services_catalog.certifications_import,
            services_catalog.certifications_export_rows,
            "rep + certification + earned",
            creates=("reps",),
        ),
        Kind(
            "programmes",
            "Programmes",
            services_catalog.PROGRAMME_COLUMNS,
            services_catalog.programmes_import,
            services_catalog.programmes_export_rows,
            "rep + programme + start",
            creates=("reps",),
        ),
        Kind(
            "measurements",
            "Measurements",
            services_inputs.MEASUREMENT_COLUMNS,
            services_inputs.measurements_import,
            services_inputs.measurements_export_rows,
            "kpi + territory or rep + period (manual KPIs)",
            creates=("reps",),
        ),
        Kind(
            "targets",
            "Targets",
            services_inputs.TARGET_COLUMNS,
            services_inputs.targets_import,
            services_inputs.targets_export_rows,
            "kpi + territory or rep + period; a new goal keeps the old one in the history",
            creates=("reps",),
        ),
    )
}
