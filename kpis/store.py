"""Stored rollups: one row per (scope, fiscal year) holding every KPI's figures in each of the year's
periods, and the figures read back in the report shape of DESIGN §5.

A row per year rather than per period: a full recompute writes ~17 times fewer rows (inserting a row
costs the same whatever its size, up to a few kilobytes), and an edit rewrites the year rows of its rep
and territory path.

A row's ``data``: a version byte, the number of slots (17), then per slot the little-endian uint32 length
of its part (0: the period has no stored figures); the parts follow in slot order. Slots: the year's
months in fiscal order (0-11), its quarters (12-15), the year (16). A part is little-endian 8-byte words:
a field mask, then for each present field (in ``FIELDS`` order) two bit sets over the KPIs of the row's
run (``RollupRun.kpi_ids`` order), null values and zero values, then the other values as float64.
Absent fields are all null, except:

- ``previous`` / ``last_year`` travel with a period only when the compared period is not stored;
  otherwise they are read from that period's actuals;
- ``goal`` / ``red_flag`` hold targets set explicitly or summed from child territories; where they are
  null the KPI's default goal applies, and a missing red flag is the goal ∓ the KPI's tolerance.
- ``pipeline`` is 1 where ``projected`` is actual + open pipeline × the trailing win rate; a projection
  without it is the run rate (read as ``projection_method``).

Scores, statuses, change % and pace are derived on reading (``kpis.scoring``), so they can never
disagree with the stored actual and targets they come from.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from datetime import date

import numpy as np
from django.db import connection
from django.db.models import Q, QuerySet

from scorecard import periods as P
from scorecard.models import Organization

from . import scoring
from .models import KPI, RollupRun, ScopeRollup
from .rollup.result import FIELDS, Batch

VERSION = 3
# Version 2 rows differ only in lacking the ``pipeline`` field; migration 0011 requests the full
# recompute that rewrites them, and until then they read with every projection as the run rate.
READABLE = frozenset({2, VERSION})
SLOTS = 17
BIT = {name: 1 << i for i, name in enumerate(FIELDS)}
COLUMNS = ["org_id", "run_id", "territory_id", "rep_id", "year", "data"]

Scope = tuple[str, int]  # ("t", territory id) or ("r", rep id)

# How a projection was made (DESIGN §4, pace): "why this colour" names it.
RUN_RATE = "run rate"
PIPELINE = "pipeline"


def row_of(org: Organization, period_key: str) -> tuple[str, int]:
    """The fiscal year key of the row holding a period, and the period's slot in it."""
    period = org.parse_period(period_key)
    fiscal = P.period_containing(period.start, P.YEAR, org.fiscal_year_start_month)
    offset = (period.start.month - fiscal.start.month) % 12
    slot = {P.MONTH: offset, P.QUARTER: 12 + offset // 3, P.YEAR: 16}[period.kind]
    return fiscal.key, slot


def year_periods(org: Organization, year_key: str) -> list[str]:
    """The period keys a year's row holds, in slot order."""
    year = org.parse_period(year_key)
    fsm = org.fiscal_year_start_month
    months = year.months()
    quarters = [P.period_containing(m.start, P.QUARTER, fsm) for m in months[::3]]
    return [p.key for p in (*months, *quarters, year)]


def encode(batch: Batch, org_id: int, run_id: int) -> list[tuple]:
    """The rows to store for a computed batch (cells come in row order: scope, year, slot)."""
    n, K = batch.cells, len(batch.kpi_ids)
    words = _words(K)
    # Every cell's part laid out in one matrix of 8-byte words with a mask of the words it keeps: the mask
    # word, then for each field the two bit sets and the values (kept where neither null nor zero).
    # Selecting the kept words in row-major order gives all parts back to back, with no Python per cell.
    layout = [name for name in FIELDS if name in batch.fields and len(batch.fields[name][0])]
    width = 1 + len(layout) * (2 * words + K)
    mask = np.zeros(n, dtype=np.uint64)
    sizes = np.ones(n, dtype=np.int64)  # words per cell
    for name in layout:
        cells, values = batch.fields[name]
        mask[cells] |= BIT[name]
        sizes[cells] += 2 * words + np.count_nonzero(~np.isnan(values) & (values != 0), axis=1)
    ends = np.cumsum(sizes)
    words_out = np.empty(int(ends[-1]) if n else 0, dtype="<u8")
    # One matrix reused for every chunk: words it does not keep are never read, and fresh memory costs a
    # page fault per 4 KiB.
    whole = np.empty((min(n, _CHUNK), width), dtype=np.uint64)
    for a in range(0, n, _CHUNK):
        b = min(n, a + _CHUNK)
        matrix = whole[: b - a]
        keep = np.zeros((b - a, width), dtype=bool)
        matrix[:, 0], keep[:, 0] = mask[a:b], True
        at = 1
        for name in layout:
            cells, values = batch.fields[name]
            lo, hi = np.searchsorted(cells, [a, b])
            rows, values = cells[lo:hi] - a, values[lo:hi]
            null, zero = np.isnan(values), values == 0
            matrix[rows, at : at + words] = _bits(null, words)
            matrix[rows, at + words : at + 2 * words] = _bits(zero, words)
            matrix[rows, at + 2 * words : at + 2 * words + K] = np.ascontiguousarray(values, "<f8").view(
                np.uint64
            )
            keep[rows, at : at + 2 * words] = True
            keep[rows, at + 2 * words : at + 2 * words + K] = ~null & ~zero
            at += 2 * words + K
        words_out[ends[a] - sizes[a] : ends[b - 1]] = matrix[keep]
    ends = ends * 8
    # Rows: runs of cells with the same (scope, year).
    if n:
        new_row = np.concatenate(
            [[True], (batch.scope[1:] != batch.scope[:-1]) | (batch.year[1:] != batch.year[:-1])]
        )
    else:
        new_row = np.zeros(0, dtype=bool)
    first = np.flatnonzero(new_row)
    slots = np.zeros((len(first), SLOTS), dtype="<u4")
    slots[np.cumsum(new_row) - 1, batch.slot] = sizes * 8
    header = np.concatenate(
        [np.tile(np.array([VERSION, SLOTS], dtype=np.uint8), (len(first), 1)), slots.view(np.uint8)], axis=1
    )
    bounds = np.append(ends[first] - sizes[first] * 8, 8 * len(words_out)).tolist()
    data = words_out.view(np.uint8).data  # a memoryview: slicing it copies nothing
    T = len(batch.territory_ids)
    out = []
    for r, cell in enumerate(first.tolist()):
        s = int(batch.scope[cell])
        territory, rep = (int(batch.territory_ids[s]), None) if s < T else (None, int(batch.rep_ids[s - T]))
        blob = header[r].tobytes() + data[bounds[r] : bounds[r + 1]]
        out.append((org_id, run_id, territory, rep, batch.years[int(batch.year[cell])], blob))
    return out


_CHUNK = 2048  # cells laid out at once (bounds the memory of encoding)


def _words(kpi_count: int) -> int:
    """8-byte words of a bit set over the KPIs."""
    return (kpi_count + 63) // 64


def _bits(flags: np.ndarray, words: int) -> np.ndarray:
    """(cells, KPIs) flags → (cells, words) little-endian bit sets."""
    packed = np.packbits(flags, axis=1, bitorder="little")
    padded = np.zeros((len(flags), words * 8), dtype=np.uint8)
    padded[:, : packed.shape[1]] = packed
    return padded.view("<u8")


def slot_lengths(data: bytes) -> np.ndarray:
    if data[0] not in READABLE:
        raise ValueError(f"unknown rollup format {data[0]}")
    return np.frombuffer(data, dtype="<u4", count=data[1], offset=2)


def decode(data: bytes, slot: int, kpi_count: int) -> dict[str, np.ndarray] | None:
    """The fields of one slot of a row (None when the period is not stored)."""
    lengths = slot_lengths(data)
    if not lengths[slot]:
        return None
    at = 2 + 4 * len(lengths) + int(lengths[:slot].sum())
    mask = int.from_bytes(data[at : at + 8], "little")
    at += 8
    size = 8 * _words(kpi_count)
    out = {}
    for name in FIELDS:
        if not mask & BIT[name]:
            continue
        null, zero = (
            np.unpackbits(
                np.frombuffer(data, dtype=np.uint8, count=size, offset=at + i * size),
                count=kpi_count,
                bitorder="little",
            ).astype(bool)
            for i in (0, 1)
        )
        keep = ~null & ~zero
        kept = int(keep.sum())
        values = np.zeros(kpi_count)
        values[null] = np.nan
        values[keep] = np.frombuffer(data, dtype="<f8", count=kept, offset=at + 2 * size)
        out[name] = values
        at += 2 * size + 8 * kept
    return out


def insert(rows: list[tuple]) -> None:
    if not rows:
        return
    table = connection.ops.quote_name(ScopeRollup._meta.db_table)
    if connection.vendor == "postgresql":
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(f"COPY {table} ({', '.join(COLUMNS)}) FROM STDIN (FORMAT BINARY)") as copy,
        ):
            copy.write(_binary_copy(rows))
        return
    placeholders = ", ".join(["%s"] * len(COLUMNS))
    with connection.cursor() as cursor:
        cursor.executemany(f"INSERT INTO {table} ({', '.join(COLUMNS)}) VALUES ({placeholders})", rows)


_INT8 = struct.Struct("!iq")
_NULL = struct.pack("!i", -1)


def _binary_copy(rows: list[tuple]) -> bytes:
    """PostgreSQL's binary COPY format for rows of (int8, int8, int8|None, int8|None, text, bytea):
    several times faster than adapting each value through the driver."""
    out = [b"PGCOPY\n\xff\r\n\x00", struct.pack("!ii", 0, 0)]
    count = struct.pack("!h", len(COLUMNS))
    for org_id, run_id, territory_id, rep_id, year, data in rows:
        key = year.encode()
        out += [
            count,
            _INT8.pack(8, org_id),
            _INT8.pack(8, run_id),
            _NULL if territory_id is None else _INT8.pack(8, territory_id),
            _NULL if rep_id is None else _INT8.pack(8, rep_id),
            struct.pack("!i", len(key)),
            key,
            struct.pack("!i", len(data)),
            data,
        ]
    out.append(struct.pack("!h", -1))
    return b"".join(out)


def _number(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


def rows_with_runs(
    rows: QuerySet[ScopeRollup], *fields: str
) -> tuple[list[tuple], dict[int, tuple[list[int], date]]]:
    """Stored rows as (run id, *fields), and the KPI order and day of their runs by run id.

    Consistent: every row's figures are decoded with the layout of the run that wrote it. Rows come from
    one statement (one snapshot) and a run never changes once written, so the runs can be read by a
    second statement, unless a recompute committed in between and deleted a run these rows use (it
    deletes the runs whose rows it replaced): then rows and runs are read again in one joined statement.
    Reading them joined every time took 1.2-1.8 times as long for all 1,200 scopes of a benchmark
    organisation (the KPI order repeated in every row), to guard against a rare race.
    """
    found = list(rows.values_list("run_id", *fields))
    wanted = {row[0] for row in found}
    runs = {
        pk: (ids, today)
        for pk, ids, today in RollupRun.objects.filter(pk__in=wanted).values_list("pk", "kpi_ids", "today")
    }
    if len(runs) == len(wanted):
        return found, runs
    joined = list(rows.values_list("run_id", "run__kpi_ids", "run__today", *fields))
    runs = {row[0]: (row[1], row[2]) for row in joined}
    return [(row[0], *row[3:]) for row in joined], runs


class StoredRows:
    """Stored rollups of some scopes in a period and the two periods it compares with."""

    def __init__(
        self, org: Organization, period_key: str, scopes: Sequence[Scope], *, also: Sequence[str] = ()
    ) -> None:
        """``also``: more period keys read in the same queries, for ``row(..., period_key=...)``."""
        self.org = org
        self.period = org.parse_period(period_key)
        self.compare = {"previous": self.period.previous().key, "last_year": self.period.last_year().key}
        self.slot = {}
        for key in (self.period.key, *also):
            period = org.parse_period(key)
            for k in (period.key, period.previous().key, period.last_year().key):
                self.slot[k] = row_of(org, k)
        territory_ids = [i for kind, i in scopes if kind == "t"]
        rep_ids = [i for kind, i in scopes if kind == "r"]
        rows, runs = rows_with_runs(
            ScopeRollup.objects.filter(org=org, year__in={year for year, _slot in self.slot.values()}).filter(
                Q(territory_id__in=territory_ids) | Q(rep_id__in=rep_ids)
            ),
            "territory_id",
            "rep_id",
            "year",
            "data",
        )
        # Each run's KPI order: kpi id -> position of its values in the run's rows.
        positions = {
            pk: {kpi_id: i for i, kpi_id in enumerate(kpi_ids)} for pk, (kpi_ids, _today) in runs.items()
        }
        self._rows: dict[tuple[str, Scope], tuple[dict[int, int], bytes]] = {}
        for run_id, tid, rid, year, data in rows:
            scope = ("t", tid) if tid is not None else ("r", rid)
            self._rows[(year, scope)] = (positions[run_id], bytes(data))
        # The day the newest of these runs computed as of (the live period's pace is as of that day).
        self.computed_on = max((today for _ids, today in runs.values()), default=None)
        self._decoded: dict[tuple[str, Scope], tuple[dict[int, int], dict[str, np.ndarray]] | None] = {}

    def _get(self, period: str, scope: Scope) -> tuple[dict[int, int], dict[str, np.ndarray]] | None:
        """The KPI positions and decoded fields of a scope's period (None when not stored)."""
        if (period, scope) not in self._decoded:
            year, slot = self.slot[period]
            position, data = self._rows.get((year, scope), ({}, b""))
            fields = decode(data, slot, len(position)) if data else None
            self._decoded[(period, scope)] = None if fields is None else (position, fields)
        return self._decoded[(period, scope)]

    def has(self, period: str, scope: Scope) -> bool:
        """Whether figures are stored for the scope in the period (or one it compares with)."""
        return self._get(period, scope) is not None

    def _field(self, period: str, scope: Scope, kpi: KPI, name: str) -> float | None:
        found = self._get(period, scope)
        if found is None:
            return None
        position, fields = found
        i = position.get(kpi.id)
        if i is None or name not in fields:
            return None
        return _number(fields[name][i])

    def stored_target(self, kpi: KPI, scope: Scope, period_key: str | None = None) -> tuple:
        """The (goal, red flag) stored for the scope: set explicitly or summed from child territories
        (None where the KPI's default, or nothing, applies)."""
        key = period_key or self.period.key
        return self._field(key, scope, kpi, "goal"), self._field(key, scope, kpi, "red_flag")

    def row(self, kpi: KPI, scope: Scope, period_key: str | None = None) -> dict:
        """The §5 figures of one KPI and scope (all null and gray when nothing is stored), in the period
        or, with ``period_key``, one of the periods passed as ``also``."""
        key = period_key or self.period.key
        period = self.org.parse_period(key)
        compare = {"previous": period.previous().key, "last_year": period.last_year().key}
        actual = self._field(key, scope, kpi, "actual")
        goal = self._field(key, scope, kpi, "goal")
        red = self._field(key, scope, kpi, "red_flag") if goal is not None else None
        if goal is None and kpi.default_goal is not None:
            goal = float(kpi.default_goal)
            red = None if kpi.default_red_flag is None else float(kpi.default_red_flag)
        if goal is not None and red is None:
            red = scoring.default_red_flag(goal, kpi.direction, float(kpi.tolerance))
        if not self.has(key, scope) or (actual is None and goal is None):
            return _empty()
        compared = {}
        for name, other in compare.items():
            if self.has(other, scope):
                compared[name] = self._field(other, scope, kpi, "actual")
            else:
                compared[name] = self._field(key, scope, kpi, name)
        score = scoring.score(actual, goal, red)
        projected = self._field(key, scope, kpi, "projected")
        pace_score = scoring.score(projected, goal, red) if projected is not None else None
        method = None
        if projected is not None:
            method = PIPELINE if self._field(key, scope, kpi, "pipeline") else RUN_RATE
        return {
            "actual": actual,
            "goal": goal,
            "red_flag": red,
            "score": score,
            "status": scoring.status(score),
            "status_reason": "no data" if actual is None else "no target" if goal is None else "",
            "coverage": self._field(key, scope, kpi, "coverage"),
            "previous": compared["previous"],
            "change_pct": scoring.change_pct(actual, compared["previous"]),
            "last_year": compared["last_year"],
            "yoy_pct": scoring.change_pct(actual, compared["last_year"]),
            "projected": projected,
            "pace_score": pace_score,
            "pace_status": scoring.status(pace_score) if projected is not None else "",
            "projection_method": method,
        }


# The numbers of a row (DESIGN §5), then those only the pages show.
NUMBER_FIELDS = (
    "actual",
    "goal",
    "red_flag",
    "score",
    "coverage",
    "previous",
    "change_pct",
    "last_year",
    "yoy_pct",
    "projected",
)
PAGE_NUMBER_FIELDS = ("pace_score",)


def _empty() -> dict:
    row: dict = dict.fromkeys(NUMBER_FIELDS + PAGE_NUMBER_FIELDS)
    row.update(status=scoring.GRAY, status_reason="no data", pace_status="", projection_method=None)
    return row


class StoredSeries:
    """The stored actuals of one scope over several periods (a sparkline's), read in one query.

    Rows hold a fiscal year each, so the periods' years are read at once with their run's KPI order; a
    period that is not stored reads as null, never as zero.
    """

    def __init__(self, org: Organization, scope: Scope, period_keys: Sequence[str]) -> None:
        self.period_keys = list(period_keys)
        slots = {key: row_of(org, key) for key in self.period_keys}
        kind, pk = scope
        rows = ScopeRollup.objects.filter(
            org=org,
            year__in={year for year, _slot in slots.values()},
            **({"territory_id": pk} if kind == "t" else {"rep_id": pk}),
        ).values_list("year", "run__kpi_ids", "data")
        by_year = {
            year: ({kpi_id: i for i, kpi_id in enumerate(kpi_ids)}, bytes(data))
            for year, kpi_ids, data in rows
        }
        self._fields: dict[str, tuple[dict[int, int], dict[str, np.ndarray]] | None] = {}
        for key, (year, slot) in slots.items():
            position, data = by_year.get(year, ({}, b""))
            fields = decode(data, slot, len(position)) if data else None
            self._fields[key] = None if fields is None else (position, fields)

    def actuals(self, kpi: KPI) -> list[float | None]:
        """The KPI's actual in each period, in the order given (None where nothing is stored)."""
        out: list[float | None] = []
        for key in self.period_keys:
            found = self._fields[key]
            i = None if found is None else found[0].get(kpi.id)
            if found is None or i is None or "actual" not in found[1]:
                out.append(None)
            else:
                out.append(_number(found[1]["actual"][i]))
        return out
