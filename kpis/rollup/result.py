"""The computed rollups laid out for storing: the stored (scope, period) cells in row order, and for each
field the cells it travels with and one value per KPI there (``kpis.store`` encodes them)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from kpis.models import KPI, Source

from .arrays import NAN
from .grid import Grid, Scopes

# ``pipeline``: 1 where the projection is actual + open pipeline × trailing win rate, null where it is the
# run rate (kpis.rollup.targets.projection).
FIELDS = ("actual", "previous", "last_year", "goal", "red_flag", "coverage", "projected", "pipeline")
Array = np.ndarray


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
    # Only these scopes' cells (indices), when no other scope's figures can have changed; None: every scope.
    only_scopes: np.ndarray | None = None
    every_scope_cells: int | None = None  # how many cells every scope has in these periods (None: ``cells``)

    @property
    def cells(self) -> int:
        return len(self.scope)

    @property
    def stored_cells(self) -> int:
        """How many (scope, period) cells the periods hold over every scope, restricted or not."""
        return self.cells if self.every_scope_cells is None else self.every_scope_cells

    def covered(self) -> set[tuple[int | None, int | None]] | None:
        """The (territory id, rep id) scopes whose rows the batch holds (None: every scope)."""
        if self.only_scopes is None:
            return None
        n = len(self.territory_ids)
        return {
            (int(self.territory_ids[s]), None) if s < n else (None, int(self.rep_ids[s - n]))
            for s in self.only_scopes.tolist()
        }


@dataclass
class KpiFigures:
    kpi: KPI
    value: Array
    coverage: Array
    goal: Array
    red_flag: Array
    has_goal: Array  # explicit, summed from children or the KPI default
    projected: Array | None
    by_pipeline: Array | None  # where the projection is pipeline-weighted (else the run rate)


def assemble(
    figures: list[KpiFigures],
    grid: Grid,
    scopes: Scopes,
    storable_keys: list[str],
    wanted_keys: list[str] | None,
    only_scopes: np.ndarray | None = None,
) -> Batch:
    """Every KPI for every scope in the stored periods (``storable_keys``: periods with data; of those,
    ``wanted_keys`` when given), cell by cell in stored-row order (scope, fiscal year, slot);
    ``only_scopes``: those scopes' cells only."""
    wanted = None if wanted_keys is None else set(wanted_keys)
    cols = np.array([grid.index[k] for k in storable_keys if wanted is None or k in wanted], dtype=np.int64)
    stored = _stored_cells(figures, grid, scopes, storable_keys)
    s_idx, c_idx = np.nonzero(stored[:, cols])
    c_idx = cols[c_idx]
    every_scope_cells = len(s_idx)
    if only_scopes is not None:
        inside = np.isin(s_idx, only_scopes)
        s_idx, c_idx = s_idx[inside], c_idx[inside]
    order = np.lexsort((grid.col_slot[c_idx], grid.col_year[c_idx], s_idx))
    s_idx, c_idx = s_idx[order], c_idx[order]
    return Batch(
        kpi_ids=[f.kpi.id for f in figures],
        territory_ids=scopes.tree.ids,
        rep_ids=scopes.rep_ids,
        years=[p.key for p in grid.years],
        scope=s_idx,
        year=grid.col_year[c_idx],
        slot=grid.col_slot[c_idx],
        fields=_fields(figures, grid, stored, s_idx, c_idx),
        only_scopes=only_scopes,
        every_scope_cells=every_scope_cells,
    )


def _stored_cells(figures: list[KpiFigures], grid: Grid, scopes: Scopes, storable_keys: list[str]) -> Array:
    """A cell is stored where some KPI has an actual or a goal (reps only while employed). Worked out over
    the whole grid, not just the requested periods, because previous / last year travel with a row only
    when the row they come from is not stored: a recompute of some periods then writes exactly the bytes
    a full recompute writes."""
    storable = np.zeros(grid.size, dtype=bool)
    storable[[grid.index[k] for k in storable_keys if k in grid.index]] = True
    employed = np.ones((scopes.size, grid.size), dtype=bool)
    employed[scopes.territories :] = scopes.employed(
        np.arange(scopes.reps)[:, None], grid.start[None, :], grid.end[None, :]
    )
    any_value = np.zeros((scopes.size, grid.size), dtype=bool)
    for f in figures:
        any_value |= ~np.isnan(f.value) | f.has_goal
    return any_value & employed & storable


def _fields(
    figures: list[KpiFigures], grid: Grid, stored: Array, s_idx: Array, c_idx: Array
) -> dict[str, tuple[Array, Array]]:
    n, n_kpis = len(s_idx), len(figures)

    def compared_cells(shift: Array) -> tuple[Array, Array]:
        """Cells whose compared cell is not stored, and the compared column (-1: outside the grid)."""
        to = shift[c_idx]
        need = np.flatnonzero(~np.where(to >= 0, stored[s_idx, np.maximum(to, 0)], False))
        return need, to[need]

    compared = {"previous": compared_cells(grid.previous), "last_year": compared_cells(grid.last_year)}
    actual = np.empty((n, n_kpis))
    # Fields most cells leave out: per KPI, its values at the field's cells where any is not null.
    sparse: dict[str, dict[int, Array]] = defaultdict(dict)
    put = _collector(sparse)
    for k, f in enumerate(figures):
        actual[:, k] = f.value[s_idx, c_idx]
        for name, (cells, to) in compared.items():
            if len(cells):
                put(name, k, np.where(to >= 0, f.value[s_idx[cells], np.maximum(to, 0)], NAN))
        put("goal", k, f.goal[s_idx, c_idx])
        put("red_flag", k, f.red_flag[s_idx, c_idx])
        if f.kpi.source == Source.MANUAL:
            put("coverage", k, f.coverage[s_idx, c_idx])
        if f.projected is not None:
            put("projected", k, f.projected[s_idx, c_idx])
        if f.by_pipeline is not None:
            put("pipeline", k, np.where(f.by_pipeline[s_idx, c_idx], 1.0, NAN))
    fields = {"actual": (np.arange(n), actual)}
    sparse_cells = {name: cells for name, (cells, _to) in compared.items()}
    for name, by_kpi in sparse.items():
        # A field travels with the cells where some KPI has a value.
        present = np.logical_or.reduce([~np.isnan(v) for v in by_kpi.values()])
        values = np.full((int(present.sum()), n_kpis), NAN)
        for k, v in by_kpi.items():
            values[:, k] = v[present]
        fields[name] = (sparse_cells.get(name, np.arange(n))[present], values)
    return fields


def _collector(sparse: dict[str, dict[int, Array]]) -> Callable[[str, int, Array], None]:
    def put(name: str, k: int, values: Array) -> None:
        if not np.isnan(values).all():
            sparse[name][k] = values

    return put
