"""The stored row format: what is encoded is what is decoded, value for value."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kpis import store
from kpis.rollup.result import FIELDS, Batch

VALUES = [np.nan, 0.0, -0.0, 1.0, -2.5, 0.0001, 123456789.1234, 1e300, -1e-300, np.inf]


@st.composite
def batches(draw):
    """A batch of a few scopes and years with random cells, fields and values (up to 130 KPIs: bit sets of
    several words)."""
    kpis = draw(st.integers(1, 130))
    cells = sorted(
        draw(
            st.sets(
                st.tuples(st.integers(0, 4), st.integers(0, 2), st.integers(0, store.SLOTS - 1)), max_size=40
            )
        )
    )
    n = len(cells)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    fields = {"actual": (np.arange(n), rng.choice(VALUES, size=(n, kpis)))}
    for name in FIELDS[1:]:
        chosen = np.flatnonzero(rng.random(n) < draw(st.floats(0, 1)))
        if len(chosen):
            fields[name] = (chosen, rng.choice(VALUES, size=(len(chosen), kpis)))
    return Batch(
        kpi_ids=list(range(100, 100 + kpis)),
        territory_ids=np.array([11, 12, 13]),
        rep_ids=np.array([21, 22]),
        years=["2016", "2017", "2018"],
        scope=np.array([c[0] for c in cells], dtype=np.int64),
        year=np.array([c[1] for c in cells], dtype=np.int64),
        slot=np.array([c[2] for c in cells], dtype=np.int64),
        fields=fields,
    )


@settings(max_examples=60, deadline=None)
@given(batch=batches())
def test_decoding_a_row_gives_back_every_encoded_value(batch):
    rows = store.encode(batch, org_id=1, run_id=2)
    by_key = {(row[2], row[3], row[4]): row[5] for row in rows}
    cells = list(zip(batch.scope.tolist(), batch.year.tolist(), batch.slot.tolist(), strict=True))
    assert len(by_key) == len({(s, y) for s, y, _slot in cells})  # one row per (scope, year)
    K = len(batch.kpi_ids)

    def row(s: int, y: int) -> bytes:
        """The data of a scope's (3 territories, then 2 reps) row for a year."""
        key = (11 + s, None, batch.years[y]) if s < 3 else (None, 21 + s - 3, batch.years[y])
        return by_key[key]

    for i, (s, y, slot) in enumerate(cells):
        decoded = store.decode(row(s, y), slot, K)
        assert decoded is not None
        for name in FIELDS:
            field_cells, values = batch.fields.get(name, (np.zeros(0, dtype=np.int64), None))
            at = np.flatnonzero(field_cells == i)
            if not len(at):
                assert name not in decoded
                continue
            expected = values[at[0]]
            # Exactly the same numbers (a negative zero is stored as zero).
            assert np.array_equal(decoded[name], expected, equal_nan=True)
    for data in by_key.values():  # slots without a cell are empty
        assert len(store.slot_lengths(data)) == store.SLOTS
    for s, y in {(s, y) for s, y, _slot in cells}:
        empty = set(range(store.SLOTS)) - {slot for cs, cy, slot in cells if (cs, cy) == (s, y)}
        assert all(store.decode(row(s, y), slot, K) is None for slot in empty)


def test_rows_of_the_previous_version_still_read_and_unknown_versions_do_not():
    """Version 2 lacked only the ``pipeline`` field: its rows read the same until the recompute the
    migration requests rewrites them."""
    n = 2
    batch = Batch(
        kpi_ids=[100, 101],
        territory_ids=np.array([11]),
        rep_ids=np.array([], dtype=np.int64),
        years=["2017"],
        scope=np.zeros(n, dtype=np.int64),
        year=np.zeros(n, dtype=np.int64),
        slot=np.array([0, 16]),
        fields={"actual": (np.arange(n), np.array([[1.5, 0.0], [np.nan, 7.0]]))},
    )
    (row,) = store.encode(batch, org_id=1, run_id=2)
    data = row[5]
    assert data[0] == store.VERSION
    old = bytes([2]) + data[1:]
    assert np.array_equal(store.decode(old, 16, 2)["actual"], [np.nan, 7.0], equal_nan=True)
    with pytest.raises(ValueError, match="unknown rollup format 1"):
        store.decode(bytes([1]) + data[1:], 0, 2)
