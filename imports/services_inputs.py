"""Generic import and export of manual measurements and targets (DESIGN §5).

Same rules as the other generic imports (validate the whole file, then all or nothing; keyed on KPI,
scope and period, so re-importing changes nothing). The writes go through the KPI services, which
refuse locked periods and keep a superseded target in the history. The organisation must exist: the
rows name its KPIs and territories.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kpis.models import Measurement, Target
from scorecard.models import Organization

from .errors import ErrorList
from .options import ImportOptions
from .rules import RepNames
from .rules_inputs import MeasurementRows, TargetRows
from .services import ImportResult, names_create_missing
from .services_catalog import organization_required
from .sync_inputs import measurements_write, targets_write
from .writers import write_table

MEASUREMENT_COLUMNS = ("kpi", "territory", "rep", "period", "value", "note")
TARGET_COLUMNS = ("kpi", "territory", "rep", "period", "goal", "red_flag", "reason")


def measurements_import(
    *, org_slug: str, path: str | Path, options: ImportOptions | None = None
) -> ImportResult:
    """A manual KPI's value per territory (full path) or rep and period; a changed value replaces the
    stored one (with who entered it)."""
    options = options or ImportOptions()
    org = organization_required(org_slug)
    reps = RepNames.for_org(org, unknown=options.unknown, create_missing=options.create_missing)
    checked = MeasurementRows(org, reps)
    errors = ErrorList()
    rows = 0
    for row in options.rows(path, MEASUREMENT_COLUMNS):
        rows += 1
        checked.add(row, errors)
    errors.raise_if_any()
    with options.writing():
        also = names_create_missing(org=org, options=options)
        counts = measurements_write(
            org=org, records=checked.records, user=options.user, dry_run=options.dry_run
        )
    return ImportResult(org, rows, counts, also=also)


def measurements_export_rows(*, org: Organization) -> Iterator[list[Any]]:
    queryset = (
        Measurement.objects.filter(org=org)
        .select_related("kpi", "territory", "rep")
        .order_by("kpi__slug", "period", "territory__full_name", "rep__name")
    )
    for m in queryset:
        territory = m.territory.full_name if m.territory else ""
        yield [m.kpi.slug, territory, m.rep.name if m.rep else "", m.period, m.value, m.note]


def measurements_export(*, org: Organization, path: str | Path | Any) -> int:
    return write_table(path, MEASUREMENT_COLUMNS, measurements_export_rows(org=org))


def targets_import(*, org_slug: str, path: str | Path, options: ImportOptions | None = None) -> ImportResult:
    """A KPI's goal (and red flag) per territory or rep and period; a new value supersedes the current
    target, which stays in the history."""
    options = options or ImportOptions()
    org = organization_required(org_slug)
    reps = RepNames.for_org(org, unknown=options.unknown, create_missing=options.create_missing)
    checked = TargetRows(org, reps)
    errors = ErrorList()
    rows = 0
    for row in options.rows(path, TARGET_COLUMNS):
        rows += 1
        checked.add(row, errors)
    errors.raise_if_any()
    with options.writing():
        also = names_create_missing(org=org, options=options)
        counts = targets_write(org=org, records=checked.records, user=options.user, dry_run=options.dry_run)
    return ImportResult(org, rows, counts, also=also)


def targets_export_rows(*, org: Organization) -> Iterator[list[Any]]:
    """The current targets (the history is on the targets pages)."""
    queryset = (
        Target.objects.filter(org=org, superseded_at__isnull=True)
        .select_related("kpi", "territory", "rep")
        .order_by("kpi__slug", "period", "territory__full_name", "rep__name")
    )
    for t in queryset:
        territory = t.territory.full_name if t.territory else ""
        yield [t.kpi.slug, territory, t.rep.name if t.rep else "", t.period, t.goal, t.red_flag, t.reason]


def targets_export(*, org: Organization, path: str | Path | Any) -> int:
    return write_table(path, TARGET_COLUMNS, targets_export_rows(org=org))
