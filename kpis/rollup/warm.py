"""Deals kept in a worker's memory between recomputes, so an edit costs re-reading the changed deals
instead of all of them.

A recompute leaves behind, in its process, the organisation's deal columns and what they add up to
(``kpis.rollup.tally.Figures``), stamped with the random token of the ``RollupRun`` it wrote. The next recompute in
that process uses them only if that run is still the organisation's newest (no other process or
rolled-back transaction has been there since), brings them up to date with the opportunities logged in
``DealChange`` (written in the same transaction as each change, deleted by the recompute that read them)
and recounts only those deals: their old versions are subtracted and their new versions added, exactly
(money in integer units), with the unchanged deals that an edit made, or stopped being, their account's
first won deal. Before that, the kept columns are checked against what they cannot learn from the log:
products (lines, list prices) and the other catalog entries deals point at (deliverables, partners,
plays, reps: ``deals.catalog_digest``) must be unchanged, otherwise every deal is read again. After the
run, outside its transaction, the deals must have as many deliverable links as the database (``verify``);
otherwise they are forgotten and a run reading everything is requested. Anything else the figures depend on (territories, reps, assignments,
certifications, products, today, the period grid) is fingerprinted; when it changed, the figures are
recounted from the deal columns in memory. The counts over deals that are not sums (distinct customers,
identifying reps: ``kpis.rollup.distinct``) are kept too and counted again over the changed deals'
members (customers, reps) only. Manual measurements and targets are kept, with their arrays over the grid, until one changes (the
``InputChange`` log). A full recompute (nightly, ``recompute`` command) always reads everything again.

``SCORECARD_WARM_ORGS`` bounds how many organisations a process keeps (0 turns this off).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings

from .arrays import id_order, index_of
from .deals import DEAL_COLUMNS, Deals
from .grid import Scopes
from .load import PeriodRows
from .tally import Figures

# A deleted deal stays in the columns (ids are not reused) but counts nowhere: no dates, no stage.
INERT = {
    "opened": 0,
    "close": 0,
    "engage": 0,
    "stage": 0,
    "poc": 0,
    "amount": 0,
    "profit": 0,
    "profit_null": True,
    "amount_null": False,
    "list_price": 0,
    "n_lines": 0,
    "deliverable": 0,
    "first_won": False,
    "partner": False,
    "play": False,
    "account": -1,
}


class Stale(Exception):
    """The kept deals cannot be brought up to date; read them all again."""


@dataclass
class WarmDeals:
    token: str
    deals: Deals
    products_digest: bytes
    catalog: bytes
    rep_ids: np.ndarray
    tree_ids: np.ndarray
    key: bytes | None = None
    figures: Figures | None = None
    sums: dict[str, np.ndarray] | None = None  # the figures' totals (``FactCounter.totals``)
    changed: set[int] = field(default_factory=set)
    order: np.ndarray | None = None  # argsort of deals.id
    # The organisation's stored rows as this process left them ((territory, rep, period) -> data), for
    # comparing without reading them back; None when not known.
    rows: dict[tuple, bytes] | None = None
    kpi_ids: list[int] | None = None
    # Counts over deals of that run (``kpis.rollup.distinct``) and what they depended on besides the deals.
    distinct: dict[str, np.ndarray] | None = None
    distinct_key: bytes | None = None
    # Measurements and targets as that run read them (None once one changed: ``InputChange``), and the arrays
    # made from them (``derive.Values.sparse_made`` as "rows", ``targets.Targets.made`` as "of"), valid for
    # the same scopes and grid (``distinct_key``).
    period_rows: PeriodRows | None = None
    sparse: dict[str, dict] = field(default_factory=dict)
    # What every stored row of that run depended on besides deals, people and inputs: the KPI definitions,
    # today and the periods with data (``Rollup.only_changed_scopes``).
    context: bytes | None = None
    # The deals were read from the database by that run, or brought up to date and found to agree with it
    # since (``verify``).
    verified: bool = False

    def forget_period_rows(self) -> None:
        self.period_rows, self.sparse = None, {}

    def positions(self, ids: np.ndarray) -> np.ndarray:
        """Index of each id in the deal columns (-1 for unknown); the ids' order is kept between runs."""
        if self.order is None:
            self.order = id_order(self.deals.id)
        return index_of(self.deals.id, ids, self.order)

    def catch_up(
        self,
        products_digest: bytes,
        catalog: bytes,
        scopes: Scopes,
        read: Callable[[list[int]], Deals],
    ) -> tuple[Deals, Deals]:
        """Apply the changed deals (``read``: the deals with the given ids) to the columns (in place);
        returns their old and new versions. An edit can change which deal is an account's first won deal:
        unchanged deals whose mark moved come back too, as they were and as they are now, so subtracting
        the old versions and adding the new ones stays exact. Raises ``Stale`` when the kept deals cannot
        be trusted. (Whether the deals' links agree with the database is checked after the run: ``verify``.)"""
        if self.products_digest != products_digest:
            raise Stale("products changed")
        if self.catalog != catalog:
            raise Stale("deliverables, partners, plays or reps changed")
        deals = self.deals
        if not (
            np.array_equal(self.rep_ids, scopes.rep_ids) and np.array_equal(self.tree_ids, scopes.tree.ids)
        ):
            deals.index(scopes)
            self.rep_ids, self.tree_ids = scopes.rep_ids, scopes.tree.ids
        ids = np.array(sorted(self.changed), dtype=np.int64)
        pos = self.positions(ids)
        old = deals.take(pos[pos >= 0])
        new = read(ids.tolist())
        at = self.positions(new.id)
        gone = np.setdiff1d(pos[pos >= 0], at[at >= 0])
        added = at < 0
        at[added] = len(deals) + np.arange(int(added.sum()))
        for name in DEAL_COLUMNS:
            column = getattr(deals, name)
            if added.any():
                column = np.concatenate([column, getattr(new, name)[added]])
                setattr(deals, name, column)
            column[at[~added]] = getattr(new, name)[~added]
            if name in INERT:
                column[gone] = INERT[name]
        if added.any():
            self.order = None
        drop = np.isin(deals.pair_deal, np.concatenate([pos[pos >= 0], at]))
        deals.pair_deal = np.concatenate([deals.pair_deal[~drop], at[new.pair_deal]])
        deals.pair_line = np.concatenate([deals.pair_line[~drop], new.pair_line])
        self.changed = set()
        accounts = np.union1d(old.account, new.account)
        moved = np.setdiff1d(deals.mark_first_wins(accounts[accounts >= 0]), np.concatenate([pos, at]))
        new.first_won = deals.first_won[at]
        if len(moved):
            was, now = deals.take(moved), deals.take(moved)
            was.first_won = ~now.first_won
            old, new = old.joined(was), new.joined(now)
        return old, new


_KEPT: OrderedDict[int, WarmDeals] = OrderedDict()
_LOCK = threading.Lock()


def take(org_id: int, token: str | None) -> WarmDeals | None:
    """The organisation's kept deals if they are current for its newest run (removed from the cache:
    the caller changes them in place and keeps the result again)."""
    with _LOCK:
        state = _KEPT.pop(org_id, None)
    return state if state is not None and token and state.token == token else None


def verify(org_id: int, links: Callable[[], int]) -> bool:
    """After a run that brought the kept deals up to date, outside its transaction: whether they have as
    many deliverable links as the database (``links``), which a write outside the receivers (a queryset
    delete of link rows, a bulk insert) would change without a logged change. Checked after the run, not
    before it, so an edit's figures do not wait for a count over every link. False: they disagree (the
    caller forgets them, or leaves them unverified to be checked after the next run)."""
    with _LOCK:
        state = _KEPT.get(org_id)
    if state is None or state.verified:
        return True
    if int(state.deals.deliverable.sum()) == links():  # links, counted per deal
        state.verified = True
        return True
    return False


def keep(org_id: int, state: WarmDeals) -> None:
    limit = settings.SCORECARD_WARM_ORGS
    if limit <= 0:
        return
    with _LOCK:
        _KEPT[org_id] = state
        _KEPT.move_to_end(org_id)
        while len(_KEPT) > limit:
            _KEPT.popitem(last=False)


def forget(org_id: int | None = None) -> None:
    with _LOCK:
        if org_id is None:
            _KEPT.clear()
        else:
            _KEPT.pop(org_id, None)
