"""Reads for the manual-entry and targets grids (``/manage/measurements/``, ``/manage/targets/``).

A grid is about one territory and period. Its scopes (the rows or columns) are the territory itself,
its child territories and the reps assigned to it during the period, as far as the membership sees
them (``scorecard.access``): a manager's grid never reaches outside the own subtree. Each read is a
fixed number of queries whatever the number of KPIs and scopes.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Q

from scorecard import access, locks, periods
from scorecard.models import Membership, PeriodLock
from territories.models import Rep, Territory

from . import bulkfill, units
from .models import KPI, Measurement, Source, Target
from .selectors import report_kpis
from .store import StoredRows

SELF, CHILD, REP = "self", "child", "rep"


@dataclass(frozen=True)
class Scope:
    """A row or column of a grid: the chosen territory, one of its children, or a rep in it."""

    obj: Territory | Rep
    role: str  # SELF | CHILD | REP

    @property
    def key(self) -> str:
        return f"{'r' if self.role == REP else 't'}{self.obj.pk}"

    @property
    def stored(self) -> tuple[str, int]:
        return ("r" if self.role == REP else "t", self.obj.pk)

    @property
    def name(self) -> str:
        return self.obj.name

    @property
    def territory(self) -> Territory | None:
        return self.obj if isinstance(self.obj, Territory) else None

    @property
    def rep(self) -> Rep | None:
        return self.obj if isinstance(self.obj, Rep) else None


def cell_key(kpi: KPI, scope: Scope) -> str:
    return f"{kpi.pk}-{scope.key}"


def grid_scopes(m: Membership, territory: Territory, period: periods.Period) -> list[Scope]:
    """The territory, its child territories, then the reps assigned to it during the period (by name)."""
    children = (
        access.visible_territories(m)
        .filter(path__startswith=territory.path, depth=territory.depth + 1)
        .order_by("name", "pk")
    )
    reps = (
        access.visible_reps(m)
        .filter(
            Q(assignments__end__isnull=True) | Q(assignments__end__gte=period.start),
            assignments__territory=territory,
            assignments__start__lte=period.end,
        )
        .distinct()
        .order_by("name", "pk")
    )
    return [
        Scope(territory, SELF),
        *(Scope(t, CHILD) for t in children),
        *(Scope(r, REP) for r in reps),
    ]


def period_lock(m: Membership, period: periods.Period) -> PeriodLock | None:
    return locks.lock_covering_period(m.org, period.key)


# --- manual entries ------------------------------------------------------------------------------


@dataclass
class EntryCell:
    key: str
    kpi: KPI
    scope: Scope
    measurement: Measurement | None
    text: str  # what the input shows: the stored value, or what was typed when it was refused
    errors: list[str] = field(default_factory=list)
    saved: bool = False


@dataclass
class EntryColumn:
    kpi: KPI
    allowed: str  # the range in words


@dataclass
class EntryGrid:
    territory: Territory
    period: periods.Period
    columns: list[EntryColumn]
    rows: list[tuple[Scope, list[EntryCell]]]
    lock: PeriodLock | None

    @property
    def cells(self) -> dict[str, EntryCell]:
        return {cell.key: cell for _scope, cells in self.rows for cell in cells}


def manual_kpis(m: Membership) -> list[KPI]:
    return list(
        KPI.objects.filter(org=m.org, active=True, source=Source.MANUAL)
        .select_related("objective__perspective")
        .order_by("objective__perspective__order", "objective__order", "order", "pk")
    )


def entry_grid(m: Membership, territory: Territory, period: periods.Period) -> EntryGrid:
    """Scopes × manual KPIs of a period with their current entries."""
    kpis = manual_kpis(m)
    scopes = grid_scopes(m, territory, period)
    entries = Measurement.objects.filter(org=m.org, period=period.key, kpi__in=kpis).filter(
        Q(territory__in=[s.obj for s in scopes if s.role != REP])
        | Q(rep__in=[s.obj for s in scopes if s.role == REP])
    )
    by_cell = {(e.kpi_id, "r" if e.rep_id else "t", e.rep_id or e.territory_id): e for e in entries}
    rows = []
    for scope in scopes:
        cells = []
        for kpi in kpis:
            entry = by_cell.get((kpi.pk, *scope.stored))
            text = units.plain(entry.value) if entry is not None else ""
            cells.append(EntryCell(cell_key(kpi, scope), kpi, scope, entry, text))
        rows.append((scope, cells))
    columns = [
        EntryColumn(kpi, units.describe(units.entry_range(kpi.unit, kpi.min_value, kpi.max_value)))
        for kpi in kpis
    ]
    return EntryGrid(territory, period, columns, rows, period_lock(m, period))


# --- targets ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """One step of a cell's history: who set what, when and why (``old_*`` None for the first)."""

    target: Target
    old_goal: Decimal | None
    old_red_flag: Decimal | None

    @property
    def who(self) -> str:
        user = self.target.set_by
        return (user.get_full_name() or user.get_username()) if user else "—"


@dataclass
class TargetCell:
    key: str
    kpi: KPI
    scope: Scope
    current: Target | None
    history: list[Change]  # newest first
    last_year: float | None
    goal: str
    red_flag: str
    reason: str = ""
    errors: list[str] = field(default_factory=list)
    saved: bool = False


@dataclass
class TargetGrid:
    territory: Territory
    period: periods.Period
    kpis: list[KPI]
    scopes: list[Scope]
    cells: dict[str, TargetCell]
    lock: PeriodLock | None

    def cell(self, kpi: KPI, scope: Scope) -> TargetCell:
        return self.cells[cell_key(kpi, scope)]


def target_grid(
    m: Membership, territory: Territory, period: periods.Period, kpi: KPI | None = None
) -> TargetGrid:
    """KPIs (all active, or one) × scopes of a period: the current targets, each cell's history and
    last year's stored actual (from the rollups, never recomputed)."""
    kpis = [kpi] if kpi is not None else report_kpis(m.org)
    scopes = grid_scopes(m, territory, period)
    rows = (
        Target.objects.filter(org=m.org, period=period.key, kpi__in=kpis)
        .filter(
            Q(territory__in=[s.obj for s in scopes if s.role != REP])
            | Q(rep__in=[s.obj for s in scopes if s.role == REP])
        )
        .select_related("set_by")
        .order_by("set_at", "pk")
    )
    chains: dict[tuple, list[Target]] = defaultdict(list)
    for target in rows:
        chains[(target.kpi_id, "r" if target.rep_id else "t", target.rep_id or target.territory_id)].append(
            target
        )
    last_years = last_year_actuals(m, period, kpis, scopes)
    cells: dict[str, TargetCell] = {}
    for k in kpis:
        for scope in scopes:
            chain = chains.get((k.pk, *scope.stored), [])
            current = next((t for t in reversed(chain) if t.superseded_at is None), None)
            history = [
                Change(t, chain[i - 1].goal if i else None, chain[i - 1].red_flag if i else None)
                for i, t in enumerate(chain)
            ][::-1]
            key = cell_key(k, scope)
            cells[key] = TargetCell(
                key=key,
                kpi=k,
                scope=scope,
                current=current,
                history=history,
                last_year=last_years.get(key),
                goal=units.plain(current.goal) if current else "",
                red_flag=units.plain(current.red_flag) if current and current.red_flag is not None else "",
            )
    return TargetGrid(territory, period, kpis, scopes, cells, period_lock(m, period))


def last_year_actuals(
    m: Membership, period: periods.Period, kpis: list[KPI], scopes: list[Scope]
) -> dict[str, float | None]:
    """Each cell's actual in the same period a year earlier, as stored (None where nothing is)."""
    key = period.last_year().key
    stored = StoredRows(m.org, key, [s.stored for s in scopes])
    return {cell_key(k, s): stored.row(k, s.stored)["actual"] for k in kpis for s in scopes}


# --- bulk fills ----------------------------------------------------------------------------------

COPY, SPLIT = "copy", "split"


@dataclass(frozen=True)
class PlannedGoal:
    scope: Scope
    last_year: float | None
    share: float | None  # split: the scope's share of the parent's goal
    current: Decimal | None
    goal: Decimal | None  # None: left as it is (copy: no last-year actual)


@dataclass
class FillPlan:
    kpi: KPI
    method: str
    pct: Decimal | None
    parent_goal: Decimal | None
    goals: list[PlannedGoal]

    @property
    def changing(self) -> list[PlannedGoal]:
        return [g for g in self.goals if g.goal is not None]


class FillError(ValueError):
    """A bulk fill that cannot be planned; the message says why."""


def fill_plan(grid: TargetGrid, kpi: KPI, method: str, pct: Decimal | None) -> FillPlan:
    """The goals a bulk fill would set (``kpis.bulkfill`` has the arithmetic and its rules).

    - ``copy``: every scope of the grid, last year's actual × (1 + pct / 100).
    - ``split``: the territory's current goal over its child territories, or, for a territory without
      children, over its reps (a rep's target does not add up into the territory's, so the two are
      never mixed), by last year's share.
    """
    digits = bulkfill.places(kpi.unit)
    if method == COPY:
        if pct is None:
            raise FillError("Enter the change on last year in per cent (e.g. 5 or -3).")
        goals = []
        for scope in grid.scopes:
            cell = grid.cell(kpi, scope)
            goal = bulkfill.scaled(cell.last_year, pct, digits)
            goals.append(PlannedGoal(scope, cell.last_year, None, _goal(cell), goal))
        if not any(g.goal is not None for g in goals):
            raise FillError(f"No scope here has a stored {kpi.name} for {grid.period.last_year().key}.")
        return FillPlan(kpi, method, pct, None, goals)
    if method != SPLIT:
        raise FillError("Choose how to fill.")
    parent = next(s for s in grid.scopes if s.role == SELF)
    parent_goal = _goal(grid.cell(kpi, parent))
    if parent_goal is None:
        raise FillError(
            f"{grid.territory.name} has no {kpi.name} target for {grid.period.key} to split: set it first."
        )
    children = [s for s in grid.scopes if s.role == CHILD] or [s for s in grid.scopes if s.role == REP]
    if not children:
        raise FillError(f"{grid.territory.name} has no child territories or reps to split its target over.")
    last = [grid.cell(kpi, s).last_year for s in children]
    split = bulkfill.split(parent_goal, last, digits)
    shares = bulkfill.shares(last)
    return FillPlan(
        kpi,
        method,
        None,
        parent_goal,
        [
            PlannedGoal(s, ly, float(share), _goal(grid.cell(kpi, s)), goal)
            for s, ly, share, goal in zip(children, last, shares, split, strict=True)
        ],
    )


def _goal(cell: TargetCell) -> Decimal | None:
    return cell.current.goal if cell.current is not None else None
