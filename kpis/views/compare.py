"""Territory comparison: a heatmap of the child territories (or, at a team, its reps) × KPIs, each cell
coloured by status with its value, sortable by any column, and the underperformers ranked three ways
(lowest scores, worst change of score, most red KPIs)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.http import HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.utils.http import urlencode

from kpis import scoring, selectors
from kpis.models import KPI
from scorecard import access
from scorecard.decorators import MembershipRequest, membership_required
from scorecard.models import Membership
from territories.models import Rep, Territory

from .params import period_param, territory_param

RANKED = 5  # underperformers shown per list


@dataclass
class CompareRow:
    scope: Territory | Rep
    rolled: scoring.WeightedScore
    previous: scoring.WeightedScore
    cells: dict[int, dict]  # KPI id → its §5 figures
    red: int
    ordered: list[tuple[KPI, dict]] = field(default_factory=list)  # the cells in column order

    @property
    def change(self) -> float | None:
        if self.rolled.score is None or self.previous.score is None:
            return None
        return self.rolled.score - self.previous.score

    @property
    def change_size(self) -> float | None:
        return None if self.change is None else abs(self.change)


def _children(m: Membership, scope: Territory) -> list[Territory | Rep]:
    """The child territories the user sees, or at a team the reps assigned there."""
    visible = access.visible_territories(m)
    children: list[Territory | Rep] = list(
        visible.filter(path__startswith=scope.path, depth=scope.depth + 1).order_by("name")
    )
    if children:
        return children
    return list(access.visible_reps(m).filter(assignments__territory=scope).distinct().order_by("name"))


def _sort_key(sort: str, kpis: dict[str, KPI]):
    if sort == "red":
        return lambda row: -row.red
    if sort == "change":
        return lambda row: (row.change is None, row.change if row.change is not None else 0)
    if sort in kpis:
        kpi_id = kpis[sort].pk
        return lambda row: (row.cells[kpi_id]["score"] is None, row.cells[kpi_id]["score"] or 0)
    return lambda row: (row.rolled.score is None, row.rolled.score or 0)  # "score": lowest first


@membership_required
def compare(request: MembershipRequest) -> HttpResponse:
    m = request.membership
    org = m.org
    params = request.GET
    period = period_param(org, params)
    comparison = "last_year" if params.get("compare") == "last_year" else "previous"
    base = period.last_year() if comparison == "last_year" else period.previous()
    scope = territory_param(request)
    children = _children(m, scope)
    definitions = selectors.scorecard_definitions(org)
    now = selectors.scorecards(org, period.key, children, definitions)
    before = selectors.scorecards(org, base.key, children, definitions)
    rows = []
    for child, card, previous in zip(children, now, before, strict=True):
        cells = {
            kpi.pk: figures
            for group in card.perspectives
            for o in group.objectives
            for kpi, figures in o.kpis
        }
        red = sum(1 for figures in cells.values() if figures["status"] == scoring.RED)
        rows.append(CompareRow(child, card.rolled, previous.rolled, cells, red))
    objectives, by_objective = definitions
    kpis = [kpi for o in objectives for kpi in by_objective.get(o.pk, [])]
    by_slug = {k.slug: k for k in kpis}
    for row in rows:
        row.ordered = [(kpi, row.cells[kpi.pk]) for kpi in kpis]
    sort = params.get("sort", "score")
    descending = params.get("dir") == "desc"
    rows.sort(key=_sort_key(sort, by_slug), reverse=descending)
    context: dict[str, Any] = {
        "scope": scope,
        "period": period,
        "comparison": comparison,
        "base": base,
        "kpis": kpis,
        "rows": rows,
        "sort": sort,
        "sort_columns": [("score", "Score"), ("change", "Δ score"), ("red", "Red KPIs")],
        "base_query": urlencode({"period": period.key, "compare": comparison, "territory": scope.pk}),
        "descending": descending,
        "reps": bool(children) and isinstance(children[0], Rep),
        "lowest": [r for r in sorted(rows, key=_sort_key("score", by_slug)) if r.rolled.score is not None][
            :RANKED
        ],
        "worst_change": [
            r for r in sorted(rows, key=_sort_key("change", by_slug)) if r.change is not None and r.change < 0
        ][:RANKED],
        "most_red": [r for r in sorted(rows, key=_sort_key("red", by_slug)) if r.red][:RANKED],
    }
    template = "kpis/compare.html#heatmap" if request.htmx else "kpis/compare.html"
    response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request",))
    return response
