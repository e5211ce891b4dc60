"""One organisation's rollups: load → attribute and tally → derive → targets and projection → result.

``Rollup`` reads what a recompute needs (or brings deals a worker kept in memory up to date), counts the
deals once, and computes every active KPI for every scope (territories, reps) and period of the grid.
The grid starts two fiscal years before the first data, so every previous / last-year value a stored
period shows (and the base of a transform KPI in those periods) is computed, not assumed.
"""

from __future__ import annotations

import hashlib
from datetime import date

import numpy as np

from kpis.models import KPI
from scorecard import periods as P
from scorecard.models import Organization

from .deals import Deals, deal_summary, read_deals, window_sql
from .derive import Columns, Values
from .distinct import DistinctCounts
from .grid import Grid
from .load import load_inputs
from .result import Batch, KpiFigures, assemble
from .tally import FactCounter, Figures
from .targets import Targets, projection
from .warm import Stale, WarmDeals


class Rollup:
    def __init__(
        self,
        org: Organization,
        today: date,
        period_keys: list[str] | None = None,
        warm: WarmDeals | None = None,
        full_grid: bool = False,
    ) -> None:
        """``period_keys``: compute only what those periods need (their data and two fiscal years before
        them, for comparisons); None = every period. ``warm``: the organisation's deals kept in memory by a
        worker (``kpis.rollup.warm``), brought up to date with the changed deals instead of reading them
        all. ``full_grid``: every period even with ``period_keys`` (so the deals can be kept warm)."""
        self.org = org
        self.inputs = inputs = load_inputs(org, today, None if warm is None else warm.period_rows)
        self.today = today.toordinal()
        self.window = (
            None if period_keys is None or full_grid or warm else [org.parse_period(k) for k in period_keys]
        )
        self.warm, changed = self._catch_up(warm)
        absent: list[str] = []
        if self.warm is not None:
            deal_days = self.warm.deals.days()
        else:
            deal_days, absent = deal_summary(org.pk)
        every = np.concatenate([deal_days, inputs.certifications.earned, inputs.input_days])
        first_day = date.fromordinal(int(every.min())) if len(every) else today
        last_day = date.fromordinal(int(every.max())) if len(every) else today
        last = min(max(last_day, first_day), max(today, first_day))
        fsm = org.fiscal_year_start_month
        self.stored_keys = [
            p.key
            for kind in (P.MONTH, P.QUARTER, P.YEAR)
            for p in P.periods_between(first_day, last, kind, fsm)
        ]
        self.stored_years = [p.key for p in P.periods_between(first_day, last, P.YEAR, fsm)]
        where = ""
        if self.window is None:
            self.grid = Grid(first_day, last, fsm)
        else:
            first = min(p.start for p in self.window)
            self.grid = Grid(min(first, last), min(max(p.end for p in self.window), last), fsm)
            where = window_sql(
                org.pk,
                date.fromordinal(int(self.grid.start[0])),
                date.fromordinal(int(self.grid.end.max())),
            )
        if self.warm is None:
            self.deals = read_deals(org.pk, inputs.scopes, inputs.products, where, absent)
            self.deals.mark_first_wins()
        else:
            self.deals = self.warm.deals
        self.counter = self._counter()
        # What the changed deals' old and new versions count, and their fact keys, when the figures were
        # brought up to date from kept ones (``kpis.rollup.distinct`` then counts only their members again;
        # ``only_changed_scopes``).
        self.delta: tuple[Figures, Figures] | None = None
        self.delta_rows: np.ndarray | None = None  # the scopes where the changed deals count
        self.figures = self._figures(changed)
        self.distinct_made: dict[str, np.ndarray] = {}
        self.sums: dict[str, np.ndarray] | None = None  # the figures' totals per (scope, period)
        # Measurement and target arrays ("rows"), targets up the tree ("of").
        self.sparse_made: dict[str, dict] = {}

    def _catch_up(self, warm: WarmDeals | None) -> tuple[WarmDeals | None, tuple[Deals, Deals] | None]:
        """Kept deals brought up to date, with the changed deals' old and new versions (None: read all)."""
        if warm is None:
            return None, None
        inputs = self.inputs
        try:
            changed = warm.catch_up(
                inputs.products.digest,
                inputs.catalog,
                inputs.scopes,
                lambda ids: read_deals(self.org.pk, inputs.scopes, inputs.products, ids=ids),
            )
        except Stale:
            return None, None
        return warm, changed

    def _counter(self) -> FactCounter:
        """The counter of facts, with member number spans of the distinct-count keys (powers of two, so
        they rarely change)."""
        inputs = self.inputs
        account_span = 1 << (int(self.deals.account.max(initial=0)) + 1).bit_length()
        lines_span = inputs.products.lines_span
        keys = (inputs.scopes.territories + 1) * (inputs.scopes.reps + 1) * self.grid.n_months
        if keys * account_span * lines_span >= 1 << 62:
            raise OverflowError("organisation too large for the 64-bit keys of distinct counts")
        return FactCounter(
            grid=self.grid,
            scopes=inputs.scopes,
            assignments=inputs.assignments,
            certifications=inputs.certifications,
            cert_filters=inputs.cert_filters(),
            today=self.today,
            account_span=account_span,
            lines_span=lines_span,
        )

    def _figures(self, changed: tuple[Deals, Deals] | None) -> Figures:
        """What the deals add up to: recounted, or the kept figures minus the changed deals' old versions
        plus their new ones when nothing else they depend on changed."""
        if self.warm is None:
            return self.counter.deal_figures(self.deals)
        key = self.counter.fingerprint()
        if self.warm.figures is not None and self.warm.key == key and changed is not None:
            old, new = (self.counter.deal_figures(deals) for deals in changed)
            self.delta_rows = old.rows() | new.rows()
            figures = self.warm.figures  # the kept state is this run's to change (``warm.take``)
            figures.change(old, new, self.delta_rows)
            self.delta = old, new
        else:
            figures = self.counter.deal_figures(self.deals)
        self.warm.key, self.warm.figures = key, figures
        return figures

    def keep(self, token: str) -> WarmDeals:
        """What a run over every deal leaves for a worker to keep (computed on the full grid)."""
        return WarmDeals(
            token=token,
            deals=self.deals,
            products_digest=self.inputs.products.digest,
            catalog=self.inputs.catalog,
            rep_ids=self.inputs.scopes.rep_ids,
            tree_ids=self.inputs.scopes.tree.ids,
            key=self.counter.fingerprint(),
            figures=self.figures,
            sums=self.sums,
            distinct=self.distinct_made,
            distinct_key=self._distinct_key(),
            period_rows=self.inputs.period_rows,
            sparse=self.sparse_made,
            context=self._context(),
            verified=self.warm is None,  # read from the database by this run
        )

    def _context(self) -> bytes:
        """Besides deals, people and inputs, what every stored row depends on: the active KPIs' definitions,
        today (future periods, live projections) and the periods with data."""
        kpis = [tuple(getattr(k, f.attname) for f in KPI._meta.concrete_fields) for k in self.inputs.kpis]
        return hashlib.blake2b(repr((kpis, self.today, self.stored_keys)).encode(), digest_size=20).digest()

    def only_changed_scopes(self, distinct: DistinctCounts) -> np.ndarray | None:
        """The scopes whose rows can differ from the last run's, when only deals changed since (figures
        brought up to date, the same people, grid, measurements, targets, KPIs, today and periods): where
        the changed deals' old or new versions count (their territories' ancestors, their reps), where
        their distinct keys reach, and where a rep whose revenue changed is active (reps at target).
        None: every scope."""
        warm = self.warm
        if (
            warm is None
            or self.delta is None
            or warm.distinct_key != self._distinct_key()
            or not self.inputs.kept_period_rows
            or warm.context != self._context()
        ):
            return None
        scopes = self.inputs.scopes
        assert self.delta_rows is not None
        found = self.delta_rows.copy()
        for figures in self.delta:
            for name, (base, _n) in figures.keys.items():  # the facts' territory paths and reps
                territory, rep = self.counter.fact_scopes(base, self.counter.key_spans[name])
                ancestors = scopes.tree.ancestors[territory[territory >= 0]]
                found[ancestors[ancestors >= 0]] = True
                found[scopes.territories + rep[rep >= 0]] = True
        reps = np.flatnonzero(found[scopes.territories :])
        active = distinct.active_members()
        found[active.cells[np.isin(active.member, reps)] // self.grid.size] = True
        return np.flatnonzero(found)

    def _distinct_key(self) -> bytes:
        """What counts over sets depend on besides the deals and targets: the deal figures' fingerprint
        (tree, reps, assignments, certifications, grid, snapshot days), the reps' employment and the
        programme participations."""
        scopes = self.inputs.scopes
        digest = hashlib.blake2b(self.counter.fingerprint(), digest_size=20)
        for part in (
            scopes.hire.tobytes(),
            scopes.leave.tobytes(),
            repr(self.inputs.participations).encode(),
        ):
            digest.update(b"|" + part)
        return digest.digest()

    def result(self, period_keys: list[str] | None = None) -> Batch:
        """Every active KPI for every scope in the stored periods (all periods with data, or those of
        ``period_keys`` that have data)."""
        inputs, grid = self.inputs, self.grid
        warm = self.warm
        if warm is not None and self.delta is not None and warm.sums is not None:
            sums = self.counter.totals(self.figures, warm.sums, self.delta_rows)
        else:
            sums = self.counter.totals(self.figures)
        self.sums = sums
        revenue_kpi = inputs.kpi_by_slug.get("won_revenue")
        same_grid = self.warm is not None and self.warm.distinct_key == self._distinct_key()
        distinct = DistinctCounts(
            self.counter,
            self.figures,
            inputs.participations,
            None if revenue_kpi is None else inputs.targets.get(revenue_kpi.id, []),
            sums["won_amount"],
            kept=self.warm.distinct if same_grid and self.warm is not None else None,
            delta=self.delta,
            same_targets=inputs.kept_period_rows,
        )
        self.distinct_made = distinct.made
        values: Values  # targets read their rows through it, and a column of it reads targets
        # Measurement and target arrays of the last run, when they were not read again and the grid is the same.
        kept = self.warm.sparse if same_grid and inputs.kept_period_rows and self.warm else {}
        targets = Targets(
            inputs.scopes, lambda kpi: values.sparse(inputs.targets, kpi.id), dict(kept.get("of", {}))
        )
        columns = Columns(
            sums,
            distinct,
            {"won_revenue_goal": lambda: targets.goal(revenue_kpi) if revenue_kpi else values.nothing},
        )
        values = Values(
            grid,
            inputs.scopes,
            columns,
            inputs.measurements,
            inputs.kpis,
            self.today,
            dict(kept.get("rows", {})),
        )
        self.sparse_made = {"rows": values.sparse_made, "of": targets.made}
        figures = []
        for kpi in inputs.kpis:
            value, coverage = values.value(kpi)
            goal, red, has_goal = targets.of(kpi)
            projected, by_pipeline = projection(kpi, value, grid, sums, self.today) or (None, None)
            figures.append(KpiFigures(kpi, value, coverage, goal, red, has_goal, projected, by_pipeline))
        only = self.only_changed_scopes(distinct)
        return assemble(figures, grid, inputs.scopes, self.stored_keys, period_keys, only)
