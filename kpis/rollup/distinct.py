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
from .tally import FactCounter, Figures, merged


class DistinctCounts:
    def __init__(
        self,
        counter: FactCounter,
        figures: Figures,
        participations: list[tuple],
        revenue_targets: list[tuple] | None,
        revenue: np.ndarray,
        kept: dict[str, np.ndarray] | None = None,
        delta: tuple[Figures, Figures] | None = None,
        same_targets: bool = False,
    ) -> None:
        """``revenue_targets``: the won-revenue KPI's targets (None without such a KPI); ``revenue``: won
        revenue per (scope, period).

        ``kept`` and ``delta``, for a worker's recompute after some deals changed and nothing else did:
        the counts over deals an earlier run made (``made``) from the figures these ones were brought up to
        date from, and what the changed deals' old and new versions count (their fact keys). A count over
        deals is a sum over members (a customer, a rep) of what each member's facts give, so only the
        members of the changed facts are counted again: their count before the change is taken out and
        their count after it put in (``_over_deals``). The counts over people alone (active reps,
        headcounts, leavers, certified and programme reps) are taken from ``kept`` as they are (it comes
        from a run with the same people, assignments, certifications, programmes, grid and snapshot days),
        and so are the reps with a won-revenue target when ``same_targets``."""
        self.counter = counter
        self.grid = counter.grid
        self.scopes = counter.scopes
        self.figures = figures
        self.participations = participations
        self.revenue_targets = revenue_targets
        self.revenue = revenue
        self.kept = kept if delta is not None else None
        self.people = kept or {}
        self.same_targets = same_targets
        self.delta = delta
        self.made: dict[str, np.ndarray] = {}  # counts over deals, to keep for the next run
        self._expanded: dict[tuple[str, str], np.ndarray] = {}
        self._members_facts: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def count_cells(self, cells: np.ndarray) -> np.ndarray:
        """Count per (scope, period) of an array of cells (scope × grid size + period column)."""
        size = self.grid.size
        return (
            np.bincount(cells, minlength=self.scopes.size * size)
            .reshape(self.scopes.size, size)
            .astype(float)
        )

    def expand(self, base: np.ndarray, span: int) -> np.ndarray:
        """Distinct (scope, period, member) keys of fact keys (``FactCounter.fact_keys``): a fact at territory
        t counts at all its ancestors, and at its rep; its month counts in its quarter and year."""
        if len(base) == 0:
            return np.zeros(0, dtype=np.int64)
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

    def _over_deals(
        self,
        name: str,
        family: str,
        count: Callable[[np.ndarray], np.ndarray],
    ) -> np.ndarray:
        """A count over deals per (scope, period), memoised in ``made``: ``count(keys)`` counts the expanded
        keys of a family (``_keys``). It must be a sum over members of what each member's keys give, so that
        with kept counts it is brought up to date by the changed members alone: kept − their count before
        the change + their count after it. Counts are whole numbers (floats far below 2^53): exact."""
        if name not in self.made:
            old = None if self.kept is None else self.kept.get(name)
            if old is None or self.delta is None:
                out = count(self._keys(family, "all"))
            else:
                before, after = self._keys(family, "before"), self._keys(family, "after")
                out = old if len(before) == len(after) == 0 else old + count(after) - count(before)
            self._make(name, out)
        return self.made[name]

    # The member number of a fact key of each family (``FactCounter.fact_keys``): the account of a customer
    # or of a (customer, product line) pair, the identifying rep.
    def _member(self, family: str, keys: np.ndarray) -> np.ndarray:
        spans = self.counter.key_spans
        if family == "lines":
            return keys % spans["lines"] // self.counter.lines_span
        return keys % spans[family]

    # Families counted more than once (customers, retained customers): their expanded keys are kept for
    # the next count. The others' are let go after their count (at 1M deals, tens of MB each).
    SHARED = frozenset({"customers"})

    def _keys(self, family: str, which: str) -> np.ndarray:
        """The expanded (scope, period, member) keys of a family's facts: "all", or only the changed
        members' facts "before" and "after" the change (``delta``)."""
        keys = self._expanded.get((family, which))
        if keys is None:
            span = self.counter.key_spans[family]
            if which == "all":
                base = self.figures.keys[family][0]
            else:
                base = self._changed_members_facts(family)[which == "after"]
            keys = self.expand(base, span)
            if family in self.SHARED:
                self._expanded[family, which] = keys
        return keys

    def _changed_members_facts(self, family: str) -> tuple[np.ndarray, np.ndarray]:
        """The fact keys of the members the changed deals count for, before and after the change: the
        figures' keys of those members (after), with the changed deals' new facts taken out and their old
        ones put back (before). Memoised (a few keys)."""
        if family not in self._members_facts:
            self._members_facts[family] = self._members_facts_of(family)
        return self._members_facts[family]

    def _members_facts_of(self, family: str) -> tuple[np.ndarray, np.ndarray]:
        assert self.delta is not None
        old, new = (figures.keys[family] for figures in self.delta)
        members = unique(np.concatenate([self._member(family, old[0]), self._member(family, new[0])]))
        keys, counts = self.figures.keys[family]
        mine = np.isin(self._member(family, keys), members) if len(members) else np.zeros(len(keys), bool)
        after = (keys[mine], counts[mine])
        before = merged(*merged(*after, *new, -1, family), *old, 1, family)
        return before[0], after[0]

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

    # --- customers ----------------------------------------------------------------------------------------

    def customers(self) -> np.ndarray:
        span = self.counter.account_span
        return self._over_deals("customers", "customers", lambda keys: self.count_cells(keys // span))

    def previous_customers(self) -> np.ndarray:
        g = self.grid
        valid = g.previous >= 0
        out = np.full((self.scopes.size, g.size), 0.0)
        out[:, valid] = self.customers()[:, g.previous[valid]]
        return out

    def retained_customers(self) -> np.ndarray:
        """Customers of the previous period active again."""
        g, span = self.grid, self.counter.account_span

        def count(keys: np.ndarray) -> np.ndarray:
            previous = g.previous
            at, member = keys // span, keys % span
            scope, col = at // g.size, at % g.size
            ok = previous[col] >= 0
            earlier = (scope[ok] * g.size + previous[col[ok]]) * span + member[ok]
            pos = np.clip(np.searchsorted(keys, earlier), 0, max(len(keys) - 1, 0))
            again = keys[pos] == earlier if len(keys) else np.zeros(0, dtype=bool)  # keys are sorted
            return self.count_cells(at[ok][again])

        return self._over_deals("retained_customers", "customers", count)

    def cross_brand_accounts(self) -> np.ndarray:
        """Customers whose won deals in the period span two or more product lines."""
        span, lines_span = self.counter.account_span, self.counter.lines_span

        def count(line_keys: np.ndarray) -> np.ndarray:
            per_account = line_keys // lines_span  # (scope, period, account) repeated once per line
            accounts, counts = np.unique(per_account, return_counts=True)
            return self.count_cells(accounts[counts >= 2] // span)

        return self._over_deals("cross_brand_accounts", "lines", count)

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

        def count(keys: np.ndarray) -> np.ndarray:
            at, member = self._active.cells, self._active.member
            reps = unique(keys % rep_span)
            if len(reps) < self.scopes.reps:  # the changed members only: their active cells
                mine = np.isin(member, reps)
                at, member = at[mine], member[mine]
            wanted = at * rep_span + member
            pos = np.clip(np.searchsorted(keys, wanted), 0, max(len(keys) - 1, 0))
            found = keys[pos] == wanted if len(keys) else np.zeros(len(wanted), dtype=bool)  # keys are sorted
            return self.count_cells(at[found])

        return self._over_deals("identifying_reps", "identifiers", count)

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
