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

import struct
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

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


def _index_of(ids: np.ndarray, values) -> np.ndarray:
    """Position of each value in the id array (-1 for none / unknown)."""
    values = np.asarray(values, dtype=np.int64)
    if len(ids) == 0:
        return np.full(values.shape, -1)
    order = np.arange(len(ids)) if np.all(ids[1:] > ids[:-1]) else np.argsort(ids, kind="stable")
    pos = np.clip(np.searchsorted(ids[order], values), 0, len(ids) - 1)
    return np.where((values >= 0) & (ids[order][pos] == values), order[pos], -1)


class BatchEngine:
    """Loads one organisation and computes every active KPI over the scope × period grid."""

    def __init__(self, org: Organization, today: date, period_keys: list[str] | None = None) -> None:
        """``period_keys``: compute only what those periods need (their data and two fiscal years before
        them, for comparisons); None = every period."""
        self.org = org
        self.today = today
        self.window = None if period_keys is None else [org.parse_period(k) for k in period_keys]
        self.t = today.toordinal()
        self.fsm = org.fiscal_year_start_month
        self._values: dict[int, tuple[np.ndarray, np.ndarray]] = {}
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
        if self.window is None:
            self.grid = Grid(self.first_day, last, self.fsm)
            self._load_deals("", absent)
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
            self._load_deals(where, absent)

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

    def _load_deals(self, where: str, absent: list[str]) -> None:
        """The deals (those matching ``where``), without the columns in ``absent`` (NULL on every deal)."""
        from sales.models import Opportunity, Product

        org = self.org
        # Dates and flags packed into few integers, and NULLs left as None (a shared object): building the
        # Python rows is most of the cost of reading deals through a cursor.
        flags = """(CASE o.stage WHEN 'won' THEN 1 WHEN 'lost' THEN 2 ELSE 0 END
            + CASE WHEN o.channel = 'partner' THEN 4 ELSE 0 END
            + CASE WHEN o.strategic_play_id IS NULL THEN 0 ELSE 8 END
            + CASE o.poc WHEN 'success' THEN 16 WHEN 'failure' THEN 32 ELSE 0 END
            + CASE WHEN o.engage_date IS NULL THEN 0 ELSE 64 END)"""
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
            "id": "o.id", "rep": "o.rep_id", "dates": dates, "flags": flags, "amount": "CAST(o.amount AS FLOAT)",
            "account": "o.account_id", "profit": "CAST(o.profit AS FLOAT)", "identifier": "o.identified_by_id",
            "territory": "o.territory_id",
        }  # fmt: skip
        deals = _fetch_columns(
            Opportunity._meta.db_table,
            "o",
            {k: v for k, v in columns.items() if k not in absent},
            org.pk,
            floats={"amount", "profit"},
            where=where,
        )
        n = len(deals["id"])
        for name in absent:
            deals[name] = np.full(n, NAN) if name == "profit" else np.full(n, -1, dtype=np.int64)
        self.d_id = deals["id"]
        self.d_rep = _index_of(self.rep_ids, deals["rep"])
        self.d_account = deals["account"]
        if connection.vendor == "postgresql":
            self.d_opened, self.d_close = deals["dates"] >> 20, deals["dates"] & ((1 << 20) - 1)
        else:
            self.d_opened = _ymd_ordinal(deals["dates"] // 100_000_000)
            self.d_close = _ymd_ordinal(deals["dates"] % 100_000_000)
        flag = deals["flags"]
        self.d_stage = (flag & 3).astype(np.int8)
        self.d_partner = (flag & 4).astype(bool)
        self.d_play = (flag & 8).astype(bool)
        self.d_poc = ((flag >> 4) & 3).astype(np.int8)
        self.d_engage = np.where(flag & 64, self.d_opened, 0)
        self.d_amount = deals["amount"]
        self.d_profit = deals["profit"]
        self.d_identifier = _index_of(self.rep_ids, deals["identifier"])
        self.d_terr = _index_of(self.tree.ids, deals["territory"])
        products = {
            pid: (line, price)
            for pid, line, price in Product.objects.filter(org=org).values_list("id", "line", "list_price")
        }
        line_codes: dict[str, int] = {}
        pairs = list(
            Opportunity.products.through.objects.filter(opportunity__org=org).values_list(
                "opportunity_id", "product_id"
            )
        )
        deal_of = _index_of(self.d_id, [p[0] for p in pairs])
        pairs = [p for p, d in zip(pairs, deal_of, strict=True) if d >= 0]  # a time window leaves deals out
        deal_of = deal_of[deal_of >= 0]
        lines = np.array(
            [line_codes.setdefault(products[p[1]][0], len(line_codes)) for p in pairs], dtype=np.int64
        )
        prices = np.array([float(products[p[1]][1] or 0) for p in pairs])
        n = len(self.d_id)
        self.d_list_price = np.bincount(deal_of, weights=prices, minlength=n) if pairs else np.zeros(n)
        self.pair_deal: np.ndarray
        self.pair_line: np.ndarray
        self.pair_deal, self.pair_line = (
            np.unique(np.stack([deal_of, lines]), axis=1)
            if pairs
            else (
                np.zeros(0, dtype=np.int64),
                np.zeros(0, dtype=np.int64),
            )
        )
        self.n_lines = np.bincount(self.pair_deal, minlength=n)
        delivered = Opportunity.deliverables.through.objects.filter(opportunity__org=org).values_list(
            "opportunity_id", flat=True
        )
        self.d_deliverable = np.zeros(n, dtype=bool)
        delivered_index = _index_of(self.d_id, list(delivered))
        self.d_deliverable[delivered_index[delivered_index >= 0]] = True

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

    def deal_territory(self, deals: np.ndarray, day: np.ndarray) -> np.ndarray:
        """The rep's territory on the day, else the deal's credited territory, else the root for rep-less deals."""
        rep = self.d_rep[deals]
        t = self.territory_on(rep, day)
        t = np.where(t < 0, self.d_terr[deals], t)
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
            w = np.asarray(weights, dtype=float)
            out: np.ndarray
            if w.ndim == 0:
                out = np.bincount(idx, minlength=self.S * nm) * float(w)
            else:
                out = np.bincount(idx, weights=w[sel], minlength=self.S * nm)
            out = out.reshape(self.S, nm)
            self.tree.subtree_sums(out[: self.T])
            return out

        return count

    def compute(self) -> None:
        g = self.grid
        n = len(self.d_id)
        all_deals = np.arange(n)
        self.stats: dict[str, np.ndarray] = {}

        closed = np.flatnonzero((self.d_stage > 0) & (self.d_close > 0))
        t_close = self.deal_territory(closed, self.d_close[closed])
        r_close = self.d_rep[closed]
        m_close = g.month_col(self.d_close[closed])
        won = self.d_stage[closed] == 1
        lost = ~won
        amount = np.nan_to_num(self.d_amount[closed])
        has_profit = won & ~np.isnan(self.d_profit[closed])
        cycle_ok = self.d_engage[closed] > 0
        partner = self.d_partner[closed]
        play = self.d_play[closed]
        deliv = self.d_deliverable[closed]
        poc = self.d_poc[closed]
        at_close = {
            "won": won,
            "lost": lost,
            "won_amount": won * amount,
            "lost_amount": lost * amount,
            "profit": np.where(has_profit, np.nan_to_num(self.d_profit[closed]), 0),
            "profit_revenue": has_profit * amount,
            "profit_deals": has_profit,
            "cycle_days": np.where(cycle_ok, self.d_close[closed] - self.d_engage[closed], 0),
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
            "cross_brand_deals": won & (self.n_lines[closed] >= 2),
        }
        at_close_count = self.tally(t_close, r_close, m_close)
        for name, weights in at_close.items():
            self.stats[name] = at_close_count(weights)

        opened = np.flatnonzero(self.d_opened > 0)
        t_open = self.deal_territory(opened, self.d_opened[opened])
        r_open = self.d_rep[opened]
        m_open = g.month_col(self.d_opened[opened])
        at_open_count = self.tally(t_open, r_open, m_open)
        self.stats["new"] = at_open_count(1.0)
        self.stats["cohort_won"] = at_open_count(self.d_stage[opened] == 1)
        self.stats["play_new"] = at_open_count(self.d_play[opened])
        # A finished POC counts when the deal closed, or, on a deal still open, in the period it was engaged.
        still_open = ~((self.d_stage[opened] > 0) & (self.d_close[opened] > 0))
        for name, code in (("poc_success", 1), ("poc_failure", 2)):
            self.stats[name] = at_close_count(poc == code) + at_open_count(
                still_open & (self.d_poc[opened] == code)
            )
        self._certification_stats(closed, won, at_close_count)
        self._open_pipeline(all_deals)
        self.sums = {name: g.add_up(v) for name, v in self.stats.items() if not name.startswith("open_")}
        self.sums.update({name: g.at_end(v) for name, v in self.stats.items() if name.startswith("open_")})
        self._reps()
        self._identifiers(opened, t_open, r_open, m_open)
        self._customers(closed[won], t_close[won], r_close[won], m_close[won])

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

    def _certification_stats(self, closed: np.ndarray, won: np.ndarray, at_close_count) -> None:
        g = self.grid
        self.cert_filters = self._cert_filters()
        earned_t = self.territory_on(self.c_rep, self.c_earned)
        earned_m = g.month_col(self.c_earned)
        for fkey in self.cert_filters:
            held = self.certified(fkey, self.d_rep[closed], self.d_close[closed])
            self.stats[f"cert_won:{fkey}"] = at_close_count(held & won)
            self.stats[f"cert_lost:{fkey}"] = at_close_count(held & ~won)
            self.stats[f"certs_earned:{fkey}"] = self.monthly(
                earned_t, self.c_rep, earned_m, self._cert_mask(fkey) & (self.c_rep >= 0)
            )

    def _open_pipeline(self, deals: np.ndarray) -> None:
        """Deals open at each month end (engaged by the snapshot day, not closed by the month's end)."""
        g = self.grid
        nm = g.n_months
        opened = self.d_opened
        ok = (opened > 0) & (opened <= self.t)
        deals = deals[ok]
        start_col = np.where(opened[deals] < g.start[0], 0, g.month_col(opened[deals]))
        is_closed = self.d_stage[deals] > 0
        close = np.where(is_closed & (self.d_close[deals] > 0), self.d_close[deals], 0)
        end_col = np.where(close > 0, g.month_col(close), nm)
        end_col = np.where((close > 0) & (end_col < 0), np.where(close < g.start[0], 0, nm), end_col)
        keep = (start_col >= 0) & (end_col > start_col)
        deals, start_col, end_col = deals[keep], start_col[keep], end_col[keep]
        value = np.where(np.isnan(self.d_amount[deals]), self.d_list_price[deals], self.d_amount[deals])
        poc_open = (self.d_poc[deals] == 1) & (self.d_stage[deals] != 1)
        rep, credited = self.d_rep[deals], self.d_terr[deals]
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
        for name, weights in (("open_count", 1.0), ("open_value", value), ("open_poc_success", poc_open)):
            w = np.broadcast_to(np.asarray(weights, dtype=float), deals.shape)
            delta = np.bincount(opens, weights=w, minlength=C * (nm + 1)) - np.bincount(
                closes, weights=w, minlength=C * (nm + 1)
            )
            running = np.cumsum(delta.reshape(C, nm + 1)[:, :nm], axis=1).reshape(-1)
            monthly = count(running)
            self.stats[name] = np.round(monthly, 6) if name == "open_value" else np.rint(monthly)

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

    def _identifiers(self, opened, t_open, r_open, m_open) -> None:
        identifier = np.where(self.d_identifier[opened] >= 0, self.d_identifier[opened], r_open)
        has = identifier >= 0
        keys = self.scope_keys(t_open[has], r_open[has], m_open[has], identifier[has], self.RS)
        wanted = self.active.cells * self.RS + self.active.member
        pos = np.clip(np.searchsorted(keys, wanted), 0, max(len(keys) - 1, 0))
        found = keys[pos] == wanted if len(keys) else np.zeros(len(wanted), dtype=bool)  # keys are sorted
        self.n_identifying = self.count_cells(self.active.cells[found])

    def _customers(self, won_deals, t, r, m) -> None:
        g = self.grid
        has = self.d_account[won_deals] >= 0
        won_deals, t, r, m = won_deals[has], t[has], r[has], m[has]
        accounts, account = np.unique(self.d_account[won_deals], return_inverse=True)
        account = account.reshape(-1)
        span = max(len(accounts), 1)
        keys = self.scope_keys(t, r, m, account, span)
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
        pair_ok = np.isin(self.pair_deal, won_deals)
        pd, pl = self.pair_deal[pair_ok], self.pair_line[pair_ok]
        pos = np.searchsorted(won_deals, pd) if len(won_deals) else pd
        lines_span = int(pl.max(initial=0)) + 1
        line_keys = self.scope_keys(t[pos], r[pos], m[pos], account[pos] * lines_span + pl, span * lines_span)
        per_account = line_keys // lines_span  # (scope, period, account) repeated once per line
        accounts_cells, counts = np.unique(per_account, return_counts=True)
        self.n_cross = self.count_cells(accounts_cells[counts >= 2] // span)

    def scope_keys(self, t, r, m, member, span: int) -> np.ndarray:
        """Distinct (scope, period, member) keys of facts at territory t (counted at all its ancestors)
        and rep r in grid month m; ``span`` bounds the member numbers."""
        if len(member) == 0:
            return np.zeros(0, dtype=np.int64)
        ok = m >= 0
        t, r, m, member = t[ok], r[ok], m[ok], member[ok]
        # Distinct (territory, rep, month, member) first: many facts share them.
        nm, nr = self.grid.n_months, self.R + 1
        base = np.unique((((t + 1) * nr + (r + 1)) * nm + m) * span + member)
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
        ``period_keys`` that have data)."""
        self.compute()
        g = self.grid
        keys = [k for k in self.stored_keys if period_keys is None or k in set(period_keys)]
        cols = np.array([g.index[k] for k in keys], dtype=int)
        K = len(self.kpis)
        shape = (K, self.S, len(cols))  # KPI-major: each KPI's block is written contiguously
        fields = {name: np.empty(shape) for name in FIELDS if name != "projected"}
        any_value = np.zeros((self.S, len(cols)), dtype=bool)
        for k, kpi in enumerate(self.kpis):
            value, coverage = self.value(kpi)
            goal, red, has_goal = self.target(kpi)
            fields["actual"][k] = value[:, cols]
            fields["previous"][k] = _take(value, g.previous[cols])
            fields["last_year"][k] = _take(value, g.last_year[cols])
            fields["goal"][k] = goal[:, cols]
            fields["red_flag"][k] = red[:, cols]
            fields["coverage"][k] = coverage[:, cols]
            projected = self.projection(kpi, value)
            if projected is not None:
                fields.setdefault("projected", np.full(shape, NAN))[k] = projected[:, cols]
            any_value |= ~np.isnan(value[:, cols]) | has_goal[:, cols]
        employed = np.ones((self.S, g.size), dtype=bool)
        employed[self.T :] = self.employed(np.arange(self.R)[:, None], g.start[None, :], g.end[None, :])
        stored = any_value & employed[:, cols]
        # Previous / last year travel with a row only when the row they come from is not stored.
        is_stored = np.zeros((self.S, g.size), dtype=bool)
        is_stored[:, cols] = stored
        compared = {
            "previous": _take(is_stored, g.previous[cols], False),
            "last_year": _take(is_stored, g.last_year[cols], False),
        }
        return Batch(
            kpi_ids=[k.id for k in self.kpis],
            territory_ids=self.tree.ids,
            rep_ids=self.rep_ids,
            period_keys=keys,
            stored=stored,
            fields=fields,
            compared_stored=compared,
        )


FIELDS = ("actual", "previous", "last_year", "goal", "red_flag", "coverage", "projected")


def _take(values: np.ndarray, cols: np.ndarray, missing=NAN) -> np.ndarray:
    """values[:, cols] with ``missing`` where the column is -1 (outside the grid)."""
    taken = values[:, np.maximum(cols, 0)]
    return np.where(cols[None, :] >= 0, taken, missing)


@dataclass
class Batch:
    """Computed rollups: per stored (scope, period) cell, one value per KPI for each field.

    Scopes are the territories (path order) then the reps (id order); ``stored`` says which cells have a
    row (reps only while employed; cells with some actual or goal)."""

    kpi_ids: list[int]
    territory_ids: np.ndarray
    rep_ids: np.ndarray
    period_keys: list[str]
    stored: np.ndarray  # (S, periods) bool
    fields: dict[str, np.ndarray]  # name -> (KPIs, S, periods); a field left out is all null
    compared_stored: dict[str, np.ndarray]  # "previous" / "last_year" -> (S, periods) bool
