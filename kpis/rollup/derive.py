"""Every KPI's value over every scope and grid period: built-in metrics derived from the tallied columns
by the catalog, manual KPIs from their measurements (over time and up the tree), formulas over other
KPIs, and comparison transforms (% change vs the previous period or last year)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from kpis import catalog
from kpis import formula as formula_lang
from kpis.models import KPI, Source, TimeAggregation, Transform, TreeAggregation

from .arrays import NAN, change_pct, ratio
from .distinct import DistinctCounts
from .grid import Grid, Scopes
from .load import PeriodInputs

Array = np.ndarray


class Columns:
    """The tallied columns a catalog metric derives from (``kpis.catalog.Columns``), computed on first use:
    sums, distinct counts, and ``more`` (columns made by the caller, e.g. from targets)."""

    def __init__(
        self,
        sums: dict[str, Array],
        distinct: DistinctCounts,
        more: Mapping[str, Callable[[], Array]] | None = None,
    ) -> None:
        self.sums = sums
        self.distinct = distinct
        self.more = more or {}
        self.fkey = ""  # the filter of the metric being derived
        self._made: dict[str, Array] = {}

    def __getitem__(self, name: str) -> Array:
        if name in self.sums:
            return self.sums[name]
        if name not in self._made:
            make = self.more.get(name) or getattr(self.distinct, name)
            self._made[name] = make()
        return self._made[name]

    def filtered(self, name: str) -> Array:
        key = f"{name}:{self.fkey}"
        if key in self.sums:
            return self.sums[key]
        if key not in self._made:
            self._made[key] = getattr(self.distinct, name)(self.fkey)
        return self._made[key]

    def ratio(self, numerator: Array, denominator: Array) -> Array:
        return ratio(numerator, denominator)

    def null_unless(self, keep: Array, values: Array) -> Array:
        return np.where(keep, values, NAN)

    def metric(self, slug: str, metric_filter: dict | None) -> Array:
        self.fkey = catalog.filter_key(metric_filter)
        try:
            return catalog.get(slug).derive(self)
        finally:
            self.fkey = ""


class Values:
    """(value, coverage) of each KPI for every scope and grid period, memoised; NaN = null."""

    def __init__(
        self,
        grid: Grid,
        scopes: Scopes,
        columns: Columns,
        measurements: PeriodInputs,
        kpis: list[KPI],
        today: int,
        sparse_kept: dict[tuple[str, int], tuple[Array, Array]] | None = None,
    ) -> None:
        """``sparse_kept``: measurement ("m") and target ("t") arrays by KPI id an earlier run made from the
        same rows over the same grid; what this one makes is in ``sparse_made`` (kept ones included)."""
        self.grid = grid
        self.scopes = scopes
        self.columns = columns
        self.measurements = measurements
        self.kpi_by_slug = {k.slug: k for k in kpis}
        self.today = today
        self._values: dict[int, tuple[Array, Array]] = {}
        self.sparse_made = sparse_kept if sparse_kept is not None else {}
        self.nothing = np.full((scopes.size, grid.size), NAN)
        self.nothing.flags.writeable = False

    def sparse(self, rows: PeriodInputs, kpi_id: int) -> tuple[Array, Array]:
        """Measurements or targets of one KPI as two arrays (value or goal, weight or red flag)."""
        if kpi_id not in rows:
            return self.nothing, self.nothing
        key = ("m" if rows is self.measurements else "t", kpi_id)
        if key not in self.sparse_made:
            self.sparse_made[key] = self._sparse(rows[kpi_id])
        return self.sparse_made[key]

    def _sparse(self, rows: list[tuple]) -> tuple[Array, Array]:
        first = np.full((self.scopes.size, self.grid.size), NAN)
        second = np.full((self.scopes.size, self.grid.size), NAN)
        for scope, period, a, b in rows:
            col, row = self.grid.index.get(period), self.scopes.index.get(scope)
            if col is None or row is None:
                continue
            first[row, col] = float(a)
            second[row, col] = NAN if b is None else float(b)
        first.flags.writeable = second.flags.writeable = False  # kept for the next run
        return first, second

    def value(self, kpi: KPI) -> tuple[Array, Array]:
        if kpi.id in self._values:
            return self._values[kpi.id]
        base, coverage = self.base(kpi)
        if kpi.transform != Transform.VALUE:
            g = self.grid
            compared = g.previous if kpi.transform == Transform.PCT_PREVIOUS else g.last_year
            before = np.where(compared >= 0, base[:, np.maximum(compared, 0)], NAN)
            base = change_pct(base, before)
        future = self.grid.start > self.today
        base = np.where(future, NAN, base)
        coverage = np.where(future, NAN, coverage)
        self._values[kpi.id] = (base, coverage)
        return base, coverage

    def base(self, kpi: KPI) -> tuple[Array, Array]:
        """(value, coverage) before the comparison transform."""
        if kpi.source == Source.METRIC:
            return np.asarray(self.columns.metric(kpi.metric, kpi.metric_filter), dtype=float), self.nothing
        if kpi.source == Source.MANUAL:
            return self.manual(kpi)
        return self._evaluate(formula_lang.parse(kpi.formula)), self.nothing

    def _evaluate(self, node: formula_lang.Node) -> Array:
        if isinstance(node, formula_lang.Num):
            return np.full((self.scopes.size, self.grid.size), float(node.value))
        if isinstance(node, formula_lang.Ref):
            if node.slug == formula_lang.PERIOD_MONTHS:
                return np.repeat(self.grid.month_count[None, :], self.scopes.size, axis=0)
            kpi = self.kpi_by_slug.get(node.slug)
            return self.value(kpi)[0] if kpi else np.full((self.scopes.size, self.grid.size), NAN)
        if isinstance(node, formula_lang.Neg):
            return -self._evaluate(node.operand)
        left, right = self._evaluate(node.left), self._evaluate(node.right)
        if node.op == "+":
            return left + right
        if node.op == "-":
            return left - right
        if node.op == "*":
            return left * right
        return ratio(left, right)

    def manual(self, kpi: KPI) -> tuple[Array, Array]:
        """(value, coverage) of a manual KPI: own entry, else its sub-periods', else its child territories'.
        Kept with the measurement arrays it comes from (``sparse_made``)."""
        key = ("manual", kpi.id, kpi.time_aggregation, kpi.tree_aggregation)
        if key not in self.sparse_made:
            made = self._manual(kpi)
            for array in made:
                array.flags.writeable = False  # kept for the next run
            self.sparse_made[key] = made  # type: ignore[index]  # keyed apart from the (kind, KPI id) arrays
        return self.sparse_made[key]  # type: ignore[index]

    def _manual(self, kpi: KPI) -> tuple[Array, Array]:
        g = self.grid
        own, own_weight = self.sparse(self.measurements, kpi.id)
        has_own = ~np.isnan(own)
        value = own.copy()
        coverage = np.where(has_own, 1.0, NAN)
        nm, nq = g.n_months, g.n_quarters
        for cols, sub, group in (
            (np.arange(nm, nm + nq), np.arange(nm), 3),
            (np.arange(nm + nq, g.size), np.arange(nm, nm + nq), 4),
        ):
            parts = own[:, sub].reshape(self.scopes.size, len(cols), group)
            present = ~np.isnan(parts)
            count = present.sum(-1)
            agg = _over_time(kpi.time_aggregation, parts, present, count, group)
            fill = ~has_own[:, cols] & (count > 0)
            value[:, cols] = np.where(fill, agg, value[:, cols])
            coverage[:, cols] = np.where(fill, count / group, coverage[:, cols])
        if kpi.tree_aggregation != TreeAggregation.NONE and self.scopes.territories:
            weight = np.where(has_own, np.nan_to_num(own_weight, nan=1.0), NAN)
            self._manual_up_the_tree(kpi.tree_aggregation, value, coverage, weight)
        return value, coverage

    def _manual_up_the_tree(self, how: str, value: Array, coverage: Array, own_weight: Array) -> None:
        """Fill territories without an own value from their reporting children (in place)."""
        tree = self.scopes.tree
        n_territories = self.scopes.territories
        children = tree.children_count()
        weight = np.where(np.isnan(own_weight[:n_territories]), 1.0, own_weight[:n_territories])
        for kids, parents in tree.levels_up():
            reported = ~np.isnan(value[kids])
            kid_weight = weight[kids]
            sums = {
                name: np.zeros((n_territories, value.shape[1]))
                for name in ("n", "sum", "weighted", "weights")
            }
            np.add.at(sums["n"], tree.parent[kids], reported)
            np.add.at(sums["sum"], tree.parent[kids], np.where(reported, value[kids], 0))
            np.add.at(sums["weighted"], tree.parent[kids], np.where(reported, value[kids] * kid_weight, 0))
            np.add.at(sums["weights"], tree.parent[kids], np.where(reported, kid_weight, 0))
            n, total, weights = sums["n"][parents], sums["sum"][parents], sums["weights"][parents]
            mean = ratio(total, n)
            if how == TreeAggregation.SUM:
                agg = np.where(n > 0, total, NAN)
            elif how == TreeAggregation.WEIGHTED:
                agg = np.where(weights != 0, ratio(sums["weighted"][parents], weights), mean)
            else:
                agg = mean
            fill = np.isnan(value[parents])
            value[parents] = np.where(fill, agg, value[parents])
            coverage[parents] = np.where(fill, n / children[parents][:, None], coverage[parents])
            # A territory's weight without an own entry: its reporting children's, else 1.
            weight[parents] = np.where(np.isnan(own_weight[parents]) & (n > 0), weights, weight[parents])


def _over_time(how: str, parts: Array, present: Array, count: Array, group: int) -> Array:
    """A manual KPI's quarter from its months, or year from its quarters: sum, last or average."""
    total = np.nansum(parts, axis=-1)
    if how == TimeAggregation.SUM:
        return total
    if how == TimeAggregation.LAST:
        last = group - 1 - np.argmax(present[..., ::-1], axis=-1)
        return np.take_along_axis(parts, last[..., None], axis=-1)[..., 0]
    return ratio(total, count)
