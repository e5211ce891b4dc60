"""Figures over sets, per (scope, grid period): distinct customers, retention, cross-brand customers,
active reps and what they did (identified opportunities, held certifications, joined programmes, met
their targets), leavers and headcounts.

Members are unique keys ``(scope, period, member)``: a fact at a territory counts at every ancestor and
at its rep, its month in its quarter and year; counting the distinct keys per (scope, period) gives
exact distinct counts over whole subtrees, never sums of child counts.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property

import numpy as np

from kpis.catalog import parse_filter_key

from .arrays import FAR, NAN, index_of, unique
from .grid import Members
from .tally import FactCounter, Figures


class DistinctCounts:
    def __init__(
        self,
        counter: FactCounter,
        figures: Figures,
        participations: list[tuple],
        revenue_targets: list[tuple] | None,
        revenue: np.ndarray,
        kept: dict[str, np.ndarray] | None = None,
        touched: dict[str, np.ndarray] | None = None,
        same_targets: bool = False,
    ) -> None:
        """``revenue_targets``: the won-revenue KPI's targets (None without such a KPI); ``revenue``: won
        revenue per (scope, period).

        ``kept`` and ``touched``, for a worker's recompute after some deals changed and nothing else did:
        the counts over deals an earlier run made (``made``) from the figures these ones were brought up to
        date from, and per key family the fact keys of the changed deals' old and new versions. Only the
        cells those keys reach are counted again; elsewhere the kept counts are still exact. The counts over
        people alone (active reps, headcounts, leavers, certified and programme reps) are taken from
        ``kept`` as they are (it comes from a run with the same people, assignments, certifications,
        programmes, grid and snapshot days), and so are the reps with a won-revenue target when
        ``same_targets``."""
        self.counter = counter
        self.grid = counter.grid
        self.scopes = counter.scopes
        self.figures = figures
        self.participations = participations
        self.revenue_targets = revenue_targets
        self.revenue = revenue
        self.kept = kept if touched is not None else None
        self.people = kept or {}
        self.same_targets = same_targets
        self.touched = touched or {}
        self.made: dict[str, np.ndarray] = {}  # counts over deals, to keep for the next run

    def count_cells(self, cells: np.ndarray) -> np.ndarray:
        """Count per (scope, period) of an array of cells (scope × grid size + period column)."""
        size = self.grid.size
        return (
            np.bincount(cells, minlength=self.scopes.size * size)
            .reshape(self.scopes.size, size)
            .astype(float)
        )

    def expand(self, base: np.ndarray, span: int, cells: np.ndarray | None = None) -> np.ndarray:
        """Distinct (scope, period, member) keys of fact keys (``FactCounter.fact_keys``): a fact at territory
        t counts at all its ancestors, and at its rep; its month counts in its quarter and year. ``cells``
        (scope × grid size + period column): only the keys at those cells (``_expand_at``)."""
        if len(base) == 0:
            return np.zeros(0, dtype=np.int64)
        if cells is not None:
            return self._expand_at(base, span, cells)
        g, nm, nr = self.grid, self.grid.n_months, self.scopes.reps + 1
        ancestors = self.scopes.tree.ancestors
        member, rest = base % span, base // span
        month, rest = rest % nm, rest // nm
        rep, territory = rest % nr - 1, rest // nr - 1
        # One part per (period kind, tree level) and per period kind for the reps: parts never share a key
        # (a node has one depth), so each is made distinct on its own and the parts are only concatenated
        # and sorted: the peak memory is one part, not every expanded fact at once.
        parts = []
        for col in g.columns(month):
            for level in range(ancestors.shape[1]):
                ancestor = np.where(territory >= 0, ancestors[np.maximum(territory, 0), level], -1)
                keep = ancestor >= 0
                parts.append(unique((ancestor[keep] * g.size + col[keep]) * span + member[keep]))
            keep = rep >= 0
            parts.append(
                unique(((self.scopes.territories + rep[keep]) * g.size + col[keep]) * span + member[keep])
            )
        keys = np.concatenate(parts)
        keys.sort()
        return keys

    def _expand_at(self, base: np.ndarray, span: int, cells: np.ndarray) -> np.ndarray:
        """``expand`` at some cells only: the facts of the months those cells cover, then for each wanted
        territory the facts of its subtree — one run of the keys, which are sorted by territory in path
        order — and for the wanted reps their facts. Parts never share a key (one scope each)."""
        g, nm, nr, n_territories = (
            self.grid,
            self.grid.n_months,
            self.scopes.reps + 1,
            self.scopes.territories,
        )
        wanted = np.zeros(self.scopes.size * g.size, dtype=bool)
        wanted[cells] = True
        months = np.zeros(nm, dtype=bool)
        for col in np.unique(cells % g.size):
            months[g.month_cols(int(col))] = True
        base = base[months[base // span % nm]]  # still sorted
        rest = base // span // nm
        territory = rest // nr - 1  # sorted: the keys' leading part
        scopes = np.unique(cells // g.size)
        end = self.scopes.tree.subtree_end
        parts = [np.zeros(0, dtype=np.int64)]

        def add(scope: np.ndarray | int, keys: np.ndarray) -> None:
            member, month = keys % span, keys // span % nm
            for col in g.columns(month):
                at = scope * g.size + col
                keep = wanted[at]
                parts.append(unique(at[keep] * span + member[keep]))

        for node in scopes[scopes < n_territories].tolist():
            lo, hi = np.searchsorted(territory, [node, end[node]])
            if hi > lo:
                add(node, base[lo:hi])
        reps = scopes[scopes >= n_territories] - n_territories
        if len(reps):
            rep = rest % nr - 1
            mine = np.isin(rep, reps)
            add(n_territories + rep[mine], base[mine])
        keys = np.concatenate(parts)
        keys.sort()
        return keys

    def _over_deals(
        self,
        name: str,
        family: str,
        span: int,
        count_at: Callable[[np.ndarray | None], np.ndarray],
        widen: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> np.ndarray:
        """A count over deals per (scope, period), memoised in ``made``: ``count_at(cells)`` counts at the
        given cells (sorted; None: every cell). With kept counts, only the cells the changed deals' keys of
        ``family`` reach are counted again (``touched_cells``; ``widen``: the cells whose count depends on
        those, when that is more)."""
        if name not in self.made:
            old = None if self.kept is None else self.kept.get(name)
            if old is None or family not in self.touched:
                out = count_at(None)
            else:
                out = old.copy()
                cells = self.touched_cells(family, span)
                if widen is not None:
                    cells = widen(cells)
                out.reshape(-1)[cells] = count_at(cells)
            self._make(name, out)
        return self.made[name]

    def _over_people(self, name: str, make: Callable[[], np.ndarray], targets: bool = False) -> np.ndarray:
        """A count that depends on no deal, memoised in ``made``: kept from the earlier run if it made it
        (``targets``: and it also depends on the targets, which did not change)."""
        if name not in self.made:
            old = self.people.get(name) if self.same_targets or not targets else None
            self._make(name, old if old is not None else make())
        return self.made[name]

    def _make(self, name: str, counts: np.ndarray) -> None:
        counts.flags.writeable = False  # kept for the next run: nobody changes it in place
        self.made[name] = counts

    def touched_cells(self, family: str, span: int) -> np.ndarray:
        """The (scope, period) cells the changed deals' fact keys of a family reach (sorted)."""
        return unique(self.expand(self.touched[family], span) // span)

    def _per_cell(self, cells: np.ndarray | None, at: np.ndarray) -> np.ndarray:
        """Count of cell numbers ``at``: per (scope, period) when ``cells`` is None, else per cell given."""
        if cells is None:
            return self.count_cells(at)
        return np.bincount(np.searchsorted(cells, at), minlength=len(cells)).astype(float)

    # --- customers ----------------------------------------------------------------------------------------

    def _customer_keys(self, cells: np.ndarray | None = None) -> np.ndarray:
        if cells is not None:
            return self.expand(self.figures.keys["customers"][0], self.counter.account_span, cells)
        return self._all_customer_keys

    @cached_property
    def _all_customer_keys(self) -> np.ndarray:
        return self.expand(self.figures.keys["customers"][0], self.counter.account_span)

    def customers(self) -> np.ndarray:
        span = self.counter.account_span
        return self._over_deals(
            "customers",
            "customers",
            span,
            lambda cells: self._per_cell(cells, self._customer_keys(cells) // span),
        )

    def previous_customers(self) -> np.ndarray:
        g = self.grid
        valid = g.previous >= 0
        out = np.full((self.scopes.size, g.size), 0.0)
        out[:, valid] = self.customers()[:, g.previous[valid]]
        return out

    def retained_customers(self) -> np.ndarray:
        """Customers of the previous period active again. A cell counts again when its own customers or
        the previous period's changed."""
        g, span = self.grid, self.counter.account_span

        def count_at(cells: np.ndarray | None) -> np.ndarray:
            previous = g.previous
            if cells is not None:  # the cells and the cells they compare with
                before = previous[cells % g.size]
                with_before = unique(
                    np.concatenate([cells, (cells // g.size * g.size + before)[before >= 0]])
                )
                keys = self._customer_keys(with_before)
            else:
                keys = self._customer_keys()
            at, member = keys // span, keys % span
            scope, col = at // g.size, at % g.size
            ok = previous[col] >= 0
            if cells is not None:
                ok &= np.isin(at, cells)
            earlier = (scope[ok] * g.size + previous[col[ok]]) * span + member[ok]
            pos = np.clip(np.searchsorted(keys, earlier), 0, max(len(keys) - 1, 0))
            again = keys[pos] == earlier if len(keys) else np.zeros(0, dtype=bool)  # keys are sorted
            return self._per_cell(cells, at[ok][again])

        def with_following(changed: np.ndarray) -> np.ndarray:
            """The cells whose customers changed, and the cells that follow them."""
            following = np.full(g.size, -1)
            valid = g.previous >= 0
            following[g.previous[valid]] = np.flatnonzero(valid)
            after = following[changed % g.size]
            return unique(np.concatenate([changed, (changed // g.size * g.size + after)[after >= 0]]))

        return self._over_deals("retained_customers", "customers", span, count_at, with_following)

    def cross_brand_accounts(self) -> np.ndarray:
        """Customers whose won deals in the period span two or more product lines."""
        span, lines_span = self.counter.account_span, self.counter.lines_span

        def count_at(cells: np.ndarray | None) -> np.ndarray:
            line_keys = self.expand(self.figures.keys["lines"][0], span * lines_span, cells)
            per_account = line_keys // lines_span  # (scope, period, account) repeated once per line
            accounts, counts = np.unique(per_account, return_counts=True)
            return self._per_cell(cells, accounts[counts >= 2] // span)

        return self._over_deals("cross_brand_accounts", "lines", span * lines_span, count_at)

    # --- reps ---------------------------------------------------------------------------------------------

    def reps_in_scope(self, start: np.ndarray, end: np.ndarray, *, one_day: bool = False) -> Members:
        """Employed reps assigned in a territory's subtree at some day of [start, end] of each period, and
        each rep in its own scope when employed then. On a single day a rep has one assignment, so the
        (scope, period, rep) triples are distinct without a sort; over a period only the reps with several
        assignments in it need one."""
        g, scopes, a = self.grid, self.scopes, self.counter.assignments
        cells, reps = [], []
        if len(a.rep):
            lo = np.maximum(np.maximum(a.start[:, None], start[None, :]), scopes.hire[a.rep][:, None])
            hi = np.minimum(np.minimum(a.end[:, None], end[None, :]), scopes.leave[a.rep][:, None])
            ai, pi = np.nonzero(lo <= hi)
            rep = a.rep[ai]
            several = np.zeros(len(ai), dtype=bool)
            if not one_day and len(ai):
                per_rep_period = rep * g.size + pi
                several = np.bincount(per_rep_period, minlength=scopes.rep_span * g.size)[per_rep_period] > 1
            for part in (~several, several):
                part_cells, part_reps = [], []
                for level in range(scopes.tree.ancestors.shape[1]):
                    ancestor = scopes.tree.ancestors[a.territory[ai[part]], level]
                    keep = ancestor >= 0
                    part_cells.append(ancestor[keep] * g.size + pi[part][keep])
                    part_reps.append(rep[part][keep])
                c, r = np.concatenate(part_cells), np.concatenate(part_reps)
                if part is several and len(c):
                    distinct = unique(c * scopes.rep_span + r)
                    c, r = distinct // scopes.rep_span, distinct % scopes.rep_span
                cells.append(c)
                reps.append(r)
        r, p = np.nonzero(scopes.employed(np.arange(scopes.reps)[:, None], start[None, :], end[None, :]))
        cells.append((scopes.territories + r) * g.size + p)
        reps.append(r)
        return Members(np.concatenate(cells), np.concatenate(reps), g.size)

    def _members(self, name: str, make: Callable[[], Members]) -> Members:
        """Members over people alone, kept like their counts (as two arrays)."""
        cells, member = self.people.get(f"{name}:cells"), self.people.get(f"{name}:member")
        members = (
            Members(cells, member, self.grid.size) if cells is not None and member is not None else make()
        )
        self._make(f"{name}:cells", members.cells)
        self._make(f"{name}:member", members.member)
        return members

    def active_members(self) -> Members:
        """(scope, period, rep): reps active in each scope and period."""
        return self._active

    @cached_property
    def _active(self) -> Members:
        return self._members("active", lambda: self.reps_in_scope(self.grid.start, self.grid.end))

    @cached_property
    def _snapshot(self) -> Members:
        """Reps on each period's last day, or today when that is earlier."""
        day = np.minimum(self.grid.end, self.counter.today)
        return self._members("snapshot", lambda: self.reps_in_scope(day, day, one_day=True))

    def active_reps(self) -> np.ndarray:
        return self._over_people("active_reps", lambda: self.count_cells(self._active.cells))

    def reps_at_start(self) -> np.ndarray:
        g = self.grid
        return self._over_people(
            "reps_at_start",
            lambda: self.count_cells(self.reps_in_scope(g.start, g.start, one_day=True).cells),
        )

    def reps_at_end(self) -> np.ndarray:
        g = self.grid
        return self._over_people(
            "reps_at_end", lambda: self.count_cells(self.reps_in_scope(g.end, g.end, one_day=True).cells)
        )

    def reps_at_snapshot(self) -> np.ndarray:
        return self._over_people("reps_at_snapshot", lambda: self.count_cells(self._snapshot.cells))

    def leavers(self) -> np.ndarray:
        def count() -> np.ndarray:
            leaving = np.flatnonzero(self.scopes.leave < FAR)
            leave_day = self.scopes.leave[leaving]
            territory = self.counter.assignments.territory_on(leaving, leave_day)
            month = self.grid.month_col(leave_day)
            return self.grid.add_up(self.counter.monthly(territory, leaving, month, 1.0))

        return self._over_people("leavers", count)

    def identifying_reps(self) -> np.ndarray:
        """Active reps who identified a new opportunity in the period."""
        rep_span = self.scopes.rep_span

        def count_at(cells: np.ndarray | None) -> np.ndarray:
            keys = self.expand(self.figures.keys["identifiers"][0], rep_span, cells)
            at, member = self._active.cells, self._active.member
            if cells is not None:
                inside = np.isin(at, cells)
                at, member = at[inside], member[inside]
            wanted = at * rep_span + member
            pos = np.clip(np.searchsorted(keys, wanted), 0, max(len(keys) - 1, 0))
            found = keys[pos] == wanted if len(keys) else np.zeros(len(wanted), dtype=bool)  # keys are sorted
            return self._per_cell(cells, at[found])

        return self._over_deals("identifying_reps", "identifiers", rep_span, count_at)

    def _count_reps(self, members: Members, per_rep_period: np.ndarray) -> np.ndarray:
        """Count the members whose (rep, period) is set in the matrix, per (scope, period)."""
        return self.count_cells(members.cells[per_rep_period[members.member, members.col]])

    def certified_reps(self, fkey: str) -> np.ndarray:
        """Reps at the snapshot day holding a certification matching the filter then."""
        return self._over_people(f"certified_reps:{fkey}", lambda: self._certified_reps(fkey))

    def _certified_reps(self, fkey: str) -> np.ndarray:
        g, reps = self.grid, self.scopes.reps
        day = np.minimum(g.end, self.counter.today)
        held = (
            self.counter.certifications.held(
                fkey, np.repeat(np.arange(reps), g.size), np.tile(day, reps)
            ).reshape(reps, g.size)
            if reps
            else np.zeros((1, g.size), dtype=bool)
        )
        return self._count_reps(self._snapshot, held)

    def programme_reps(self, fkey: str) -> np.ndarray:
        """Active reps in a programme matching the filter (kind, programme) during the period."""
        return self._over_people(f"programme_reps:{fkey}", lambda: self._programme_reps(fkey))

    def _programme_reps(self, fkey: str) -> np.ndarray:
        g = self.grid
        inside = np.zeros((self.scopes.rep_span, g.size), dtype=bool)
        wanted = parse_filter_key(fkey)
        kind, program = wanted.get("kind"), wanted.get("program")
        rep_index = index_of(self.scopes.rep_ids, [p[0] for p in self.participations])
        for (_rep, k, pid, start, end), r in zip(self.participations, rep_index, strict=True):
            if r < 0 or (kind is not None and k != kind) or (program is not None and str(pid) != program):
                continue
            inside[r] |= (start.toordinal() <= g.end) & ((end.toordinal() if end else FAR) >= g.start)
        return self._count_reps(self._active, inside)

    @cached_property
    def _rep_targets(self) -> tuple[np.ndarray, np.ndarray]:
        """Per (rep, period): has a won-revenue target, and won revenue meets it."""
        g, scopes = self.grid, self.scopes

        def goals() -> np.ndarray:
            goal = np.full((scopes.rep_span, g.size), NAN)
            for scope, period, target_goal, _red in self.revenue_targets or ():
                col = g.index.get(period)
                if scope[0] == "r" and col is not None:
                    goal[scopes.index[scope] - scopes.territories, col] = float(target_goal)
            return goal

        goal = self._over_people("rep_revenue_goal", goals, targets=True)
        has = ~np.isnan(goal)
        at = np.zeros_like(has)
        revenue = self.revenue[scopes.territories :]
        at[: scopes.reps] = has[: scopes.reps] & (revenue >= np.nan_to_num(goal[: scopes.reps], nan=np.inf))
        return has, at

    def reps_with_target(self) -> np.ndarray:
        return self._over_people(
            "reps_with_target", lambda: self._count_reps(self._active, self._rep_targets[0]), targets=True
        )

    def reps_at_target(self) -> np.ndarray:
        return self._count_reps(self._active, self._rep_targets[1])
