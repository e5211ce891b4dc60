"""Testing the strategy map against the data (issue 11): for each cause→effect link, how each KPI of the
cause objective moved with each KPI of the effect objective one and two quarters later, pooled over the
leaf territories of a scope. Reads the stored rollups in two queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from perspectives.models import Objective, ObjectiveLink
from scorecard import periods as P
from scorecard.models import Organization
from territories.models import Territory

from . import lagged, store
from .models import KPI, ScopeRollup, Transform

QUARTERS = 12


@dataclass
class PairEvidence:
    cause: KPI
    effect: KPI
    by_lag: list[lagged.Lagged]  # lag 1, lag 2

    @property
    def strongest(self) -> float:
        return max((abs(r.correlation) for r in self.by_lag if r.correlation is not None), default=0.0)


@dataclass
class LinkEvidence:
    cause: Objective
    effect: Objective
    pairs: list[PairEvidence]  # strongest first


def quarters_up_to(org: Organization, today: date, count: int = QUARTERS) -> list[str]:
    """The ``count`` quarters before the one containing ``today`` (complete quarters), oldest first."""
    quarter = P.period_containing(today, P.QUARTER, org.fiscal_year_start_month)
    keys = []
    for _ in range(count):
        quarter = quarter.previous()
        keys.append(quarter.key)
    return keys[::-1]


def actual_series(
    org: Organization, territories: list[Territory], kpis: list[KPI], period_keys: list[str]
) -> dict[int, dict[int, list[float | None]]]:
    """KPI id → territory id → its stored actuals over the periods (None where nothing is stored)."""
    where = {key: store.row_of(org, key) for key in period_keys}
    rows, runs = store.rows_with_runs(
        ScopeRollup.objects.filter(
            org=org, territory__in=territories, year__in={year for year, _slot in where.values()}
        ),
        "territory_id",
        "year",
        "data",
    )
    by_scope_year = {
        (territory_id, year): (runs[run_id][0], bytes(data)) for run_id, territory_id, year, data in rows
    }
    out: dict[int, dict[int, list[float | None]]] = {k.pk: {} for k in kpis}
    for territory in territories:
        decoded = []
        for key in period_keys:
            year, slot = where[key]
            found = by_scope_year.get((territory.pk, year))
            fields = store.decode(found[1], slot, len(found[0])) if found else None
            decoded.append((found[0] if found else [], fields))
        for kpi in kpis:
            out[kpi.pk][territory.pk] = [_actual(kpi_ids, fields, kpi.pk) for kpi_ids, fields in decoded]
    return out


def _actual(kpi_ids: list[int], fields, kpi_id: int) -> float | None:
    if fields is None or kpi_id not in kpi_ids:
        return None
    value = float(fields["actual"][kpi_ids.index(kpi_id)])
    return None if value != value else value  # NaN is null


def strategy_map_evidence(
    org: Organization, scope: Territory, today: date
) -> tuple[list[LinkEvidence], list[str]]:
    """Per link, every (cause KPI, effect KPI) pair's lag-1 and lag-2 correlation over the leaf
    territories of ``scope``'s subtree (the scope itself when it is a leaf), strongest pairs first."""
    subtree = list(Territory.objects.filter(org=org, path__startswith=scope.path))
    parents = {t.path[: -Territory.steplen] for t in subtree}
    leaves = [t for t in subtree if t.path not in parents] or [scope]
    kpis = list(KPI.objects.filter(org=org, active=True, transform=Transform.VALUE).order_by("pk"))
    keys = quarters_up_to(org, today)
    series = actual_series(org, leaves, kpis, keys)
    by_objective: dict[int, list[KPI]] = {}
    for kpi in kpis:
        by_objective.setdefault(kpi.objective_id, []).append(kpi)
    links = (
        ObjectiveLink.objects.filter(org=org)
        .select_related("cause", "effect")
        .order_by("cause__order", "effect__order")
    )
    evidence = []
    for link in links:
        pairs = [
            PairEvidence(
                cause, effect, [lagged.lagged(series[cause.pk], series[effect.pk], lag) for lag in (1, 2)]
            )
            for cause in by_objective.get(link.cause_id, [])
            for effect in by_objective.get(link.effect_id, [])
        ]
        pairs.sort(key=lambda p: -p.strongest)
        evidence.append(LinkEvidence(link.cause, link.effect, pairs))
    return evidence, keys
