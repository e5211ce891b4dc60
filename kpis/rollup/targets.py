"""Targets up the tree and projections in the live period.

Targets: an explicit target on a territory wins; otherwise a sum-type KPI's target is the sum of its
children's (once every child has one); otherwise the KPI's default goal, if any (DESIGN §4). A red flag
left unset is the goal ∓ the KPI's tolerance.

Projection (DESIGN §4, pace): the run rate (actual ÷ elapsed share of the period) for cumulative KPIs;
for won revenue and won deals during the first half of the live period, actual + open pipeline × the
scope's trailing four-quarter win rate, when it closed at least ``PIPELINE_MIN_CLOSED`` deals then.
"""

from __future__ import annotations

import numpy as np

from kpis import catalog
from kpis.models import KPI, Source, Transform, TreeAggregation

from .arrays import NAN, ratio
from .grid import Grid, Scopes

Array = np.ndarray

# The pipeline-weighted projection replaces the run rate during the first half of a period, when the
# scope closed at least this many deals in the four quarters before it.
PIPELINE_BETTER_BEFORE = 0.5
PIPELINE_MIN_CLOSED = 10
PIPELINE_METRICS = {"won_revenue": "open_value", "won_deals": "open_count"}


def is_sum_type(kpi: KPI) -> bool:
    """Whether a territory's value is the sum of its children's, so targets add up the tree."""
    if kpi.transform != Transform.VALUE:
        return False
    if kpi.source == Source.METRIC:
        return catalog.is_additive(kpi.metric)
    return kpi.source == Source.MANUAL and kpi.tree_aggregation == TreeAggregation.SUM


class Targets:
    def __init__(self, scopes: Scopes, goals_and_red_flags, kept: dict | None = None) -> None:
        """``goals_and_red_flags(kpi)``: a KPI's explicit (goal, red flag) arrays. ``kept``: what ``of`` gave
        for the same explicit targets over the same scopes and grid (an earlier run's ``made``)."""
        self.scopes = scopes
        self.explicit = goals_and_red_flags
        self.made: dict[tuple, tuple[Array, Array, Array]] = kept if kept is not None else {}

    def of(self, kpi: KPI) -> tuple[Array, Array, Array]:
        """(goal, red flag) set explicitly or summed from children (NaN where the KPI default applies), and
        whether any goal applies (explicit, children or default)."""
        key = (kpi.id, kpi.default_goal, kpi.default_red_flag, kpi.tolerance, kpi.direction, is_sum_type(kpi))
        if key not in self.made:
            made = self._of(kpi)
            for array in made:
                array.flags.writeable = False  # kept for the next run
            self.made[key] = made
        return self.made[key]

    def _of(self, kpi: KPI) -> tuple[Array, Array, Array]:
        goal, red = self.explicit(kpi)
        explicit = ~np.isnan(goal)
        default_goal = None if kpi.default_goal is None else float(kpi.default_goal)
        sum_type = is_sum_type(kpi)
        if not explicit.any() and (default_goal is None or not sum_type):
            # Only the KPI default (or nothing) applies, and it is not summed up the tree.
            return goal, red, np.full(goal.shape, default_goal is not None)
        stored_goal, stored_red = goal.copy(), red.copy()
        if self.scopes.territories and sum_type:
            self._sum_up_the_tree(kpi, explicit, stored_goal, stored_red)
        return stored_goal, stored_red, (~np.isnan(stored_goal)) | (default_goal is not None)

    def goal(self, kpi: KPI) -> Array:
        """The goal a KPI's rows show: explicit, else summed from children, else the KPI's default (NaN:
        none)."""
        goal, red, _has_goal = self.of(kpi)
        return _resolved(kpi, goal, red)[0]

    def _sum_up_the_tree(self, kpi: KPI, explicit: Array, goal: Array, red: Array) -> None:
        """Territories without an explicit target whose children all have one get their sum (in place)."""
        tree, n_territories = self.scopes.tree, self.scopes.territories
        children = tree.children_count()
        full_goal, full_red = _resolved(kpi, goal[:n_territories], red[:n_territories])
        for kids, parents in tree.levels_up():
            n = np.zeros((n_territories, goal.shape[1]))
            goal_sum = np.zeros_like(n)
            red_sum = np.zeros_like(n)
            np.add.at(n, tree.parent[kids], ~np.isnan(full_goal[kids]))
            np.add.at(goal_sum, tree.parent[kids], np.nan_to_num(full_goal[kids]))
            np.add.at(red_sum, tree.parent[kids], np.nan_to_num(full_red[kids]))
            fill = ~explicit[parents] & (n[parents] == children[parents][:, None])
            goal[parents] = np.where(fill, goal_sum[parents], goal[parents])
            red[parents] = np.where(fill, red_sum[parents], red[parents])
            full_goal[parents], full_red[parents] = _resolved(kpi, goal[parents], red[parents])


def _resolved(kpi: KPI, goal: Array, red: Array) -> tuple[Array, Array]:
    """Goal and red flag after the KPI's default and the default red flag."""
    default_goal = None if kpi.default_goal is None else float(kpi.default_goal)
    default_red = None if kpi.default_red_flag is None else float(kpi.default_red_flag)
    use_default = np.isnan(goal) & (default_goal is not None)
    goal = np.where(use_default, default_goal if default_goal is not None else NAN, goal)
    if default_red is not None:
        red = np.where(use_default, default_red, red)
    delta = np.abs(goal) * float(kpi.tolerance)
    higher = kpi.direction == "higher"
    return goal, np.where(np.isnan(red) & ~np.isnan(goal), goal - delta if higher else goal + delta, red)


def projection(
    kpi: KPI, value: Array, grid: Grid, sums: dict[str, Array], today: int
) -> tuple[Array, Array] | None:
    """Projected value in the live periods of a cumulative KPI, and where the pipeline-weighted method
    produced it (elsewhere: the run rate), so the page can name the method (None when there is nothing
    to project)."""
    live = np.flatnonzero((grid.start <= today) & (today < grid.end))
    if not kpi.is_cumulative or len(live) == 0:
        return None
    out = np.full(value.shape, NAN)
    by_pipeline = np.zeros(value.shape, dtype=bool)
    pipeline = (
        PIPELINE_METRICS.get(kpi.metric)
        if kpi.source == Source.METRIC and kpi.transform == Transform.VALUE
        else None
    )
    for c in live:
        share = (today - grid.start[c] + 1) / (grid.end[c] - grid.start[c] + 1)
        projected = value[:, c] / share
        if share < PIPELINE_BETTER_BEFORE and pipeline is not None:
            q = grid.quarter_before(int(c))
            quarters = [q - i for i in range(4) if q - i >= grid.n_months and q >= 0]
            won = sums["won"][:, quarters].sum(1)
            lost = sums["lost"][:, quarters].sum(1)
            weighted = value[:, c] + sums[pipeline][:, c] * ratio(won, won + lost)
            by_pipeline[:, c] = won + lost >= PIPELINE_MIN_CLOSED
            projected = np.where(by_pipeline[:, c], weighted, projected)
        out[:, c] = projected
    return out, by_pipeline & ~np.isnan(out)
