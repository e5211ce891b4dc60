"""Stored rollups: one row per (scope, period) holding every KPI's figures, and the rows read back in the
report shape of DESIGN §5.

A row's ``data`` is a version byte, a field mask byte, then for each present field (in ``FIELDS`` order)
one little-endian float64 per KPI of the row's run (``RollupRun.kpi_ids`` order), NaN for null. Absent
fields are all null, except:

- ``previous`` / ``last_year`` travel with a row only when the row of the compared period is not stored;
  otherwise they are read from that row's actuals;
- ``goal`` / ``red_flag`` hold targets set explicitly or summed from child territories; where they are
  null the KPI's default goal applies, and a missing red flag is the goal ∓ the KPI's tolerance.

Scores, statuses, change % and pace are derived on reading (``kpis.scoring``), so they can never
disagree with the stored actual and targets they come from.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence

import numpy as np
from django.db import connection
from django.db.models import Q

from scorecard.models import Organization

from . import scoring
from .batch import FIELDS, Batch
from .models import KPI, RollupRun, ScopeRollup

VERSION = 1
BIT = {name: 1 << i for i, name in enumerate(FIELDS)}
COLUMNS = ["org_id", "run_id", "territory_id", "rep_id", "period", "data"]

Scope = tuple[str, int]  # ("t", territory id) or ("r", rep id)


def encode(batch: Batch, org_id: int, run_id: int) -> list[tuple]:
    """The rows to store for a computed batch."""
    stored = batch.stored
    present = {"actual": stored}
    for name in FIELDS[1:]:
        if name not in batch.fields:
            present[name] = np.zeros_like(stored)
            continue
        has_any = ~np.all(np.isnan(batch.fields[name]), axis=0)
        present[name] = has_any & ~batch.compared_stored[name] if name in batch.compared_stored else has_any
    mask = np.zeros(stored.shape, dtype=np.int64)
    for name in FIELDS:
        mask |= present[name].astype(np.int64) * BIT[name]
    s_idx, p_idx = np.nonzero(stored)
    masks = mask[s_idx, p_idx]
    T = len(batch.territory_ids)
    territory = [int(batch.territory_ids[s]) if s < T else None for s in s_idx]
    rep = [int(batch.rep_ids[s - T]) if s >= T else None for s in s_idx]
    period = [batch.period_keys[p] for p in p_idx]
    blobs: list[bytes] = [b""] * len(s_idx)
    for m in np.unique(masks):
        rows = np.flatnonzero(masks == m)
        block = np.concatenate(
            [batch.fields[name][:, s_idx[rows], p_idx[rows]].T for name in FIELDS if m & BIT[name]], axis=1
        ).astype("<f8")
        header = bytes([VERSION, int(m)])
        for i, values in zip(rows.tolist(), block, strict=True):
            blobs[i] = header + values.tobytes()
    return [(org_id, run_id, territory[i], rep[i], period[i], blobs[i]) for i in range(len(s_idx))]


def decode(data: bytes, kpi_count: int) -> dict[str, np.ndarray]:
    if data[0] != VERSION:
        raise ValueError(f"unknown rollup format {data[0]}")
    mask = data[1]
    values = np.frombuffer(data, dtype="<f8", offset=2)
    out = {}
    i = 0
    for name in FIELDS:
        if mask & BIT[name]:
            out[name] = values[i * kpi_count : (i + 1) * kpi_count]
            i += 1
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
    for org_id, run_id, territory_id, rep_id, period, data in rows:
        key = period.encode()
        out += [
            count, _INT8.pack(8, org_id), _INT8.pack(8, run_id),
            _NULL if territory_id is None else _INT8.pack(8, territory_id),
            _NULL if rep_id is None else _INT8.pack(8, rep_id),
            struct.pack("!i", len(key)), key, struct.pack("!i", len(data)), data,
        ]  # fmt: skip
    out.append(struct.pack("!h", -1))
    return b"".join(out)


def _number(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


class StoredRows:
    """Stored rollups of some scopes in a period and the two periods it compares with."""

    def __init__(self, org: Organization, period_key: str, scopes: Sequence[Scope]) -> None:
        self.org = org
        self.period = org.parse_period(period_key)
        self.compare = {"previous": self.period.previous().key, "last_year": self.period.last_year().key}
        territory_ids = [i for kind, i in scopes if kind == "t"]
        rep_ids = [i for kind, i in scopes if kind == "r"]
        rows = list(
            ScopeRollup.objects.filter(org=org, period__in=[period_key, *self.compare.values()])
            .filter(Q(territory_id__in=territory_ids) | Q(rep_id__in=rep_ids))
            .values_list("run_id", "territory_id", "rep_id", "period", "data")
        )
        runs = RollupRun.objects.filter(pk__in={row[0] for row in rows}).values_list("pk", "kpi_ids")
        # Each run's KPI order: kpi id -> position of its values in the run's rows.
        positions = {pk: {kpi_id: i for i, kpi_id in enumerate(kpi_ids)} for pk, kpi_ids in runs}
        self.rows: dict[tuple[str, Scope], tuple[dict[int, int], dict[str, np.ndarray]]] = {}
        for run_id, tid, rid, period, data in rows:
            scope = ("t", tid) if tid is not None else ("r", rid)
            position = positions[run_id]
            self.rows[(period, scope)] = (position, decode(bytes(data), len(position)))

    def _field(self, period: str, scope: Scope, kpi: KPI, name: str) -> float | None:
        found = self.rows.get((period, scope))
        if found is None:
            return None
        position, fields = found
        i = position.get(kpi.id)
        if i is None or name not in fields:
            return None
        return _number(fields[name][i])

    def row(self, kpi: KPI, scope: Scope) -> dict:
        """The §5 figures of one KPI and scope (all null and gray when nothing is stored)."""
        key = self.period.key
        actual = self._field(key, scope, kpi, "actual")
        goal = self._field(key, scope, kpi, "goal")
        red = self._field(key, scope, kpi, "red_flag") if goal is not None else None
        if goal is None and kpi.default_goal is not None:
            goal = float(kpi.default_goal)
            red = None if kpi.default_red_flag is None else float(kpi.default_red_flag)
        if goal is not None and red is None:
            red = scoring.default_red_flag(goal, kpi.direction, float(kpi.tolerance))
        if (key, scope) not in self.rows or (actual is None and goal is None):
            return _empty()
        compared = {}
        for name, period in self.compare.items():
            if (period, scope) in self.rows:
                compared[name] = self._field(period, scope, kpi, "actual")
            else:
                compared[name] = self._field(key, scope, kpi, name)
        score = scoring.score(actual, goal, red)
        projected = self._field(key, scope, kpi, "projected")
        pace_score = scoring.score(projected, goal, red) if projected is not None else None
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
        }


def _empty() -> dict:
    row: dict = dict.fromkeys(
        ("actual", "goal", "red_flag", "score", "coverage", "previous", "change_pct", "last_year", "yoy_pct",
         "projected", "pace_score")
    )  # fmt: skip
    row.update(status=scoring.GRAY, status_reason="no data", pace_status="")
    return row
