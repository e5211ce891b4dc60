"""Counting facts: what deals (and certifications, leavers) add up to per (scope, grid month).

Additive figures are weights summed with ``bincount`` into (territory, month) and (rep, month) cells, then
over each territory's subtree; figures over sets (distinct customers, identifiers) are kept as distinct
(territory, rep, month, member) keys with how many facts have each, expanded to scopes and periods later
(``kpis.rollup.distinct``). Both are sums over deals, so removing deals and adding others is exact; the
one mark that depends on other deals (``Deals.first_won``) is kept current by whoever changes the deals
(``kpis.rollup.warm``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .arrays import UNITS, bincount_exact
from .attribute import Assignments, Certifications
from .deals import Deals
from .grid import Grid, Scopes


@dataclass
class Figures:
    """Additive counts per (scope, grid month) — money as int64 UNITS — and, for distinct counts,
    (territory, rep, month, member) keys with how many facts have each."""

    counts: dict[str, np.ndarray]
    keys: dict[str, tuple[np.ndarray, np.ndarray]]

    def rows(self) -> np.ndarray:
        """Whether each scope has a count other than 0 (of a few deals' figures: the scopes they reach)."""
        found = np.zeros(next(iter(self.counts.values())).shape[0], dtype=bool)
        for counts in self.counts.values():
            found |= np.any(counts != 0, axis=1)
        return found

    def change(self, old: Figures, new: Figures, rows: np.ndarray) -> None:
        """In place: minus ``old``, plus ``new``, whose counts are 0 outside ``rows`` (``rows()``). Only those
        rows are written: an edit's few scopes, not every count's whole array."""
        for name, v in self.counts.items():
            v[rows] += new.counts[name][rows] - old.counts[name][rows]
        for name, (keys, counts) in self.keys.items():
            self.keys[name] = merged(
                *merged(keys, counts, *old.keys[name], -1, name), *new.keys[name], 1, name
            )


def merged(
    known: np.ndarray, how_many: np.ndarray, more: np.ndarray, more_counts: np.ndarray, sign: int, name: str
) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct keys with their counts plus (``sign`` 1) or minus (-1) other sorted distinct keys'
    counts; keys whose count drops to 0 go. Linear in the known keys (no sort): an edit's few keys are
    found with a binary search and the new ones inserted in place."""
    more_counts = more_counts.astype(np.int64)
    pos = np.searchsorted(known, more)
    found = pos < len(known)
    found[found] = known[pos[found]] == more[found]
    total = how_many.copy()
    total[pos[found]] += sign * more_counts[found]
    added = sign * more_counts[~found]
    if (total < 0).any() or (added < 0).any():
        raise ValueError(f"removing facts that were never counted ({name})")
    if len(added):
        known = np.insert(known, pos[~found], more[~found])
        total = np.insert(total, pos[~found], added)
    keep = total > 0
    return (known, total) if keep.all() else (known[keep], total[keep])


# Facts counted at their ancestors one by one rather than summed over the tree (an edit's few deals).
FEW_FACTS = 256


@dataclass
class FactCounter:
    """Counts facts into (scope, grid month) cells, attributing each to its territory on its date."""

    grid: Grid
    scopes: Scopes
    assignments: Assignments
    certifications: Certifications
    cert_filters: list[str]
    today: int  # ordinal
    account_span: int  # powers of two above the account ids and the number of product lines
    lines_span: int

    def cells(self, territory: np.ndarray, rep: np.ndarray, month_col: np.ndarray) -> Callable:
        """A counter of facts at (territory, rep, grid month), for summing several weights over the same
        facts: the (scope, month) cell of every fact is worked out once."""
        nm, scopes = self.grid.n_months, self.scopes
        ok = month_col >= 0
        t_sel = np.flatnonzero(ok & (territory >= 0))
        r_sel = np.flatnonzero(ok & (rep >= 0))
        idx = np.concatenate(
            [
                territory[t_sel] * nm + month_col[t_sel],
                (scopes.territories + rep[r_sel]) * nm + month_col[r_sel],
            ]
        )
        sel = np.concatenate([t_sel, r_sel])

        few = len(idx) <= FEW_FACTS
        if few:  # each fact counted at its territory's ancestors directly (no pass over the whole tree)
            ancestors = scopes.tree.ancestors[territory[t_sel]]
            level = ancestors >= 0
            at = np.concatenate(
                [
                    (ancestors * nm + month_col[t_sel][:, None])[level],
                    (scopes.territories + rep[r_sel]) * nm + month_col[r_sel],
                ]
            )
            of = np.concatenate([np.repeat(t_sel, level.sum(1)), r_sel])

        def count(weights) -> np.ndarray:
            """Σ weights per (scope, month); int64 weights (money in UNITS) are summed exactly."""
            w = np.asarray(weights)
            out: np.ndarray
            if few:  # weights are whole numbers: sums in any order are exact
                out = np.zeros(scopes.size * nm, dtype=np.int64 if w.dtype == np.int64 else float)
                np.add.at(out, at, np.broadcast_to(w, len(month_col))[of] if len(of) else 0)
                return out.reshape(scopes.size, nm)
            if w.dtype == np.int64:
                out = bincount_exact(idx, w[sel], scopes.size * nm)
            elif w.ndim == 0:
                out = np.bincount(idx, minlength=scopes.size * nm) * float(w)
            else:
                out = np.bincount(idx, weights=w[sel].astype(float), minlength=scopes.size * nm)
            out = out.reshape(scopes.size, nm)
            scopes.tree.subtree_sums(out[: scopes.territories])
            return out

        return count

    def monthly(self, territory: np.ndarray, rep: np.ndarray, month_col: np.ndarray, weights) -> np.ndarray:
        """Σ weights per (scope, grid month): territory subtree totals, then reps."""
        return self.cells(territory, rep, month_col)(weights)

    def deal_figures(self, deals: Deals) -> Figures:
        """Everything the deals add up to (see ``Figures``)."""
        counts: dict[str, np.ndarray] = {}
        keys: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        at_close, closed_poc = self._count_closed(deals, counts, keys)
        self._count_opened(deals, at_close, closed_poc, counts, keys)
        counts.update(self._open_pipeline(deals))
        return Figures(counts, keys)

    def _count_closed(self, d: Deals, counts: dict, keys: dict) -> tuple[Callable, np.ndarray]:
        """Figures of won and lost deals in the month they closed; returns their counter and POCs."""
        closed = np.flatnonzero((d.stage > 0) & (d.close > 0))
        territory = self.assignments.deal_territory(d, closed, d.close[closed], self.scopes.tree.root)
        rep, month = d.rep[closed], self.grid.month_col(d.close[closed])
        won = d.stage[closed] == 1
        lost = ~won
        amount = d.amount[closed]
        has_profit = won & ~d.profit_null[closed]
        cycle_ok = d.engage[closed] > 0
        partner, play, delivered, poc = (
            d.partner[closed],
            d.play[closed],
            d.deliverable[closed] > 0,
            d.poc[closed],
        )
        weights = {
            "won": won,
            "lost": lost,
            "won_amount": won * amount,
            "lost_amount": lost * amount,
            "profit": np.where(has_profit, d.profit[closed], 0),
            "profit_revenue": has_profit * amount,
            "profit_deals": has_profit,
            "cycle_days": np.where(cycle_ok, d.close[closed] - d.engage[closed], 0).astype(float),
            "cycle_deals": cycle_ok,
            "partner_won": won & partner,
            "partner_lost": lost & partner,
            "partner_won_amount": (won & partner) * amount,
            "play_won": won & play,
            "play_lost": lost & play,
            "deliverable_won": won & delivered,
            "deliverable_lost": lost & delivered,
            "poc_success_won": won & (poc == 1),
            "poc_success_lost": lost & (poc == 1),
            "cross_brand_deals": won & (d.n_lines[closed] >= 2),
            "first_wins": won & d.first_won[closed],
        }
        count = self.cells(territory, rep, month)
        for name, w in weights.items():
            counts[name] = count(w)
        for fkey in self.cert_filters:
            held = self.certifications.held(fkey, d.rep[closed], d.close[closed])
            counts[f"cert_won:{fkey}"] = count(held & won)
            counts[f"cert_lost:{fkey}"] = count(held & ~won)
        self._customer_keys(d, closed[won], territory[won], rep[won], month[won], keys)
        return count, poc

    def _customer_keys(self, d: Deals, won_deals, territory, rep, month, keys: dict) -> None:
        """Distinct customers of won deals, and their (customer, product line) pairs (cross-brand)."""
        has = d.account[won_deals] >= 0
        won_deals, territory, rep, month = won_deals[has], territory[has], rep[has], month[has]
        account = d.account[won_deals]
        keys["customers"] = self.fact_keys(territory, rep, month, account, self.account_span)
        pair_ok = np.isin(d.pair_deal, won_deals)
        pair_deal, pair_line = d.pair_deal[pair_ok], d.pair_line[pair_ok]
        pos = np.searchsorted(won_deals, pair_deal) if len(won_deals) else pair_deal
        keys["lines"] = self.fact_keys(
            territory[pos],
            rep[pos],
            month[pos],
            account[pos] * self.lines_span + pair_line,
            self.account_span * self.lines_span,
        )

    def _count_opened(
        self, d: Deals, at_close: Callable, closed_poc: np.ndarray, counts: dict, keys: dict
    ) -> None:
        """Figures of deals in the month they were engaged (else created)."""
        opened = np.flatnonzero(d.opened > 0)
        territory = self.assignments.deal_territory(d, opened, d.opened[opened], self.scopes.tree.root)
        rep, month = d.rep[opened], self.grid.month_col(d.opened[opened])
        count = self.cells(territory, rep, month)
        counts["new"] = count(np.ones(len(opened)))
        counts["cohort_won"] = count(d.stage[opened] == 1)
        counts["play_new"] = count(d.play[opened])
        # A finished POC counts when the deal closed, or, on a deal still open, in the period it was engaged.
        still_open = ~((d.stage[opened] > 0) & (d.close[opened] > 0))
        for name, code in (("poc_success", 1), ("poc_failure", 2)):
            counts[name] = at_close(closed_poc == code) + count(still_open & (d.poc[opened] == code))
        identifier = np.where(d.identifier[opened] >= 0, d.identifier[opened], rep)
        has = identifier >= 0
        keys["identifiers"] = self.fact_keys(
            territory[has], rep[has], month[has], identifier[has], self.scopes.rep_span
        )

    def _open_pipeline(self, d: Deals) -> dict[str, np.ndarray]:
        """Deals open at each month end (engaged by the snapshot day, not closed by the month's end): a
        running sum per (rep, credited territory) of deals opened minus deals closed, attributed at each
        month's snapshot day."""
        g, nm = self.grid, self.grid.n_months
        deals = np.flatnonzero((d.opened > 0) & (d.opened <= self.today))
        start_col = np.where(d.opened[deals] < g.start[0], 0, g.month_col(d.opened[deals]))
        is_closed = d.stage[deals] > 0
        close = np.where(is_closed & (d.close[deals] > 0), d.close[deals], 0)
        end_col = np.where(close > 0, g.month_col(close), nm)
        end_col = np.where((close > 0) & (end_col < 0), np.where(close < g.start[0], 0, nm), end_col)
        keep = (start_col >= 0) & (end_col > start_col)
        deals, start_col, end_col = deals[keep], start_col[keep], end_col[keep]
        value = np.where(d.amount_null[deals], d.list_price[deals], d.amount[deals])
        poc_open = (d.poc[deals] == 1) & (d.stage[deals] != 1)
        span = self.scopes.territories + 1
        combos, combo = np.unique((d.rep[deals] + 1) * span + d.terr[deals] + 1, return_inverse=True)
        combo = combo.reshape(-1)
        n_combos = len(combos)
        snapshot = np.minimum(g.end[:nm], self.today)
        combo_rep = np.repeat(combos // span - 1, nm)
        territory = self.assignments.credited(
            combo_rep, np.repeat(combos % span - 1, nm), np.tile(snapshot, n_combos), self.scopes.tree.root
        )
        count = self.cells(territory, combo_rep, np.tile(np.arange(nm), n_combos))
        opens, closes = combo * (nm + 1) + start_col, combo * (nm + 1) + end_col
        out = {}
        for name, weights in (
            ("open_count", np.ones(len(deals), dtype=np.int64)),
            ("open_value", value),
            ("open_poc_success", poc_open.astype(np.int64)),
        ):
            size = n_combos * (nm + 1)
            delta = bincount_exact(opens, weights, size) - bincount_exact(closes, weights, size)
            running = np.cumsum(delta.reshape(n_combos, nm + 1)[:, :nm], axis=1).reshape(-1)
            monthly = count(running)  # int64: exact
            out[name] = monthly if name == "open_value" else monthly.astype(float)
        return out

    def fact_keys(self, territory, rep, month, member, span: int) -> tuple[np.ndarray, np.ndarray]:
        """Distinct (territory, rep, grid month, member) keys of facts, and how many facts have each;
        ``span`` bounds the member numbers. Facts outside the grid are left out."""
        ok = month >= 0
        territory, rep, month, member = territory[ok], rep[ok], month[ok], member[ok]
        nm, nr = self.grid.n_months, self.scopes.reps + 1
        keys, counts = np.unique(
            (((territory + 1) * nr + (rep + 1)) * nm + month) * span + member, return_counts=True
        )
        return keys.astype(np.int64), counts.astype(np.int64)

    @property
    def key_spans(self) -> dict[str, int]:
        """The member span of each family of fact keys (``fact_keys``)."""
        return {
            "customers": self.account_span,
            "lines": self.account_span * self.lines_span,
            "identifiers": self.scopes.rep_span,
        }

    def fact_scopes(self, keys: np.ndarray, span: int) -> tuple[np.ndarray, np.ndarray]:
        """The territory and rep (-1: none) of fact keys (``fact_keys``)."""
        rest = keys // span // self.grid.n_months
        nr = self.scopes.reps + 1
        return rest // nr - 1, rest % nr - 1

    def totals(
        self, figures: Figures, kept: dict[str, np.ndarray] | None = None, rows: np.ndarray | None = None
    ) -> dict[str, np.ndarray]:
        """Per (scope, grid period): quarters and years sum their months (snapshots take their last
        month's), money back in currency units; with certifications earned per filter.

        ``kept`` and ``rows``: the totals of the figures before some deals changed (same fingerprint), and
        the scopes those deals count at; only those rows are summed again, in place."""
        if kept is not None and rows is not None:
            at = np.flatnonzero(rows)
            for name, v in figures.counts.items():
                kept[name].flags.writeable = True
                kept[name][at] = self._over_periods(name, v[at])
                kept[name].flags.writeable = False
            return kept
        counts = dict(figures.counts)
        certs = self.certifications
        earned_territory = self.assignments.territory_on(certs.rep, certs.earned)
        earned_month = self.grid.month_col(certs.earned)
        for fkey in self.cert_filters:
            counts[f"certs_earned:{fkey}"] = self.monthly(
                earned_territory, certs.rep, earned_month, certs.matching(fkey) & (certs.rep >= 0)
            )
        sums = {name: self._over_periods(name, v) for name, v in counts.items()}
        for v in sums.values():
            v.flags.writeable = False  # kept for the next run (changed here only)
        return sums

    def _over_periods(self, name: str, monthly: np.ndarray) -> np.ndarray:
        v = self.grid.at_end(monthly) if name.startswith("open_") else self.grid.add_up(monthly)
        return v / UNITS if v.dtype == np.int64 else v

    def fingerprint(self) -> bytes:
        """Everything deal figures depend on besides the deals: when it is unchanged, figures kept from an
        earlier run stay valid and only changed deals need counting again."""
        digest = hashlib.blake2b(digest_size=20)
        g, a, c = self.grid, self.assignments, self.certifications
        arrays = (
            self.scopes.tree.ids,
            self.scopes.tree.parent,
            self.scopes.rep_ids,
            a.rep,
            a.start,
            a.end,
            a.territory,
            c.rep,
            c.type,
            c.earned,
            c.expires,
            g.start,
            g.end,
        )
        for array in arrays:
            digest.update(np.ascontiguousarray(array).tobytes())
            digest.update(b"|")
        # Deal figures see "today" only through open pipeline snapshots, which stop at the grid's last month.
        t = min(self.today, int(g.end[: g.n_months].max()))
        digest.update(
            repr((t, self.cert_filters, list(c.category), self.account_span, self.lines_span)).encode()
        )
        return digest.digest()
