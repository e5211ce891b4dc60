"""The shapes every rollup array has: scopes (territories in path order, then reps) × grid periods
(months, then quarters, then fiscal years)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from scorecard import periods as P

from .arrays import month_number, month_number_of


class Grid:
    """Months, then quarters, then years, covering whole fiscal years."""

    def __init__(self, first: date, last: date, fsm: int) -> None:
        start = P.period_containing(first, P.YEAR, fsm).start
        start = date(start.year - 2, start.month, 1)
        end = P.period_containing(last, P.YEAR, fsm).end
        self.fiscal_start_month = fsm
        self.months = P.periods_between(start, end, P.MONTH, fsm)
        self.quarters = P.periods_between(start, end, P.QUARTER, fsm)
        self.years = P.periods_between(start, end, P.YEAR, fsm)
        self.periods = self.months + self.quarters + self.years
        self.n_months, self.n_quarters = len(self.months), len(self.quarters)
        self.size = len(self.periods)
        self.first_month_number = month_number_of(start)
        self.index = {p.key: i for i, p in enumerate(self.periods)}
        self.start = np.array([p.start.toordinal() for p in self.periods])
        self.end = np.array([p.end.toordinal() for p in self.periods])
        self.previous = self._shifted(lambda p: p.previous())
        self.last_year = self._shifted(lambda p: p.last_year())
        # Stored rows hold one fiscal year each: a column's year (index into ``years``) and its slot in the
        # year's row (months 0-11 in fiscal order, quarters 12-15, the year 16; see ``kpis.store``).
        nm, nq = self.n_months, self.n_quarters
        m, q, y = np.arange(nm), np.arange(nq), np.arange(len(self.years))
        self.col_year = np.concatenate([m // 12, q // 4, y])
        self.col_slot = np.concatenate([m % 12, 12 + q % 4, np.full(len(y), 16)])
        # Each column's length in months: a formula's ``months`` (kpis.formula).
        self.month_count = np.concatenate([np.full(nm, 1.0), np.full(nq, 3.0), np.full(len(y), 12.0)])

    def _shifted(self, move: Callable[[P.Period], P.Period]) -> np.ndarray:
        return np.array([self.index.get(move(p).key, -1) for p in self.periods])

    def month_col(self, ordinals: np.ndarray) -> np.ndarray:
        """Grid month column of each date (-1 outside the grid or no date)."""
        ordinals = np.asarray(ordinals)
        cols = month_number(np.maximum(ordinals, 1)) - self.first_month_number
        ok = (ordinals > 0) & (cols >= 0) & (cols < self.n_months)
        return np.where(ok, cols, -1)

    def columns(self, month_cols: np.ndarray) -> list[np.ndarray]:
        """The month, quarter and year columns of month columns."""
        return [
            month_cols,
            self.n_months + month_cols // 3,
            self.n_months + self.n_quarters + month_cols // 12,
        ]

    def add_up(self, monthly: np.ndarray) -> np.ndarray:
        """(..., months) → (..., periods): quarters and years are sums of their months."""
        lead = monthly.shape[:-1]
        quarters = monthly.reshape(*lead, self.n_quarters, 3).sum(-1)
        years = monthly.reshape(*lead, len(self.years), 12).sum(-1)
        return np.concatenate([monthly, quarters, years], axis=-1)

    def at_end(self, monthly: np.ndarray) -> np.ndarray:
        """(..., months) → (..., periods): a quarter's or year's value is its last month's (snapshots)."""
        quarters = monthly[..., 2::3]
        years = monthly[..., 11::12]
        return np.concatenate([monthly, quarters, years], axis=-1)

    def quarter_before(self, column: int) -> int:
        """Grid column of the quarter ending the day before a period starts (-1 outside the grid)."""
        before = date.fromordinal(int(self.start[column]) - 1)
        quarter = P.period_containing(before, P.QUARTER, self.fiscal_start_month)
        return self.index.get(quarter.key, -1)


@dataclass
class Tree:
    ids: np.ndarray  # territory ids in path order
    parent: np.ndarray  # index of the parent, -1 for the root
    depth: np.ndarray
    ancestors: np.ndarray  # (territories, max depth) ancestor-or-self indices, -1 padded
    root: int

    @property
    def size(self) -> int:
        return len(self.ids)

    def children_count(self) -> np.ndarray:
        return np.bincount(self.parent[self.parent >= 0], minlength=self.size)

    def levels_up(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """(nodes, their distinct parents) of each depth, deepest first (the root's level left out)."""
        out = []
        for d in range(int(self.depth.max(initial=1)), 1, -1):
            nodes = np.flatnonzero(self.depth == d)
            out.append((nodes, np.unique(self.parent[nodes])))
        return out

    def subtree_sums(self, values: np.ndarray) -> np.ndarray:
        """values (territories, X) counted at each node → totals over each node's subtree (in place)."""
        for d in range(int(self.depth.max(initial=1)), 1, -1):
            nodes = np.flatnonzero(self.depth == d)
            np.add.at(values, self.parent[nodes], values[nodes])
        return values


@dataclass
class Scopes:
    """Rollup rows: the territories (path order), then the reps (id order) with their employment."""

    tree: Tree
    rep_ids: np.ndarray
    hire: np.ndarray  # date ordinals, 0 = unknown
    leave: np.ndarray  # date ordinals, FAR = still employed
    index: dict[tuple[str, int], int] = field(init=False)

    def __post_init__(self) -> None:
        self.index = {("t", int(pk)): i for i, pk in enumerate(self.tree.ids)}
        self.index.update({("r", int(pk)): self.territories + i for i, pk in enumerate(self.rep_ids)})

    @property
    def territories(self) -> int:
        return self.tree.size

    @property
    def reps(self) -> int:
        return len(self.rep_ids)

    @property
    def size(self) -> int:
        return self.territories + self.reps

    @property
    def rep_span(self) -> int:
        """Span of rep numbers in (scope, period, rep) keys."""
        return max(self.reps, 1)

    def employed(self, rep: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
        return (self.hire[rep] <= end) & (self.leave[rep] >= start)


@dataclass
class Members:
    """(scope, period, member) triples: ``cells`` = scope × grid size + period column."""

    cells: np.ndarray
    member: np.ndarray
    size: int

    @property
    def col(self) -> np.ndarray:
        return self.cells % self.size
