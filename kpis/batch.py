"""Every KPI for every scope and period at once: the computation behind the stored rollups.

Same semantics as the row-at-a-time reference in ``kpis.engine`` (DESIGN §4), computed column-wise with
numpy so a full recompute costs a few passes over the organisation's rows instead of one Python call per
KPI × scope × period:

- facts (deals, certifications) are attributed once, vectorised, to the territory the rep belonged to
  on the fact's date, and their additive figures are counted per (scope, month) with ``bincount``;
- territory subtrees are summed level by level (deepest first), quarters and (fiscal) years are sums of
  their months, so every value still comes from the underlying rows, never from child results;
- figures over sets (distinct customers, active reps, identifiers) are unique keys
  ``(scope, period, member)``, counted per (scope, period);
- open pipeline at each period end is a running sum per (rep, credited territory) of deals opened minus
  deals closed, attributed at each period's snapshot day.

The period grid starts two fiscal years before the first data, so every previous / last-year value a
stored period shows (and the base of a transform KPI in those periods) is computed, not assumed.
"""

from __future__ import annotations

import hashlib
import struct
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

import numpy as np
from django.db import connection
from django.db.models import Count, Max, Min, Q
from django.db.models.functions import Coalesce
from psycopg import pq

from kpis import formula as formula_lang
from kpis.models import KPI, Measurement, Source, Target, Transform, TreeAggregation
from scorecard import periods as P
from scorecard.models import Organization

from .engine import ADDITIVE_METRICS, PIPELINE_BETTER_BEFORE, PIPELINE_MIN_CLOSED, Engine
from .warm import Stale, WarmDeals

NAN = np.nan
BIG = 1 << 21  # > any date ordinal we meet (year 5741)
EPOCH = date(1970, 1, 1).toordinal()
FAR = BIG - 1  # "no end" for assignments, certifications, participations


def ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    out = np.full(np.broadcast(num, den).shape, NAN)
    np.divide(num, den, out=out, where=den != 0)
    return out


def change_pct(value: np.ndarray, base: np.ndarray) -> np.ndarray:
    ok = ~np.isnan(value) & ~np.isnan(base) & (base != 0)
    out = np.full(value.shape, NAN)
    np.divide((value - base) * 100, np.abs(base), out=out, where=ok)
    return out


def month_number(ordinals: np.ndarray) -> np.ndarray:
    """Months since January 1970 of date ordinals."""
    days = (np.asarray(ordinals, dtype=np.int64) - EPOCH).astype("datetime64[D]")
    return days.astype("datetime64[M]").astype(np.int64)


def _month_number(day: date) -> int:
    return (day.year - 1970) * 12 + day.month - 1


class Grid:
    """Months, then quarters, then years, covering whole fiscal years."""

    def __init__(self, first: date, last: date, fsm: int) -> None:
        start = P.period_containing(first, P.YEAR, fsm).start
        start = date(start.year - 2, start.month, 1)
        end = P.period_containing(last, P.YEAR, fsm).end
        self.months = P.periods_between(start, end, P.MONTH, fsm)
        self.quarters = P.periods_between(start, end, P.QUARTER, fsm)
        self.years = P.periods_between(start, end, P.YEAR, fsm)
        self.periods = self.months + self.quarters + self.years
        self.n_months, self.n_quarters = len(self.months), len(self.quarters)
        self.size = len(self.periods)
        self.m0 = _month_number(start)
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

    def _shifted(self, move) -> np.ndarray:
        return np.array([self.index.get(move(p).key, -1) for p in self.periods])

    def month_col(self, ordinals: np.ndarray) -> np.ndarray:
        """Grid month column of each date (-1 outside the grid or no date)."""
        ordinals = np.asarray(ordinals)
        cols = month_number(np.maximum(ordinals, 1)) - self.m0
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


@dataclass
class Members:
    """(scope, period, member) triples: ``cells`` = scope × grid size + period column."""

    cells: np.ndarray
    member: np.ndarray
    size: int

    @property
    def col(self) -> np.ndarray:
        return self.cells % self.size


@dataclass
class Tree:
    ids: np.ndarray  # territory ids in path order
    parent: np.ndarray  # index of the parent, -1 for the root
    depth: np.ndarray
    ancestors: np.ndarray  # (T, max depth) ancestor-or-self indices, -1 padded
    root: int

    @property
    def size(self) -> int:
        return len(self.ids)

    def children_count(self) -> np.ndarray:
        return np.bincount(self.parent[self.parent >= 0], minlength=self.size)

    def subtree_sums(self, values: np.ndarray) -> np.ndarray:
        """values (T, X) counted at each node → totals over each node's subtree (in place)."""
        for d in range(int(self.depth.max(initial=1)), 1, -1):
            nodes = np.flatnonzero(self.depth == d)
            np.add.at(values, self.parent[nodes], values[nodes])
        return values


def _fetch_columns(
    table: str,
    alias: str,
    columns: dict[str, str],
    org_id: int,
    floats: set[str],
    where: str = "",
    chunk: int = 500_000,
) -> dict:
    """One organisation's rows of numeric columns (ints: -1 for NULL; floats: NaN) as numpy arrays.

    On PostgreSQL as packed binary straight into numpy (no Python object per value); elsewhere through the
    cursor, in chunks, so a million rows' Python objects never exist at once.
    """
    names = list(columns)
    if connection.vendor == "postgresql":
        return _copy_columns(table, alias, columns, org_id, floats, where)
    select = ", ".join(columns.values())
    parts = []
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {select} FROM {table} {alias} WHERE {alias}.org_id = %s {where} ORDER BY {alias}.id",
            [org_id],
        )
        while rows := cursor.fetchmany(chunk // 10):
            parts.append(np.array(rows, dtype=float))  # NULL (None) becomes NaN
    matrix = np.concatenate(parts) if parts else np.zeros((0, len(names)))
    return {
        name: matrix[:, i] if name in floats else np.nan_to_num(matrix[:, i], nan=-1).astype(np.int64)
        for i, name in enumerate(names)
    }


def _copy_columns(
    table: str, alias: str, columns: dict[str, str], org_id: int, floats: set[str], where: str
) -> dict:
    """PostgreSQL: a binary COPY of fixed-width rows (NULLs replaced), read message by message straight
    from libpq (psycopg's Copy object costs a few microseconds per row) and parsed by numpy at once."""
    names = list(columns)
    select = ", ".join(
        f"COALESCE(CAST({sql} AS DOUBLE PRECISION), 'NaN')"
        if name in floats
        else f"COALESCE(CAST({sql} AS BIGINT), -1)"
        for name, sql in columns.items()
    )
    query = f"COPY (SELECT {select} FROM {table} {alias} WHERE {alias}.org_id = {int(org_id)} {where}) TO STDOUT (FORMAT BINARY)"
    connection.ensure_connection()
    pgconn = connection.connection.pgconn
    pgconn.send_query(query.encode())
    result = pgconn.get_result()
    if result is None or result.status != pq.ExecStatus.COPY_OUT:
        message = pgconn.error_message.decode(errors="replace") if result is not None else "no result"
        while pgconn.get_result() is not None:
            pass
        raise RuntimeError(f"reading {table} failed: {message}")
    chunks = []
    while True:
        size, data = pgconn.get_copy_data(0)
        if size < 0:
            break
        chunks.append(bytes(data))
    while (result := pgconn.get_result()) is not None:
        if result.status != pq.ExecStatus.COMMAND_OK:
            raise RuntimeError(f"reading {table} failed: {pgconn.error_message.decode(errors='replace')}")
    data = b"".join(chunks)
    fields = [("count", ">i2")]
    for name in names:
        fields += [(f"{name}_length", ">i4"), (name, ">f8" if name in floats else ">i8")]
    dtype = np.dtype(fields)
    header = 19 + struct.unpack_from("!i", data, 15)[0]  # signature, flags, header extension
    rows = np.frombuffer(data, dtype=dtype, offset=header, count=(len(data) - header - 2) // dtype.itemsize)
    return {name: rows[name].astype(float if name in floats else np.int64) for name in names}


def _ymd_ordinal(ymd: np.ndarray) -> np.ndarray:
    """YYYYMMDD numbers → date ordinals (0 stays 0, for no date)."""
    ymd = np.asarray(ymd, dtype=np.int64)
    month = (ymd // 10_000 - 1970) * 12 + (ymd // 100) % 100 - 1
    days = month.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64) + ymd % 100 - 1
    return np.where(ymd > 0, days + EPOCH, 0)


def _ordinal_sql(column: str) -> str:
    """PostgreSQL for a date column's proleptic Gregorian ordinal (date.toordinal), 0 for NULL."""
    return f"COALESCE(({column} - DATE '0001-01-01') + 1, 0)"


def _units(value) -> int:
    """A money value (Decimal, None = 0) in whole UNITS."""
    return 0 if value is None else int((Decimal(value) * UNITS).to_integral_value(ROUND_HALF_EVEN))


def _index_of(ids: np.ndarray, values, order: np.ndarray | None = None) -> np.ndarray:
    """Position of each value in the id array (-1 for none / unknown); ``order``: ids' argsort, if known."""
    values = np.asarray(values, dtype=np.int64)
    if len(ids) == 0:
        return np.full(values.shape, -1)
    if order is None:
        order = id_order(ids)
    pos = np.clip(np.searchsorted(ids[order], values), 0, len(ids) - 1)
    return np.where((values >= 0) & (ids[order][pos] == values), order[pos], -1)


def id_order(ids: np.ndarray) -> np.ndarray:
    """The argsort of an id array (cheap when it is already sorted)."""
    return np.arange(len(ids)) if np.all(ids[1:] > ids[:-1]) else np.argsort(ids, kind="stable")


UNITS = 10_000  # money is counted in whole 1/10,000s (the precision amounts are stored with)
_LOW = (1 << 26) - 1


def bincount_exact(idx: np.ndarray, units: np.ndarray, minlength: int) -> np.ndarray:
    """Σ of int64 ``units`` per index, exactly (int64): two float bincounts of 26-bit halves, each far
    below 2^53 for any realistic number of deals. Exact sums do not depend on order, so removing a deal
    and adding its new version gives what a recount gives."""
    units = np.asarray(units, dtype=np.int64)
    high = np.rint(np.bincount(idx, weights=units >> 26, minlength=minlength)).astype(np.int64)
    low = np.rint(np.bincount(idx, weights=units & _LOW, minlength=minlength)).astype(np.int64)
    return (high << 26) + low


DEAL_COLUMNS = (
    "id", "rep_id", "terr_id", "identifier_id", "account", "opened", "close", "stage", "partner", "play",
    "poc", "engage", "amount", "amount_null", "profit", "profit_null", "list_price", "n_lines", "deliverable",
    "rep", "terr", "identifier",
)  # fmt: skip  # one value per deal (the pairs are not)


@dataclass
class Deals:
    """Deals as columns: ids and raw foreign ids, dates as ordinals (0 = none), money in int64 UNITS,
    stage 0 open / 1 won / 2 lost, poc 0 none / 1 success / 2 failure; ``rep`` / ``terr`` / ``identifier``
    are indices into the engine's reps and territories (-1 for none), ``pair_deal`` / ``pair_line`` the
    distinct (deal index, product line code) pairs."""

    id: np.ndarray
    rep_id: np.ndarray
    terr_id: np.ndarray
    identifier_id: np.ndarray
    account: np.ndarray
    opened: np.ndarray
    close: np.ndarray
    stage: np.ndarray
    partner: np.ndarray
    play: np.ndarray
    poc: np.ndarray
    engage: np.ndarray
    amount: np.ndarray
    amount_null: np.ndarray
    profit: np.ndarray
    profit_null: np.ndarray
    list_price: np.ndarray
    n_lines: np.ndarray
    deliverable: np.ndarray
    pair_deal: np.ndarray
    pair_line: np.ndarray
    rep: np.ndarray
    terr: np.ndarray
    identifier: np.ndarray

    def __len__(self) -> int:
        return len(self.id)

    def take(self, pos: np.ndarray) -> Deals:
        """The deals at ``pos`` (copies), with their product-line pairs."""
        pos = np.asarray(pos, dtype=np.int64)
        new_index = np.full(len(self.id), -1)
        new_index[pos] = np.arange(len(pos))
        keep = new_index[self.pair_deal] >= 0
        columns = {f: getattr(self, f)[pos] for f in DEAL_COLUMNS}
        return Deals(**columns, pair_deal=new_index[self.pair_deal[keep]], pair_line=self.pair_line[keep])

    def days(self) -> np.ndarray:
        """First and last days opened, and closed (won / lost deals), as in ``BatchEngine._deal_summary``."""
        opened = self.opened[self.opened > 0]
        closed = self.close[(self.stage > 0) & (self.close > 0)]
        return np.array([f(x) for x in (opened, closed) if len(x) for f in (np.min, np.max)], dtype=np.int64)


@dataclass
class Figures:
    """What deals add up to, before scopes are expanded: additive counts per (scope, grid month) — money
    as int64 UNITS — and, for distinct counts, (territory, rep, month, member) keys with how many facts
    have each. Both are sums over deals, so removing deals and adding others is exact."""

    stats: dict[str, np.ndarray]
    bases: dict[str, tuple[np.ndarray, np.ndarray]]

    def plus(self, other: Figures, sign: int) -> Figures:
        stats = {name: v + sign * other.stats[name] for name, v in self.stats.items()}
        bases = {}
        for name, (keys, counts) in self.bases.items():
            more, more_counts = other.bases[name]
            merged, inverse = np.unique(np.concatenate([keys, more]), return_inverse=True)
            total = np.bincount(
                inverse.reshape(-1),
                weights=np.concatenate([counts, sign * more_counts]),
                minlength=len(merged),
            )
            total = np.rint(total).astype(np.int64)
            if (total < 0).any():
                raise ValueError(f"removing facts that were never counted ({name})")
            bases[name] = (merged[total > 0], total[total > 0])
        return Figures(stats, bases)


class BatchEngine:
    """Loads one organisation and computes every active KPI over the scope × period grid."""

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
        worker (``kpis.warm``), brought up to date with the changed deals instead of reading them all.
        ``full_grid``: every period even with ``period_keys`` (so the deals can be kept warm)."""
        self.org = org
        self.today = today
        self.window = (
            None if period_keys is None or full_grid or warm else [org.parse_period(k) for k in period_keys]
        )
        self.t = today.toordinal()
        self.fsm = org.fiscal_year_start_month
        self._values: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self.warm = warm
        self._load()
        self._nothing = np.full((self.S, self.grid.size), NAN)
        self._nothing.flags.writeable = False

    # --- loading ---------------------------------------------------------------------------------------

    def _load(self) -> None:
        from people.models import Certification, ProgramParticipation
        from territories.models import Rep, Territory, TerritoryAssignment

        org = self.org
        territories = list(
            Territory.objects.filter(org=org).order_by("path").values_list("id", "path", "depth")
        )
        by_path = {path: i for i, (_id, path, _d) in enumerate(territories)}
        step = Territory.steplen
        max_depth = max((d for *_x, d in territories), default=1)
        ancestors = np.full((len(territories), max_depth), -1)
        parent = np.full(len(territories), -1)
        for i, (_id, path, depth) in enumerate(territories):
            for level in range(depth):
                ancestors[i, level] = by_path[path[: (level + 1) * step]]
            if depth > 1:
                parent[i] = by_path[path[:-step]]
        depth_arr = np.array([d for *_x, d in territories], dtype=int)
        roots = np.flatnonzero(depth_arr == 1)
        self.tree = Tree(
            ids=np.array([t[0] for t in territories], dtype=np.int64),
            parent=parent,
            depth=depth_arr,
            ancestors=ancestors,
            root=int(roots[0]) if len(roots) else -1,
        )
        T = self.T = self.tree.size

        reps = list(Rep.objects.filter(org=org).order_by("id").values_list("id", "hire_date", "leave_date"))
        self.rep_ids = np.array([r[0] for r in reps], dtype=np.int64)
        R = self.R = len(reps)
        self.hire = np.array([r[1].toordinal() if r[1] else 0 for r in reps], dtype=np.int64)
        self.leave = np.array([r[2].toordinal() if r[2] else FAR for r in reps], dtype=np.int64)
        self.S = T + R
        self.scope_index = {("t", int(pk)): i for i, pk in enumerate(self.tree.ids)}
        self.scope_index.update({("r", int(pk)): T + i for i, pk in enumerate(self.rep_ids)})
        self.RS = max(R, 1)  # span of rep numbers in (scope, period, rep) keys

        a = list(
            TerritoryAssignment.objects.filter(org=org)
            .order_by("rep_id", "start")
            .values_list("rep_id", "start", "end", "territory_id")
        )
        self.a_rep = _index_of(self.rep_ids, [x[0] for x in a])
        self.a_start = np.array([x[1].toordinal() for x in a], dtype=np.int64)
        self.a_end = np.array([x[2].toordinal() if x[2] else FAR for x in a], dtype=np.int64)
        self.a_terr = _index_of(self.tree.ids, [x[3] for x in a])
        self.a_key = self.a_rep * BIG + self.a_start

        certs = list(
            Certification.objects.filter(org=org).values_list(
                "rep_id", "type_id", "type__category", "earned", "expires"
            )
        )
        self.c_rep = _index_of(self.rep_ids, [c[0] for c in certs])
        self.c_type = np.array([c[1] for c in certs], dtype=np.int64)
        self.c_category = np.array([c[2] for c in certs], dtype=object)
        self.c_earned = np.array([c[3].toordinal() for c in certs], dtype=np.int64)
        self.c_expires = np.array([c[4].toordinal() if c[4] else FAR for c in certs], dtype=np.int64)
        self.participations = list(
            ProgramParticipation.objects.filter(org=org).values_list(
                "rep_id", "program__kind", "program_id", "start", "end"
            )
        )

        self.kpis = list(KPI.objects.filter(org=org, active=True).order_by("id").select_related("objective"))
        self.kpi_by_slug = {k.slug: k for k in self.kpis}
        measurements = Measurement.objects.filter(org=org).values_list(
            "kpi_id", "territory_id", "rep_id", "period", "value", "weight"
        )
        targets = Target.objects.filter(org=org, superseded_at__isnull=True).values_list(
            "kpi_id", "territory_id", "rep_id", "period", "goal", "red_flag"
        )
        # Per KPI: (scope, period key, value or goal, weight or red flag).
        self.measurements: dict[int, list[tuple]] = defaultdict(list)
        self.targets: dict[int, list[tuple]] = defaultdict(list)
        input_days = []
        for rows, by_kpi in ((measurements, self.measurements), (targets, self.targets)):
            for kpi_id, tid, rid, period, number, extra in rows:
                by_kpi[kpi_id].append((("t", tid) if tid else ("r", rid), period, number, extra))
                input_days.append(org.parse_period(period).start.toordinal())
        target_days = np.array(input_days, dtype=np.int64)
        self.cert_filters = self._cert_filters()
        self._load_products()
        old = new = None
        if self.warm is not None:
            try:
                old, new = self.warm.catch_up(self)
            except Stale:
                self.warm = None
        if self.warm is not None:
            deal_days = self.warm.deals.days()
        else:
            deal_days, absent = self._deal_summary()
        every = np.concatenate([deal_days, self.c_earned, target_days])
        self.first_day = date.fromordinal(int(every.min())) if len(every) else self.today
        self.last_day = date.fromordinal(int(every.max())) if len(every) else self.today
        last = min(max(self.last_day, self.first_day), max(self.today, self.first_day))
        self.stored_keys = [
            p.key
            for kind in (P.MONTH, P.QUARTER, P.YEAR)
            for p in P.periods_between(self.first_day, last, kind, self.fsm)
        ]
        self.stored_years = [p.key for p in P.periods_between(self.first_day, last, P.YEAR, self.fsm)]
        if self.window is None:
            self.grid = Grid(self.first_day, last, self.fsm)
            where = ""
        else:
            first = min(p.start for p in self.window)
            self.grid = Grid(min(first, last), min(max(p.end for p in self.window), last), self.fsm)
            # Only deals that can count in the grid: not closed before it starts, not opened after it ends.
            start, end = date.fromordinal(int(self.grid.start[0])), date.fromordinal(int(self.grid.end.max()))
            where = f"""
                AND (o.stage NOT IN ('won', 'lost') OR o.close_date IS NULL OR o.close_date >= '{start}'
                     OR COALESCE(o.engage_date, o.created_date, o.close_date) >= '{start}')
                AND (COALESCE(o.engage_date, o.created_date) IS NULL OR COALESCE(o.engage_date, o.created_date) <= '{end}'
                     OR o.close_date <= '{end}')
            """
        if self.warm is None:
            self.deals = self.read_deals(where, absent)
            self._spans()
            self.figures = self.deal_figures(self.deals)
            return
        self.deals = self.warm.deals
        self._spans()
        key = self.figures_key()
        if self.warm.figures is not None and self.warm.key == key and old is not None and new is not None:
            self.figures = self.warm.figures.plus(self.deal_figures(old), -1).plus(self.deal_figures(new), 1)
        else:
            self.figures = self.deal_figures(self.deals)
        self.warm.key, self.warm.figures = key, self.figures

    def figures_key(self) -> bytes:
        """Everything deal figures depend on besides the deals: when it is unchanged, figures kept from an
        earlier run stay valid and only changed deals need counting again."""
        digest = hashlib.blake2b(digest_size=20)
        g = self.grid
        arrays = (
            self.tree.ids, self.tree.parent, self.rep_ids, self.a_rep, self.a_start, self.a_end, self.a_terr,
            self.c_rep, self.c_type, self.c_earned, self.c_expires, g.start, g.end,
        )  # fmt: skip
        for a in arrays:
            digest.update(np.ascontiguousarray(a).tobytes())
            digest.update(b"|")
        # Deal figures see "today" only through open pipeline snapshots, which stop at the grid's last month.
        t = min(self.t, int(g.end[: g.n_months].max()))
        digest.update(
            repr((t, self.cert_filters, list(self.c_category), self.account_span, self.lines_span)).encode()
        )
        return digest.digest()

    def _deal_summary(self) -> tuple[np.ndarray, list[str]]:
        """First and last dates of the organisation's deals (opened; closed for won / lost deals), and the
        optional columns that are NULL on every deal (house deals, profits, accounts are often absent)."""
        from sales.models import CLOSED_STAGES, Opportunity

        opened = Coalesce("engage_date", "created_date")
        closed = Q(stage__in=CLOSED_STAGES)
        optional = {
            "account": "account",
            "profit": "profit",
            "identifier": "identified_by",
            "territory": "territory",
        }
        found = Opportunity.objects.filter(org=self.org).aggregate(
            a=Min(opened), b=Max(opened), c=Min("close_date", filter=closed), d=Max("close_date", filter=closed),
            **{name: Count(field) for name, field in optional.items()},
        )  # fmt: skip
        days = [found[k].toordinal() for k in "abcd" if found[k] is not None]
        return np.array(days, dtype=np.int64), [name for name in optional if not found[name]]

    def _load_products(self) -> None:
        from sales.models import Product

        products = list(
            Product.objects.filter(org=self.org).order_by("id").values_list("id", "line", "list_price")
        )
        lines = sorted({line for _id, line, _price in products})
        code = {line: i for i, line in enumerate(lines)}
        self.products = {pid: (code[line], _units(price)) for pid, line, price in products}
        self.products_digest = hashlib.blake2b(repr(products).encode(), digest_size=20).digest()
        self.lines_span = 1 << max(len(lines), 1).bit_length()

    def _spans(self) -> None:
        """Member number spans of the distinct-count keys (powers of two, so they rarely change)."""
        top = int(self.deals.account.max(initial=0)) + 1
        self.account_span = 1 << top.bit_length()
        nr, nm = self.R + 1, self.grid.n_months
        if (self.T + 1) * nr * nm * self.account_span * self.lines_span >= 1 << 62:
            raise OverflowError("organisation too large for the 64-bit keys of distinct counts")

    def index_deals(self, deals: Deals) -> None:
        """Rep / territory indices of deals from their raw ids (after reps or territories changed)."""
        deals.rep = _index_of(self.rep_ids, deals.rep_id)
        deals.identifier = _index_of(self.rep_ids, deals.identifier_id)
        deals.terr = _index_of(self.tree.ids, deals.terr_id)

    def read_deals(self, where: str, absent: Sequence[str] = (), ids: list[int] | None = None) -> Deals:
        """The deals matching ``where`` (or with the given ids), without the columns in ``absent`` (NULL on
        every deal), with their product lines, list prices and deliverables."""
        from sales.models import Opportunity

        org = self.org
        if ids is not None:
            where = f"AND o.id IN ({', '.join(str(int(i)) for i in ids) or 'NULL'})"
        # Dates and flags packed into few integers, and NULLs left as None (a shared object): building the
        # Python rows is most of the cost of reading deals through a cursor.
        flags = """(CASE o.stage WHEN 'won' THEN 1 WHEN 'lost' THEN 2 ELSE 0 END
            + CASE WHEN o.channel = 'partner' THEN 4 ELSE 0 END
            + CASE WHEN o.strategic_play_id IS NULL THEN 0 ELSE 8 END
            + CASE o.poc WHEN 'success' THEN 16 WHEN 'failure' THEN 32 ELSE 0 END
            + CASE WHEN o.engage_date IS NULL THEN 0 ELSE 64 END
            + CASE WHEN o.amount IS NULL THEN 128 ELSE 0 END
            + CASE WHEN o.profit IS NULL THEN 256 ELSE 0 END)"""
        opened = "COALESCE(o.engage_date, o.created_date)"
        if connection.vendor == "postgresql":
            dates = (
                f"(({_ordinal_sql(opened)})::BIGINT * {1 << 20} + ({_ordinal_sql('o.close_date')})::BIGINT)"
            )
        else:  # ISO text: YYYYMMDD numbers are cheaper to make than julianday()
            dates = (
                f"(COALESCE(CAST(replace({opened}, '-', '') AS INTEGER), 0) * 100000000"
                " + COALESCE(CAST(replace(o.close_date, '-', '') AS INTEGER), 0))"
            )
        columns = {
            "id": "o.id", "rep": "o.rep_id", "dates": dates, "flags": flags,
            "amount": f"round(o.amount * {UNITS})", "account": "o.account_id",
            "profit": f"round(o.profit * {UNITS})", "identifier": "o.identified_by_id",
            "territory": "o.territory_id",
        }  # fmt: skip
        raw = _fetch_columns(
            Opportunity._meta.db_table,
            "o",
            {k: v for k, v in columns.items() if k not in absent},
            org.pk,
            floats=set(),
            where=where,
        )
        n = len(raw["id"])
        for name in absent:
            raw[name] = np.full(n, -1, dtype=np.int64)
        if connection.vendor == "postgresql":
            opened_day, close_day = raw["dates"] >> 20, raw["dates"] & ((1 << 20) - 1)
        else:
            opened_day = _ymd_ordinal(raw["dates"] // 100_000_000)
            close_day = _ymd_ordinal(raw["dates"] % 100_000_000)
        flag = raw["flags"]
        amount_null, profit_null = (flag & 128).astype(bool), (flag & 256).astype(bool)
        deals = Deals(
            id=raw["id"], rep_id=raw["rep"], terr_id=raw["territory"], identifier_id=raw["identifier"],
            account=raw["account"], opened=opened_day, close=close_day,
            stage=(flag & 3).astype(np.int8), partner=(flag & 4).astype(bool), play=(flag & 8).astype(bool),
            poc=((flag >> 4) & 3).astype(np.int8), engage=np.where(flag & 64, opened_day, 0),
            amount=np.where(amount_null, 0, raw["amount"]), amount_null=amount_null,
            profit=np.where(profit_null, 0, raw["profit"]), profit_null=profit_null,
            list_price=np.zeros(n, dtype=np.int64), n_lines=np.zeros(n, dtype=np.int64),
            deliverable=np.zeros(n, dtype=bool), pair_deal=np.zeros(0, dtype=np.int64),
            pair_line=np.zeros(0, dtype=np.int64), rep=raw["rep"], terr=raw["territory"], identifier=raw["identifier"],
        )  # fmt: skip
        self.index_deals(deals)
        pairs = Opportunity.products.through.objects.filter(opportunity__org=org)
        delivered = Opportunity.deliverables.through.objects.filter(opportunity__org=org)
        if ids is not None:
            pairs, delivered = pairs.filter(opportunity_id__in=ids), delivered.filter(opportunity_id__in=ids)
        pair_rows = list(pairs.values_list("opportunity_id", "product_id"))
        deal_of = _index_of(deals.id, [p[0] for p in pair_rows])
        known = deal_of >= 0  # a time window leaves deals out
        lines = np.array([self.products[p[1]][0] for p in pair_rows], dtype=np.int64)
        prices = np.array([self.products[p[1]][1] for p in pair_rows], dtype=np.int64)
        deal_of, lines, prices = deal_of[known], lines[known], prices[known]
        deals.list_price = bincount_exact(deal_of, prices, n) if len(deal_of) else np.zeros(n, dtype=np.int64)
        if len(deal_of):
            deals.pair_deal, deals.pair_line = np.unique(np.stack([deal_of, lines]), axis=1)
        deals.n_lines = np.bincount(deals.pair_deal, minlength=n)
        delivered_index = _index_of(deals.id, list(delivered.values_list("opportunity_id", flat=True)))
        deals.deliverable[delivered_index[delivered_index >= 0]] = True
        return deals

    # --- attribution -------------------------------------------------------------------------------------

    def territory_on(self, rep: np.ndarray, day: np.ndarray) -> np.ndarray:
        """Territory index each rep belonged to on each day (-1 when unassigned or no rep)."""
        rep = np.asarray(rep, dtype=np.int64)
        day = np.asarray(day, dtype=np.int64)
        if len(self.a_key) == 0:
            return np.full(np.broadcast(rep, day).shape, -1)
        i = np.searchsorted(self.a_key, rep * BIG + day, side="right") - 1
        ic = np.clip(i, 0, None)
        ok = (rep >= 0) & (i >= 0) & (self.a_rep[ic] == rep) & (self.a_end[ic] >= day)
        return np.where(ok, self.a_terr[ic], -1)

    def deal_territory(self, deals: Deals, sel: np.ndarray, day: np.ndarray) -> np.ndarray:
        """The rep's territory on the day, else the deal's credited territory, else the root for rep-less deals."""
        rep = deals.rep[sel]
        t = self.territory_on(rep, day)
        t = np.where(t < 0, deals.terr[sel], t)
        return np.where((t < 0) & (rep < 0), self.tree.root, t)

    def employed(self, rep: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
        return (self.hire[rep] <= end) & (self.leave[rep] >= start)

    # --- additive figures ---------------------------------------------------------------------------------

    def monthly(self, territory: np.ndarray, rep: np.ndarray, month_col: np.ndarray, weights) -> np.ndarray:
        """Σ weights per (scope, grid month): territory subtree totals (T rows), then reps (R rows)."""
        return self.tally(territory, rep, month_col)(weights)

    def tally(self, territory: np.ndarray, rep: np.ndarray, month_col: np.ndarray):
        """A counter of facts at (territory, rep, grid month), for summing several weights over the same facts:
        the (scope, month) cell of every fact is worked out once."""
        nm = self.grid.n_months
        ok = month_col >= 0
        t_sel = np.flatnonzero(ok & (territory >= 0))
        r_sel = np.flatnonzero(ok & (rep >= 0))
        idx = np.concatenate(
            [territory[t_sel] * nm + month_col[t_sel], (self.T + rep[r_sel]) * nm + month_col[r_sel]]
        )
        sel = np.concatenate([t_sel, r_sel])

        def count(weights) -> np.ndarray:
            """Σ weights per (scope, month); int64 weights (money in UNITS) are summed exactly."""
            w = np.asarray(weights)
            out: np.ndarray
            if w.dtype == np.int64:
                out = bincount_exact(idx, w[sel], self.S * nm)
            elif w.ndim == 0:
                out = np.bincount(idx, minlength=self.S * nm) * float(w)
            else:
                out = np.bincount(idx, weights=w[sel].astype(float), minlength=self.S * nm)
            out = out.reshape(self.S, nm)
            self.tree.subtree_sums(out[: self.T])
            return out

        return count

    def deal_figures(self, deals: Deals) -> Figures:
        """Everything the deals add up to (see ``Figures``)."""
        g = self.grid
        stats: dict[str, np.ndarray] = {}
        bases: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        d = deals
        closed = np.flatnonzero((d.stage > 0) & (d.close > 0))
        t_close = self.deal_territory(d, closed, d.close[closed])
        r_close = d.rep[closed]
        m_close = g.month_col(d.close[closed])
        won = d.stage[closed] == 1
        lost = ~won
        amount = d.amount[closed]
        has_profit = won & ~d.profit_null[closed]
        cycle_ok = d.engage[closed] > 0
        partner = d.partner[closed]
        play = d.play[closed]
        deliv = d.deliverable[closed]
        poc = d.poc[closed]
        at_close = {
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
            "deliverable_won": won & deliv,
            "deliverable_lost": lost & deliv,
            "poc_success_won": won & (poc == 1),
            "poc_success_lost": lost & (poc == 1),
            "cross_brand_deals": won & (d.n_lines[closed] >= 2),
        }
        at_close_count = self.tally(t_close, r_close, m_close)
        for name, weights in at_close.items():
            stats[name] = at_close_count(weights)

        opened = np.flatnonzero(d.opened > 0)
        t_open = self.deal_territory(d, opened, d.opened[opened])
        r_open = d.rep[opened]
        m_open = g.month_col(d.opened[opened])
        at_open_count = self.tally(t_open, r_open, m_open)
        stats["new"] = at_open_count(np.ones(len(opened)))
        stats["cohort_won"] = at_open_count(d.stage[opened] == 1)
        stats["play_new"] = at_open_count(d.play[opened])
        # A finished POC counts when the deal closed, or, on a deal still open, in the period it was engaged.
        still_open = ~((d.stage[opened] > 0) & (d.close[opened] > 0))
        for name, code in (("poc_success", 1), ("poc_failure", 2)):
            stats[name] = at_close_count(poc == code) + at_open_count(still_open & (d.poc[opened] == code))
        for fkey in self.cert_filters:
            held = self.certified(fkey, d.rep[closed], d.close[closed])
            stats[f"cert_won:{fkey}"] = at_close_count(held & won)
            stats[f"cert_lost:{fkey}"] = at_close_count(held & ~won)
        stats.update(self._open_pipeline(d))

        identifier = np.where(d.identifier[opened] >= 0, d.identifier[opened], r_open)
        has = identifier >= 0
        bases["identifiers"] = self.fact_keys(t_open[has], r_open[has], m_open[has], identifier[has], self.RS)
        won_deals = closed[won]
        t, r, m = t_close[won], r_close[won], m_close[won]
        has = d.account[won_deals] >= 0
        won_deals, t, r, m = won_deals[has], t[has], r[has], m[has]
        account = d.account[won_deals]
        bases["customers"] = self.fact_keys(t, r, m, account, self.account_span)
        # Cross-brand: (customer, product line) of won deals.
        pair_ok = np.isin(d.pair_deal, won_deals)
        pd, pl = d.pair_deal[pair_ok], d.pair_line[pair_ok]
        pos = np.searchsorted(won_deals, pd) if len(won_deals) else pd
        bases["lines"] = self.fact_keys(
            t[pos], r[pos], m[pos], account[pos] * self.lines_span + pl, self.account_span * self.lines_span
        )
        return Figures(stats, bases)

    def compute(self) -> None:
        g = self.grid
        self.stats = dict(self.figures.stats)
        earned_t = self.territory_on(self.c_rep, self.c_earned)
        earned_m = g.month_col(self.c_earned)
        for fkey in self.cert_filters:
            self.stats[f"certs_earned:{fkey}"] = self.monthly(
                earned_t, self.c_rep, earned_m, self._cert_mask(fkey) & (self.c_rep >= 0)
            )
        self.sums = {}
        for name, v in self.stats.items():
            v = g.at_end(v) if name.startswith("open_") else g.add_up(v)
            self.sums[name] = v / UNITS if v.dtype == np.int64 else v
        self._reps()
        self._identifiers(self.figures.bases["identifiers"][0])
        self._customers(self.figures.bases["customers"][0], self.figures.bases["lines"][0])

    def _cert_filters(self) -> list[str]:
        keys = {""}
        for k in self.kpis:
            if k.source == Source.METRIC and k.metric in (
                "certified_win_rate_lift", "certifications_earned", "certified_reps_pct"
            ):  # fmt: skip
                keys.add(Engine._filter_key(k.metric_filter))
        return sorted(keys)

    def _cert_mask(self, fkey: str) -> np.ndarray:
        mask = np.ones(len(self.c_rep), dtype=bool)
        for part in filter(None, fkey.split(";")):
            key, _, value = part.partition("=")
            if key == "category":
                mask &= self.c_category == value
            elif key == "type":
                mask &= self.c_type.astype(str) == value
        return mask

    def certified(self, fkey: str, rep: np.ndarray, day: np.ndarray) -> np.ndarray:
        """Whether each rep held a valid certification matching the filter on each day."""
        mask = self._cert_mask(fkey) & (self.c_rep >= 0)
        if not mask.any():
            return np.zeros(np.broadcast(rep, day).shape, dtype=bool)
        c_rep, earned, expires = self.c_rep[mask], self.c_earned[mask], self.c_expires[mask]
        order = np.lexsort((earned, c_rep))
        c_rep, earned, expires = c_rep[order], earned[order], expires[order]
        key = c_rep * BIG + earned
        # Running maximum of the expiry within each rep's block (blocks sorted by rep, so offsets keep them apart).
        best = np.maximum.accumulate(c_rep * BIG + expires)
        i = np.searchsorted(key, rep * BIG + day, side="right") - 1
        ic = np.clip(i, 0, None)
        return (rep >= 0) & (i >= 0) & (c_rep[ic] == rep) & (best[ic] - rep * BIG >= day)

    def _open_pipeline(self, d: Deals) -> dict[str, np.ndarray]:
        """Deals open at each month end (engaged by the snapshot day, not closed by the month's end)."""
        g = self.grid
        nm = g.n_months
        opened = d.opened
        deals = np.flatnonzero((opened > 0) & (opened <= self.t))
        start_col = np.where(opened[deals] < g.start[0], 0, g.month_col(opened[deals]))
        is_closed = d.stage[deals] > 0
        close = np.where(is_closed & (d.close[deals] > 0), d.close[deals], 0)
        end_col = np.where(close > 0, g.month_col(close), nm)
        end_col = np.where((close > 0) & (end_col < 0), np.where(close < g.start[0], 0, nm), end_col)
        keep = (start_col >= 0) & (end_col > start_col)
        deals, start_col, end_col = deals[keep], start_col[keep], end_col[keep]
        value = np.where(d.amount_null[deals], d.list_price[deals], d.amount[deals])
        poc_open = (d.poc[deals] == 1) & (d.stage[deals] != 1)
        rep, credited = d.rep[deals], d.terr[deals]
        span = self.T + 1
        keys, combo = np.unique((rep + 1) * span + credited + 1, return_inverse=True)
        combo = combo.reshape(-1)
        C = len(keys)
        snapshot = np.minimum(g.end[:nm], self.t)
        c_rep = np.repeat(keys // span - 1, nm)
        t = self.territory_on(c_rep, np.tile(snapshot, C))
        t = np.where(t < 0, np.repeat(keys % span - 1, nm), t)
        t = np.where((t < 0) & (c_rep < 0), self.tree.root, t)
        cols = np.tile(np.arange(nm), C)
        count = self.tally(t, c_rep, cols)
        opens, closes = combo * (nm + 1) + start_col, combo * (nm + 1) + end_col
        out = {}
        for name, weights in (
            ("open_count", np.ones(len(deals), dtype=np.int64)),
            ("open_value", value),
            ("open_poc_success", poc_open.astype(np.int64)),
        ):
            size = C * (nm + 1)
            delta = bincount_exact(opens, weights, size) - bincount_exact(closes, weights, size)
            running = np.cumsum(delta.reshape(C, nm + 1)[:, :nm], axis=1).reshape(-1)
            monthly = count(running)  # int64: exact
            out[name] = monthly if name == "open_value" else monthly.astype(float)
        return out

    # --- reps in scope --------------------------------------------------------------------------------------

    def active_reps(self, start: np.ndarray, end: np.ndarray, *, one_day: bool = False) -> Members:
        """Employed reps assigned in a territory's subtree at some day of [start, end] of each period, and
        each rep in its own scope when employed then. On a single day a rep has one assignment, so the
        (scope, period, rep) triples are distinct without a sort; over a period only the reps with several
        assignments in it need one."""
        g = self.grid
        cells, reps = [], []
        if len(self.a_rep):
            lo = np.maximum(np.maximum(self.a_start[:, None], start[None, :]), self.hire[self.a_rep][:, None])
            hi = np.minimum(np.minimum(self.a_end[:, None], end[None, :]), self.leave[self.a_rep][:, None])
            ai, pi = np.nonzero(lo <= hi)
            rep = self.a_rep[ai]
            several = np.zeros(len(ai), dtype=bool)
            if not one_day and len(ai):
                per_rep_period = rep * g.size + pi
                several = np.bincount(per_rep_period, minlength=self.RS * g.size)[per_rep_period] > 1
            for part in (~several, several):
                part_cells, part_reps = [], []
                for level in range(self.tree.ancestors.shape[1]):
                    anc = self.tree.ancestors[self.a_terr[ai[part]], level]
                    keep = anc >= 0
                    part_cells.append(anc[keep] * g.size + pi[part][keep])
                    part_reps.append(rep[part][keep])
                c, r = np.concatenate(part_cells), np.concatenate(part_reps)
                if part is several and len(c):
                    unique = np.unique(c * self.RS + r)
                    c, r = unique // self.RS, unique % self.RS
                cells.append(c)
                reps.append(r)
        r, p = np.nonzero(self.employed(np.arange(self.R)[:, None], start[None, :], end[None, :]))
        cells.append((self.T + r) * g.size + p)
        reps.append(r)
        return Members(np.concatenate(cells), np.concatenate(reps), g.size)

    def count_cells(self, cells: np.ndarray) -> np.ndarray:
        """Count per (scope, period) of an array of cells (scope × grid size + period column)."""
        return (
            np.bincount(cells, minlength=self.S * self.grid.size)
            .reshape(self.S, self.grid.size)
            .astype(float)
        )

    def _reps(self) -> None:
        g = self.grid
        snap = np.minimum(g.end, self.t)
        self.active = self.active_reps(g.start, g.end)
        self.n_active = self.count_cells(self.active.cells)
        self.on_start = self.count_cells(self.active_reps(g.start, g.start, one_day=True).cells)
        self.on_end = self.count_cells(self.active_reps(g.end, g.end, one_day=True).cells)
        self.on_snapshot = self.active_reps(snap, snap, one_day=True)
        self.n_on_snapshot = self.count_cells(self.on_snapshot.cells)
        leaving = np.flatnonzero(self.leave < FAR)
        leave_t = self.territory_on(leaving, self.leave[leaving])
        self.leavers = g.add_up(self.monthly(leave_t, leaving, g.month_col(self.leave[leaving]), 1.0))

    def _identifiers(self, base: np.ndarray) -> None:
        keys = self.expand(base, self.RS)
        wanted = self.active.cells * self.RS + self.active.member
        pos = np.clip(np.searchsorted(keys, wanted), 0, max(len(keys) - 1, 0))
        found = keys[pos] == wanted if len(keys) else np.zeros(len(wanted), dtype=bool)  # keys are sorted
        self.n_identifying = self.count_cells(self.active.cells[found])

    def _customers(self, base: np.ndarray, line_base: np.ndarray) -> None:
        g = self.grid
        span = self.account_span
        keys = self.expand(base, span)
        self.n_customers = self.count_cells(keys // span)
        # Retained: active in the period before and again now.
        cells, member = keys // span, keys % span
        scope, col = cells // g.size, cells % g.size
        nxt = np.full(g.size, -1)
        valid = g.previous >= 0
        nxt[g.previous[valid]] = np.flatnonzero(valid)
        later = nxt[col]
        ok = later >= 0
        moved = (scope[ok] * g.size + later[ok]) * span + member[ok]
        again = np.isin(moved, keys, assume_unique=True)
        retained = np.zeros(self.S * g.size)
        np.add.at(retained, (moved // span)[again], 1)
        previous_active = np.full((self.S, g.size), 0.0)
        previous_active[:, valid] = self.n_customers[:, g.previous[valid]]
        self.retention = ratio(retained.reshape(self.S, g.size), previous_active)
        self.retention[:, ~valid] = NAN
        # Cross-brand: customers whose won deals in the period span two or more product lines.
        line_keys = self.expand(line_base, span * self.lines_span)
        per_account = line_keys // self.lines_span  # (scope, period, account) repeated once per line
        accounts_cells, counts = np.unique(per_account, return_counts=True)
        self.n_cross = self.count_cells(accounts_cells[counts >= 2] // span)

    def fact_keys(self, t, r, m, member, span: int) -> tuple[np.ndarray, np.ndarray]:
        """Distinct (territory, rep, grid month, member) keys of facts, and how many facts have each;
        ``span`` bounds the member numbers. Facts outside the grid are left out."""
        ok = m >= 0
        t, r, m, member = t[ok], r[ok], m[ok], member[ok]
        nm, nr = self.grid.n_months, self.R + 1
        keys, counts = np.unique((((t + 1) * nr + (r + 1)) * nm + m) * span + member, return_counts=True)
        return keys.astype(np.int64), counts.astype(np.int64)

    def expand(self, base: np.ndarray, span: int) -> np.ndarray:
        """Distinct (scope, period, member) keys of fact keys (``fact_keys``): a fact at territory t counts
        at all its ancestors, and at its rep; its month counts in its quarter and year."""
        if len(base) == 0:
            return np.zeros(0, dtype=np.int64)
        nm, nr = self.grid.n_months, self.R + 1
        member, rest = base % span, base // span
        m, rest = rest % nm, rest // nm
        r, t = rest % nr - 1, rest // nr - 1
        scopes, cols, members = [], [], []
        for col in self.grid.columns(m):
            for level in range(self.tree.ancestors.shape[1]):
                anc = np.where(t >= 0, self.tree.ancestors[np.maximum(t, 0), level], -1)
                keep = anc >= 0
                scopes.append(anc[keep])
                cols.append(col[keep])
                members.append(member[keep])
            keep = r >= 0
            scopes.append(self.T + r[keep])
            cols.append(col[keep])
            members.append(member[keep])
        s, c, mem = np.concatenate(scopes), np.concatenate(cols), np.concatenate(members)
        return np.unique((s * self.grid.size + c) * span + mem)

    # --- KPI values (S × P arrays, NaN = null) ----------------------------------------------------------

    def metric(self, slug: str, metric_filter: dict | None) -> np.ndarray:
        s = self.sums
        fkey = Engine._filter_key(metric_filter)
        won, lost = s["won"], s["lost"]
        match slug:
            case "won_revenue":
                return s["won_amount"]
            case "won_deals":
                return won
            case "lost_deals":
                return lost
            case "lost_value":
                return s["lost_amount"]
            case "win_rate":
                return ratio(won, won + lost)
            case "avg_deal_size":
                return ratio(s["won_amount"], won)
            case "sales_cycle_days":
                return ratio(s["cycle_days"], s["cycle_deals"])
            case "gross_profit":
                return np.where((s["profit_deals"] > 0) | (won == 0), s["profit"], NAN)
            case "profit_margin":
                return ratio(s["profit"], s["profit_revenue"])
            case "open_pipeline_count":
                return s["open_count"]
            case "open_pipeline_value":
                return s["open_value"]
            case "new_opportunities":
                return s["new"]
            case "lead_conversion":
                return ratio(s["cohort_won"], s["new"])
            case "active_customers":
                return self.n_customers
            case "customer_retention":
                return self.retention
            case "cross_brand_customers":
                return ratio(self.n_cross, self.n_customers)
            case "cross_brand_deals":
                return s["cross_brand_deals"]
            case "partner_revenue_share":
                return ratio(s["partner_won_amount"], s["won_amount"])
            case "partner_win_rate":
                return ratio(s["partner_won"], s["partner_won"] + s["partner_lost"])
            case "direct_win_rate":
                direct_won, direct_lost = won - s["partner_won"], lost - s["partner_lost"]
                return ratio(direct_won, direct_won + direct_lost)
            case "strategic_play_deals":
                return s["play_new"]
            case "strategic_play_win_rate":
                return ratio(s["play_won"], s["play_won"] + s["play_lost"])
            case "deliverables_in_wins":
                return ratio(s["deliverable_won"], won)
            case "deliverables_in_losses":
                return ratio(s["deliverable_lost"], lost)
            case "poc_success_rate":
                return ratio(s["poc_success"], s["poc_success"] + s["poc_failure"])
            case "poc_win_rate":
                return ratio(s["poc_success_won"], s["poc_success_won"] + s["poc_success_lost"])
            case "poc_success_not_won":
                return s["poc_success_lost"] + s["open_poc_success"]
            case "certifications_earned":
                return s.get(f"certs_earned:{fkey}", np.zeros_like(won))
            case "certified_win_rate_lift":
                cw, cl = s[f"cert_won:{fkey}"], s[f"cert_lost:{fkey}"]
                return ratio(cw, cw + cl) - ratio(won - cw, won - cw + lost - cl)
            case "revenue_per_rep":
                return ratio(s["won_amount"], self.n_active)
            case "identification_participation":
                return ratio(self.n_identifying, self.n_active)
            case "rep_turnover":
                return ratio(self.leavers, (self.on_start + self.on_end) / 2)
            case "certified_reps_pct":
                return ratio(
                    self._count_reps(self.on_snapshot, self._certified_matrix(fkey)), self.n_on_snapshot
                )
            case "program_participation_pct":
                inside = self._count_reps(self.active, self._programme_matrix(metric_filter or {}))
                return ratio(inside, self.n_active)
            case "reps_at_target" | "reps_at_target_pct":
                return self._reps_at_target(slug)
        raise KeyError(f"unknown metric {slug!r}")

    def _count_reps(self, members: Members, per_rep_period: np.ndarray) -> np.ndarray:
        """Count the members whose (rep, period) is set in the matrix, per (scope, period)."""
        return self.count_cells(members.cells[per_rep_period[members.member, members.col]])

    def _certified_matrix(self, fkey: str) -> np.ndarray:
        g = self.grid
        snap = np.minimum(g.end, self.t)
        reps = np.repeat(np.arange(self.R), g.size)
        return (
            self.certified(fkey, reps, np.tile(snap, self.R)).reshape(self.R, g.size)
            if self.R
            else np.zeros((1, g.size), dtype=bool)
        )

    def _programme_matrix(self, metric_filter: dict) -> np.ndarray:
        g = self.grid
        inside = np.zeros((self.RS, g.size), dtype=bool)
        kind, program = metric_filter.get("kind"), metric_filter.get("program")
        rep_index = _index_of(self.rep_ids, [p[0] for p in self.participations])
        for (_rep, k, pid, start, end), r in zip(self.participations, rep_index, strict=True):
            if (
                r < 0
                or (kind is not None and k != kind)
                or (program is not None and str(pid) != str(program))
            ):
                continue
            inside[r] |= (start.toordinal() <= g.end) & ((end.toordinal() if end else FAR) >= g.start)
        return inside

    def _reps_at_target(self, slug: str) -> np.ndarray:
        g = self.grid
        revenue_kpi = self.kpi_by_slug.get("won_revenue")
        if revenue_kpi is None:
            return np.full((self.S, g.size), NAN if slug.endswith("pct") else 0.0)
        goal = np.full((self.RS, g.size), NAN)
        for scope, period, target_goal, _red in self.targets.get(revenue_kpi.id, ()):
            col = g.index.get(period)
            if scope[0] == "r" and col is not None:
                goal[self.scope_index[scope] - self.T, col] = float(target_goal)
        has = ~np.isnan(goal)
        revenue = self.sums["won_amount"][self.T :]
        at = np.zeros_like(has)
        at[: self.R] = has[: self.R] & (revenue >= np.nan_to_num(goal[: self.R], nan=np.inf))
        with_target = self._count_reps(self.active, has)
        at_target = self._count_reps(self.active, at)
        return at_target if slug == "reps_at_target" else ratio(at_target, with_target)

    def _sparse(self, rows: dict[int, list[tuple]], kpi_id: int) -> tuple[np.ndarray, np.ndarray]:
        """Measurements or targets of one KPI as two S × P arrays (value or goal, weight or red flag)."""
        if kpi_id not in rows:
            return self._nothing, self._nothing
        g = self.grid
        first = np.full((self.S, g.size), NAN)
        second = np.full((self.S, g.size), NAN)
        for scope, period, a, b in rows[kpi_id]:
            col, row = g.index.get(period), self.scope_index.get(scope)
            if col is None or row is None:
                continue
            first[row, col] = float(a)
            second[row, col] = NAN if b is None else float(b)
        return first, second

    def manual(self, kpi: KPI) -> tuple[np.ndarray, np.ndarray]:
        """(value, coverage) of a manual KPI: own entry, else its sub-periods', else its child territories'."""
        g = self.grid
        own, own_weight = self._sparse(self.measurements, kpi.id)
        has_own = ~np.isnan(own)
        value = own.copy()
        coverage = np.where(has_own, 1.0, NAN)
        nm, nq = g.n_months, g.n_quarters
        for cols, sub, group in (
            (np.arange(nm, nm + nq), np.arange(nm), 3),
            (np.arange(nm + nq, g.size), np.arange(nm, nm + nq), 4),
        ):
            parts = own[:, sub].reshape(self.S, len(cols), group)
            present = ~np.isnan(parts)
            count = present.sum(-1)
            total = np.nansum(parts, axis=-1)
            if kpi.time_aggregation == "sum":
                agg = total
            elif kpi.time_aggregation == "last":
                last = group - 1 - np.argmax(present[..., ::-1], axis=-1)
                agg = np.take_along_axis(parts, last[..., None], axis=-1)[..., 0]
            else:
                agg = ratio(total, count)
            fill = ~has_own[:, cols] & (count > 0)
            value[:, cols] = np.where(fill, agg, value[:, cols])
            coverage[:, cols] = np.where(fill, count / group, coverage[:, cols])
        if kpi.tree_aggregation != TreeAggregation.NONE and self.T:
            self._manual_tree(
                kpi, value, coverage, np.where(has_own, np.nan_to_num(own_weight, nan=1.0), NAN)
            )
        return value, coverage

    def _manual_tree(self, kpi: KPI, value: np.ndarray, coverage: np.ndarray, own_weight: np.ndarray) -> None:
        tree = self.tree
        children = tree.children_count()
        T = self.T
        weight = np.where(np.isnan(own_weight[:T]), 1.0, own_weight[:T])
        for d in range(int(tree.depth.max()), 1, -1):
            kids = np.flatnonzero(tree.depth == d)
            parents = np.unique(tree.parent[kids])
            reported = ~np.isnan(value[kids])
            acc = {name: np.zeros((T, value.shape[1])) for name in ("n", "sum", "weighted", "weights")}
            kid_weight = weight[kids]
            np.add.at(acc["n"], tree.parent[kids], reported)
            np.add.at(acc["sum"], tree.parent[kids], np.where(reported, value[kids], 0))
            np.add.at(acc["weighted"], tree.parent[kids], np.where(reported, value[kids] * kid_weight, 0))
            np.add.at(acc["weights"], tree.parent[kids], np.where(reported, kid_weight, 0))
            n, total = acc["n"][parents], acc["sum"][parents]
            mean = ratio(total, n)
            if kpi.tree_aggregation == TreeAggregation.SUM:
                agg = np.where(n > 0, total, NAN)
            elif kpi.tree_aggregation == TreeAggregation.WEIGHTED:
                agg = np.where(
                    acc["weights"][parents] != 0,
                    ratio(acc["weighted"][parents], acc["weights"][parents]),
                    mean,
                )
            else:
                agg = mean
            fill = np.isnan(value[parents])
            value[parents] = np.where(fill, agg, value[parents])
            coverage[parents] = np.where(fill, n / children[parents][:, None], coverage[parents])
            # A territory's weight without an own entry: its reporting children's, else 1.
            weight[parents] = np.where(
                np.isnan(own_weight[parents]) & (n > 0), acc["weights"][parents], weight[parents]
            )

    def base(self, kpi: KPI) -> tuple[np.ndarray, np.ndarray]:
        """(value, coverage) before the comparison transform."""
        none = np.full((self.S, self.grid.size), NAN)
        if kpi.source == Source.METRIC:
            return np.asarray(self.metric(kpi.metric, kpi.metric_filter), dtype=float), none
        if kpi.source == Source.MANUAL:
            return self.manual(kpi)
        return self._evaluate(formula_lang.parse(kpi.formula)), none

    def _evaluate(self, node) -> np.ndarray:
        if isinstance(node, formula_lang.Num):
            return np.full((self.S, self.grid.size), float(node.value))
        if isinstance(node, formula_lang.Ref):
            kpi = self.kpi_by_slug.get(node.slug)
            return self.value(kpi)[0] if kpi else np.full((self.S, self.grid.size), NAN)
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

    def value(self, kpi: KPI) -> tuple[np.ndarray, np.ndarray]:
        """(value, coverage) of a KPI for every scope and grid period (memoised)."""
        if kpi.id in self._values:
            return self._values[kpi.id]
        base, coverage = self.base(kpi)
        if kpi.transform != Transform.VALUE:
            g = self.grid
            cmp = g.previous if kpi.transform == Transform.PCT_PREVIOUS else g.last_year
            before = np.where(cmp >= 0, base[:, np.maximum(cmp, 0)], NAN)
            base = change_pct(base, before)
        future = self.grid.start > self.t
        base = np.where(future, NAN, base)
        coverage = np.where(future, NAN, coverage)
        self._values[kpi.id] = (base, coverage)
        return base, coverage

    def is_sum_type(self, kpi: KPI) -> bool:
        if kpi.transform != Transform.VALUE:
            return False
        if kpi.source == Source.METRIC:
            return kpi.metric in ADDITIVE_METRICS
        return kpi.source == Source.MANUAL and kpi.tree_aggregation == TreeAggregation.SUM

    def target(self, kpi: KPI) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(goal, red flag) set explicitly or summed from children (NaN where the KPI default applies), and
        whether any goal applies (explicit, children or default)."""
        goal, red = self._sparse(self.targets, kpi.id)
        explicit = ~np.isnan(goal)
        default_goal = None if kpi.default_goal is None else float(kpi.default_goal)
        default_red = None if kpi.default_red_flag is None else float(kpi.default_red_flag)
        tolerance = float(kpi.tolerance)
        higher = kpi.direction == "higher"

        def resolved(g: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            """Goal and red flag after the default and the default red flag."""
            use_default = np.isnan(g) & (default_goal is not None)
            g = np.where(use_default, default_goal if default_goal is not None else NAN, g)
            if default_red is not None:
                r = np.where(use_default, default_red, r)
            delta = np.abs(g) * tolerance
            return g, np.where(np.isnan(r) & ~np.isnan(g), g - delta if higher else g + delta, r)

        if not explicit.any() and (default_goal is None or not self.is_sum_type(kpi)):
            # Only the KPI default (or nothing) applies, and it is not summed up the tree.
            return goal, red, np.full(goal.shape, default_goal is not None)
        stored_goal, stored_red = goal.copy(), red.copy()
        if self.T and self.is_sum_type(kpi):
            tree = self.tree
            children = tree.children_count()
            full_goal, full_red = resolved(goal[: self.T], red[: self.T])
            for d in range(int(tree.depth.max()), 1, -1):
                kids = np.flatnonzero(tree.depth == d)
                parents = np.unique(tree.parent[kids])
                n = np.zeros((self.T, goal.shape[1]))
                g_sum = np.zeros_like(n)
                r_sum = np.zeros_like(n)
                np.add.at(n, tree.parent[kids], ~np.isnan(full_goal[kids]))
                np.add.at(g_sum, tree.parent[kids], np.nan_to_num(full_goal[kids]))
                np.add.at(r_sum, tree.parent[kids], np.nan_to_num(full_red[kids]))
                fill = ~explicit[parents] & (n[parents] == children[parents][:, None])
                stored_goal[parents] = np.where(fill, g_sum[parents], stored_goal[parents])
                stored_red[parents] = np.where(fill, r_sum[parents], stored_red[parents])
                full_goal[parents], full_red[parents] = resolved(stored_goal[parents], stored_red[parents])
        return stored_goal, stored_red, (~np.isnan(stored_goal)) | (default_goal is not None)

    def projection(self, kpi: KPI, value: np.ndarray) -> np.ndarray | None:
        """Projected value in the live periods of a cumulative KPI (None when there is nothing to project)."""
        g = self.grid
        live = np.flatnonzero((g.start <= self.t) & (self.t < g.end))
        if not kpi.is_cumulative or len(live) == 0:
            return None
        out = np.full(value.shape, NAN)
        for c in live:
            share = (self.t - g.start[c] + 1) / (g.end[c] - g.start[c] + 1)
            projected = value[:, c] / share
            if (
                share < PIPELINE_BETTER_BEFORE
                and kpi.source == Source.METRIC
                and kpi.transform == Transform.VALUE
                and kpi.metric in ("won_revenue", "won_deals")
            ):
                before = date.fromordinal(int(g.start[c])) - timedelta(days=1)
                q = g.index.get(P.period_containing(before, P.QUARTER, self.fsm).key, -1)
                quarters = [q - i for i in range(4) if q - i >= g.n_months and q >= 0]
                won = self.sums["won"][:, quarters].sum(1)
                lost = self.sums["lost"][:, quarters].sum(1)
                pipeline = self.sums["open_value" if kpi.metric == "won_revenue" else "open_count"][:, c]
                weighted = value[:, c] + pipeline * ratio(won, won + lost)
                projected = np.where(won + lost >= PIPELINE_MIN_CLOSED, weighted, projected)
            out[:, c] = projected
        return out

    # --- result ------------------------------------------------------------------------------------------

    def result(self, period_keys: list[str] | None = None) -> Batch:
        """Every active KPI for every scope in the stored periods (all periods with data, or those of
        ``period_keys`` that have data), cell by cell in stored-row order (scope, fiscal year, slot)."""
        self.compute()
        g = self.grid
        wanted = None if period_keys is None else set(period_keys)
        keys = [k for k in self.stored_keys if wanted is None or k in wanted]
        cols = np.array([g.index[k] for k in keys], dtype=np.int64)
        storable = np.zeros(g.size, dtype=bool)
        storable[[g.index[k] for k in self.stored_keys if k in g.index]] = True
        employed = np.ones((self.S, g.size), dtype=bool)
        employed[self.T :] = self.employed(np.arange(self.R)[:, None], g.start[None, :], g.end[None, :])
        # A cell is stored where some KPI has an actual or a goal (reps only while employed). Worked out over
        # the whole grid, not just the requested periods, because previous / last year travel with a row
        # only when the row they come from is not stored: a recompute of some periods then writes exactly
        # the bytes a full recompute writes.
        figures = []
        any_value = np.zeros((self.S, g.size), dtype=bool)
        for kpi in self.kpis:
            value, coverage = self.value(kpi)
            goal, red, has_goal = self.target(kpi)
            figures.append((kpi, value, coverage, goal, red))
            any_value |= ~np.isnan(value) | has_goal
        stored = any_value & employed & storable
        s_idx, c_idx = np.nonzero(stored[:, cols])
        c_idx = cols[c_idx]
        order = np.lexsort((g.col_slot[c_idx], g.col_year[c_idx], s_idx))
        s_idx, c_idx = s_idx[order], c_idx[order]
        n, K = len(s_idx), len(self.kpis)

        def compared_cells(shift: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            """Cells whose compared cell is not stored, and the compared column (-1: outside the grid)."""
            to = shift[c_idx]
            need = np.flatnonzero(~np.where(to >= 0, stored[s_idx, np.maximum(to, 0)], False))
            return need, to[need]

        compared = {"previous": compared_cells(g.previous), "last_year": compared_cells(g.last_year)}
        actual = np.empty((n, K))
        # Fields most cells leave out: per KPI, its values at the field's cells where any is not null.
        sparse: dict[str, dict[int, np.ndarray]] = defaultdict(dict)
        sparse_cells = {name: cells for name, (cells, _to) in compared.items()}

        def put(name: str, k: int, values: np.ndarray) -> None:
            if not np.isnan(values).all():
                sparse[name][k] = values

        for k, (kpi, value, coverage, goal, red) in enumerate(figures):
            actual[:, k] = value[s_idx, c_idx]
            for name, (cells, to) in compared.items():
                if len(cells):
                    put(name, k, np.where(to >= 0, value[s_idx[cells], np.maximum(to, 0)], NAN))
            put("goal", k, goal[s_idx, c_idx])
            put("red_flag", k, red[s_idx, c_idx])
            if kpi.source == Source.MANUAL:
                put("coverage", k, coverage[s_idx, c_idx])
            projected = self.projection(kpi, value)
            if projected is not None:
                put("projected", k, projected[s_idx, c_idx])
        fields = {"actual": (np.arange(n), actual)}
        for name, by_kpi in sparse.items():
            # A field travels with the cells where some KPI has a value.
            present = np.logical_or.reduce([~np.isnan(v) for v in by_kpi.values()])
            values = np.full((int(present.sum()), K), NAN)
            for k, v in by_kpi.items():
                values[:, k] = v[present]
            fields[name] = (sparse_cells.get(name, np.arange(n))[present], values)
        return Batch(
            kpi_ids=[k.id for k in self.kpis],
            territory_ids=self.tree.ids,
            rep_ids=self.rep_ids,
            years=[p.key for p in g.years],
            scope=s_idx,
            year=g.col_year[c_idx],
            slot=g.col_slot[c_idx],
            fields=fields,
        )


FIELDS = ("actual", "previous", "last_year", "goal", "red_flag", "coverage", "projected")


@dataclass
class Batch:
    """Computed rollups: the stored (scope, period) cells in stored-row order (scope, fiscal year, slot),
    and for each field the cells it travels with and one value per KPI there.

    Scopes are the territories (path order) then the reps (id order); a cell is stored where some KPI has
    an actual or a goal (reps only while employed)."""

    kpi_ids: list[int]
    territory_ids: np.ndarray
    rep_ids: np.ndarray
    years: list[str]  # fiscal year keys of the grid
    scope: np.ndarray  # per cell: scope index
    year: np.ndarray  # per cell: index into ``years``
    slot: np.ndarray  # per cell: slot in the year's row
    fields: dict[str, tuple[np.ndarray, np.ndarray]]  # name -> (cell indices, values (cells, KPIs))

    @property
    def cells(self) -> int:
        return len(self.scope)
