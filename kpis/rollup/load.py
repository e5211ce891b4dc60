"""Everything a recompute reads besides the deals: the territory tree, reps, assignments,
certifications, programme participations, the active KPIs, manual measurements and current targets."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

import numpy as np

from kpis import catalog
from kpis.models import KPI, Measurement, Source, Target
from people.models import ProgramParticipation
from scorecard.models import Organization
from territories.models import Rep, Territory

from .arrays import FAR
from .attribute import Assignments, Certifications
from .deals import Products, catalog_digest
from .grid import Scopes, Tree

Scope = tuple[str, int]  # ("t", territory id) or ("r", rep id)
# Per KPI: (scope, period key, value or goal, weight or red flag).
PeriodInputs = dict[int, list[tuple[Scope, str, object, object]]]


@dataclass(frozen=True)
class PeriodRows:
    """Manual measurements and current targets per KPI, and the first days of their periods."""

    measurements: PeriodInputs
    targets: PeriodInputs
    input_days: np.ndarray


@dataclass
class Inputs:
    org: Organization
    today: date
    scopes: Scopes
    assignments: Assignments
    certifications: Certifications
    participations: list[tuple]  # (rep id, programme kind, programme id, start, end)
    kpis: list[KPI]  # active, in id order
    measurements: PeriodInputs
    targets: PeriodInputs
    input_days: np.ndarray  # first days of the periods measurements and targets are for
    products: Products
    catalog: bytes  # deliverables, partners, plays, reps (``deals.catalog_digest``)
    period_rows: PeriodRows
    kept_period_rows: bool  # given by the caller (a worker's kept ones), not read

    @property
    def kpi_by_slug(self) -> dict[str, KPI]:
        return {k.slug: k for k in self.kpis}

    @property
    def fiscal_start_month(self) -> int:
        return self.org.fiscal_year_start_month

    def cert_filters(self) -> list[str]:
        """Filter keys of the KPIs over certifications, and '' (any certification)."""
        keys = {""}
        for kpi in self.kpis:
            metric = catalog.CATALOG.get(kpi.metric) if kpi.source == Source.METRIC else None
            if metric is not None and metric.filters == catalog.CERTIFICATION_FILTERS:
                keys.add(catalog.filter_key(kpi.metric_filter))
        return sorted(keys)


def load_inputs(org: Organization, today: date, period_rows: PeriodRows | None = None) -> Inputs:
    """Everything but the deals; ``period_rows``: measurements and targets kept from an earlier read that
    are still current (none changed since), else read."""
    scopes = load_scopes(org.pk)
    rows = period_rows or load_period_rows(org)
    return Inputs(
        org=org,
        today=today,
        scopes=scopes,
        assignments=Assignments.load(org.pk, scopes),
        certifications=Certifications.load(org.pk, scopes),
        participations=list(
            ProgramParticipation.objects.filter(org=org).values_list(
                "rep_id", "program__kind", "program_id", "start", "end"
            )
        ),
        kpis=list(KPI.objects.filter(org=org, active=True).order_by("id").select_related("objective")),
        measurements=rows.measurements,
        targets=rows.targets,
        input_days=rows.input_days,
        products=Products.load(org.pk),
        catalog=catalog_digest(org.pk),
        period_rows=rows,
        kept_period_rows=period_rows is not None,
    )


def load_period_rows(org: Organization) -> PeriodRows:
    measurements: PeriodInputs = defaultdict(list)
    targets: PeriodInputs = defaultdict(list)
    input_days = []
    first_day: dict[str, int] = {}  # by period key: a realistic organisation has ~10⁵ targets over ~10² keys
    for rows, by_kpi in (
        (
            Measurement.objects.filter(org=org).values_list(
                "kpi_id", "territory_id", "rep_id", "period", "value", "weight"
            ),
            measurements,
        ),
        (
            Target.objects.filter(org=org, superseded_at__isnull=True).values_list(
                "kpi_id", "territory_id", "rep_id", "period", "goal", "red_flag"
            ),
            targets,
        ),
    ):
        for kpi_id, territory_id, rep_id, period, number, extra in rows:
            scope = ("t", territory_id) if territory_id else ("r", rep_id)
            by_kpi[kpi_id].append((scope, period, number, extra))
            day = first_day.get(period)
            if day is None:
                day = first_day[period] = org.parse_period(period).start.toordinal()
            input_days.append(day)
    return PeriodRows(dict(measurements), dict(targets), np.array(input_days, dtype=np.int64))


def load_scopes(org_id: int) -> Scopes:
    territories = list(
        Territory.objects.filter(org_id=org_id).order_by("path").values_list("id", "path", "depth")
    )
    by_path = {path: i for i, (_id, path, _depth) in enumerate(territories)}
    step = Territory.steplen
    max_depth = max((depth for *_x, depth in territories), default=1)
    ancestors = np.full((len(territories), max_depth), -1)
    parent = np.full(len(territories), -1)
    for i, (_id, path, depth) in enumerate(territories):
        for level in range(depth):
            ancestors[i, level] = by_path[path[: (level + 1) * step]]
        if depth > 1:
            parent[i] = by_path[path[:-step]]
    depths = np.array([depth for *_x, depth in territories], dtype=int)
    roots = np.flatnonzero(depths == 1)
    tree = Tree(
        ids=np.array([t[0] for t in territories], dtype=np.int64),
        parent=parent,
        depth=depths,
        ancestors=ancestors,
        root=int(roots[0]) if len(roots) else -1,
    )
    reps = list(Rep.objects.filter(org_id=org_id).order_by("id").values_list("id", "hire_date", "leave_date"))
    return Scopes(
        tree=tree,
        rep_ids=np.array([r[0] for r in reps], dtype=np.int64),
        hire=np.array([r[1].toordinal() if r[1] else 0 for r in reps], dtype=np.int64),
        leave=np.array([r[2].toordinal() if r[2] else FAR for r in reps], dtype=np.int64),
    )
