"""Reading an organisation's deals as columns: one query for the deals (a binary COPY straight into
numpy on PostgreSQL), one for their product lines, one for their technical deliverables."""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence
from dataclasses import dataclass, fields
from decimal import ROUND_HALF_EVEN, Decimal

import numpy as np
from django.db import connection
from django.db.models import Count, Max, Min, Q
from django.db.models.functions import Coalesce
from psycopg import pq

from sales.models import CLOSED_STAGES, Deliverable, Opportunity, Partner, Product, StrategicPlay
from territories.models import Rep

from .arrays import UNITS, bincount_exact, index_of, ymd_ordinal
from .grid import Scopes


@dataclass
class Deals:
    """Deals as columns: ids and raw foreign ids, dates as ordinals (0 = none), money in int64 UNITS,
    stage 0 open / 1 won / 2 lost, poc 0 none / 1 success / 2 failure; ``rep`` / ``terr`` / ``identifier``
    are indices into the scopes' reps and territories (-1 for none), ``pair_deal`` / ``pair_line`` the
    distinct (deal index, product line code) pairs; ``first_won`` marks each account's first won deal
    ever (``mark_first_wins``)."""

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
    deliverable: np.ndarray  # how many technical deliverables the deal has
    first_won: np.ndarray
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

    def joined(self, other: Deals) -> Deals:
        """These deals followed by the other's (copies)."""
        columns = {f: np.concatenate([getattr(self, f), getattr(other, f)]) for f in DEAL_COLUMNS}
        return Deals(
            **columns,
            pair_deal=np.concatenate([self.pair_deal, other.pair_deal + len(self)]),
            pair_line=np.concatenate([self.pair_line, other.pair_line]),
        )

    def mark_first_wins(self, accounts: np.ndarray | None = None) -> np.ndarray:
        """Set ``first_won``: each account's won deal with the earliest close date, the lowest id on a
        tie — over every deal, or again for the deals of ``accounts`` only (after some of theirs changed).
        Returns the positions whose mark changed."""
        among = np.ones(len(self), dtype=bool) if accounts is None else np.isin(self.account, accounts)
        won = np.flatnonzero(among & (self.stage == 1) & (self.close > 0) & (self.account >= 0))
        won = won[np.lexsort((self.id[won], self.close[won], self.account[won]))]
        account = self.account[won]
        first = np.ones(len(won), dtype=bool)
        first[1:] = account[1:] != account[:-1]
        marked = np.zeros(len(self), dtype=bool)
        marked[won[first]] = True
        changed = np.flatnonzero(among & (marked != self.first_won))
        self.first_won = np.where(among, marked, self.first_won)
        return changed

    def days(self) -> np.ndarray:
        """First and last days opened, and closed (won / lost deals), as ``deal_summary`` gives them."""
        opened = self.opened[self.opened > 0]
        closed = self.close[(self.stage > 0) & (self.close > 0)]
        return np.array([f(x) for x in (opened, closed) if len(x) for f in (np.min, np.max)], dtype=np.int64)

    def index(self, scopes: Scopes) -> None:
        """Rep / territory indices from the raw ids (again after reps or territories changed)."""
        self.rep = index_of(scopes.rep_ids, self.rep_id)
        self.identifier = index_of(scopes.rep_ids, self.identifier_id)
        self.terr = index_of(scopes.tree.ids, self.terr_id)


# One value per deal (the product-line pairs are not).
DEAL_COLUMNS = tuple(f.name for f in fields(Deals) if not f.name.startswith("pair_"))


@dataclass
class Products:
    """Product id → (line code, list price in UNITS); the digest changes whenever any product does."""

    line_and_price: dict[int, tuple[int, int]]
    digest: bytes
    lines_span: int  # a power of two above the number of lines

    @classmethod
    def load(cls, org_id: int) -> Products:
        rows = list(
            Product.objects.filter(org_id=org_id).order_by("id").values_list("id", "line", "list_price")
        )
        lines = sorted({line for _id, line, _price in rows})
        code = {line: i for i, line in enumerate(lines)}
        return cls(
            line_and_price={pk: (code[line], money_units(price)) for pk, line, price in rows},
            digest=hashlib.blake2b(repr(rows).encode(), digest_size=20).digest(),
            lines_span=1 << max(len(lines), 1).bit_length(),
        )


def catalog_digest(org_id: int) -> bytes:
    """How many deliverables, partners, strategic plays and reps the organisation has, and their highest
    ids: what kept deal columns point at besides products. Deleting one changes deals without an edit of
    theirs (links cascade, an identifier is set to NULL); the receivers log those deals, and this is the
    backstop for a write that reached the database another way (one query over small tables)."""
    parts = [
        f"SELECT COUNT(*), COALESCE(MAX(id), 0) FROM {model._meta.db_table} WHERE org_id = %s"
        for model in (Deliverable, Partner, StrategicPlay, Rep)
    ]
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), [org_id] * len(parts))
        rows = cursor.fetchall()
    return hashlib.blake2b(repr(rows).encode(), digest_size=20).digest()


def deliverable_links(org_id: int) -> int:
    """How many (deal, technical deliverable) links the organisation has (to check kept deal columns;
    through the organisation's few deliverables, which is cheaper than through its deals, and a plain
    count: 70 ms at 560,000 links where counting the distinct deals took 150-215 ms)."""
    return Opportunity.deliverables.through.objects.filter(deliverable__org_id=org_id).count()


def money_units(value) -> int:
    """A money value (Decimal, None = 0) in whole UNITS."""
    return 0 if value is None else int((Decimal(value) * UNITS).to_integral_value(ROUND_HALF_EVEN))


def deal_summary(org_id: int) -> tuple[np.ndarray, list[str]]:
    """First and last dates of the organisation's deals (opened; closed for won / lost deals), and the
    optional columns that are NULL on every deal (house deals, profits, accounts are often absent)."""
    opened = Coalesce("engage_date", "created_date")
    closed = Q(stage__in=CLOSED_STAGES)
    optional = {
        "account": "account",
        "profit": "profit",
        "identifier": "identified_by",
        "territory": "territory",
    }
    found = Opportunity.objects.filter(org_id=org_id).aggregate(
        a=Min(opened),
        b=Max(opened),
        c=Min("close_date", filter=closed),
        d=Max("close_date", filter=closed),
        **{name: Count(field) for name, field in optional.items()},
    )
    days = [found[k].toordinal() for k in "abcd" if found[k] is not None]
    return np.array(days, dtype=np.int64), [name for name in optional if not found[name]]


def window_sql(org_id: int, start, end) -> str:
    """Only deals that can count in [start, end]: not closed before it starts, not opened after it ends;
    and every account's first won deal, wherever it is, so that ``Deals.mark_first_wins`` knows them."""
    table = Opportunity._meta.db_table
    first_wins = f"""SELECT f.id FROM (
            SELECT w.id, ROW_NUMBER() OVER (PARTITION BY w.account_id ORDER BY w.close_date, w.id) AS n
            FROM {table} w WHERE w.org_id = {int(org_id)} AND w.stage = 'won'
                AND w.close_date IS NOT NULL AND w.account_id IS NOT NULL
        ) f WHERE f.n = 1"""
    return f"""
        AND ((
            (o.stage NOT IN ('won', 'lost') OR o.close_date IS NULL OR o.close_date >= '{start}'
             OR COALESCE(o.engage_date, o.created_date, o.close_date) >= '{start}')
            AND (COALESCE(o.engage_date, o.created_date) IS NULL OR COALESCE(o.engage_date, o.created_date) <= '{end}'
                 OR o.close_date <= '{end}')
        ) OR o.id IN ({first_wins}))
    """


def _deal_select() -> dict[str, str]:
    """The deal columns read: dates and flags packed into few integers, and NULLs left as None (a shared
    object): building the Python rows is most of the cost of reading deals through a cursor."""
    flags = """(CASE o.stage WHEN 'won' THEN 1 WHEN 'lost' THEN 2 ELSE 0 END
        + CASE WHEN o.channel = 'partner' THEN 4 ELSE 0 END
        + CASE WHEN o.strategic_play_id IS NULL THEN 0 ELSE 8 END
        + CASE o.poc WHEN 'success' THEN 16 WHEN 'failure' THEN 32 ELSE 0 END
        + CASE WHEN o.engage_date IS NULL THEN 0 ELSE 64 END
        + CASE WHEN o.amount IS NULL THEN 128 ELSE 0 END
        + CASE WHEN o.profit IS NULL THEN 256 ELSE 0 END)"""
    opened = "COALESCE(o.engage_date, o.created_date)"
    if connection.vendor == "postgresql":
        dates = f"(({_ordinal_sql(opened)})::BIGINT * {1 << 20} + ({_ordinal_sql('o.close_date')})::BIGINT)"
    else:  # ISO text: YYYYMMDD numbers are cheaper to make than julianday()
        dates = (
            f"(COALESCE(CAST(replace({opened}, '-', '') AS INTEGER), 0) * 100000000"
            " + COALESCE(CAST(replace(o.close_date, '-', '') AS INTEGER), 0))"
        )
    return {
        "id": "o.id",
        "rep": "o.rep_id",
        "dates": dates,
        "flags": flags,
        "amount": f"round(o.amount * {UNITS})",
        "account": "o.account_id",
        "profit": f"round(o.profit * {UNITS})",
        "identifier": "o.identified_by_id",
        "territory": "o.territory_id",
    }


def read_deals(
    org_id: int,
    scopes: Scopes,
    products: Products,
    where: str = "",
    absent: Sequence[str] = (),
    ids: list[int] | None = None,
) -> Deals:
    """The deals matching ``where`` (or with the given ids), without the columns in ``absent`` (NULL on
    every deal), with their product lines, list prices and deliverables (``first_won`` left unmarked)."""
    if ids is not None:
        where = f"AND o.id IN ({', '.join(str(int(i)) for i in ids) or 'NULL'})"
    columns = {k: v for k, v in _deal_select().items() if k not in absent}
    raw = fetch_columns(Opportunity._meta.db_table, "o", columns, org_id, floats=set(), where=where)
    n = len(raw["id"])
    for name in absent:
        raw[name] = np.full(n, -1, dtype=np.int64)
    if connection.vendor == "postgresql":
        opened_day, close_day = raw["dates"] >> 20, raw["dates"] & ((1 << 20) - 1)
    else:
        opened_day = ymd_ordinal(raw["dates"] // 100_000_000)
        close_day = ymd_ordinal(raw["dates"] % 100_000_000)
    flag = raw["flags"]
    amount_null, profit_null = (flag & 128).astype(bool), (flag & 256).astype(bool)
    deals = Deals(
        id=raw["id"],
        rep_id=raw["rep"],
        terr_id=raw["territory"],
        identifier_id=raw["identifier"],
        account=raw["account"],
        opened=opened_day,
        close=close_day,
        stage=(flag & 3).astype(np.int8),
        partner=(flag & 4).astype(bool),
        play=(flag & 8).astype(bool),
        poc=((flag >> 4) & 3).astype(np.int8),
        engage=np.where(flag & 64, opened_day, 0),
        amount=np.where(amount_null, 0, raw["amount"]),
        amount_null=amount_null,
        profit=np.where(profit_null, 0, raw["profit"]),
        profit_null=profit_null,
        list_price=np.zeros(n, dtype=np.int64),
        n_lines=np.zeros(n, dtype=np.int64),
        deliverable=np.zeros(n, dtype=np.int16),
        first_won=np.zeros(n, dtype=bool),
        pair_deal=np.zeros(0, dtype=np.int64),
        pair_line=np.zeros(0, dtype=np.int64),
        rep=raw["rep"],
        terr=raw["territory"],
        identifier=raw["identifier"],
    )
    deals.index(scopes)
    _read_links(org_id, deals, products, ids)
    return deals


def _read_links(org_id: int, deals: Deals, products: Products, ids: list[int] | None) -> None:
    """The deals' product lines, list prices and deliverables (deals outside a time window left out)."""
    n = len(deals)
    pairs = Opportunity.products.through.objects.filter(opportunity__org_id=org_id)
    delivered = Opportunity.deliverables.through.objects.filter(opportunity__org_id=org_id)
    if ids is not None:
        pairs, delivered = pairs.filter(opportunity_id__in=ids), delivered.filter(opportunity_id__in=ids)
    pair_rows = list(pairs.values_list("opportunity_id", "product_id"))
    deal_of = index_of(deals.id, [p[0] for p in pair_rows])
    known = deal_of >= 0
    lines = np.array([products.line_and_price[p[1]][0] for p in pair_rows], dtype=np.int64)
    prices = np.array([products.line_and_price[p[1]][1] for p in pair_rows], dtype=np.int64)
    deal_of, lines, prices = deal_of[known], lines[known], prices[known]
    deals.list_price = bincount_exact(deal_of, prices, n) if len(deal_of) else np.zeros(n, dtype=np.int64)
    if len(deal_of):
        deals.pair_deal, deals.pair_line = np.unique(np.stack([deal_of, lines]), axis=1)
    deals.n_lines = np.bincount(deals.pair_deal, minlength=n)
    delivered_index = index_of(deals.id, list(delivered.values_list("opportunity_id", flat=True)))
    deals.deliverable = np.bincount(delivered_index[delivered_index >= 0], minlength=n).astype(np.int16)


def _ordinal_sql(column: str) -> str:
    """PostgreSQL for a date column's proleptic Gregorian ordinal (date.toordinal), 0 for NULL."""
    return f"COALESCE(({column} - DATE '0001-01-01') + 1, 0)"


def fetch_columns(
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
    data = _copy_out(query, table)
    fields = [("count", ">i2")]
    for name in names:
        fields += [(f"{name}_length", ">i4"), (name, ">f8" if name in floats else ">i8")]
    dtype = np.dtype(fields)
    header = 19 + struct.unpack_from("!i", data, 15)[0]  # signature, flags, header extension
    rows = np.frombuffer(data, dtype=dtype, offset=header, count=(len(data) - header - 2) // dtype.itemsize)
    return {name: rows[name].astype(float if name in floats else np.int64) for name in names}


def _copy_out(query: str, table: str) -> bytes:
    """The bytes a ``COPY ... TO STDOUT`` sends."""
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
    return b"".join(chunks)
