"""Reads for the manual-entry grid (``/manage/measurements/``).

A grid is about one territory and period. Its scopes (the rows or columns) are the territory itself,
its child territories and the reps assigned to it during the period, as far as the membership sees
them (``scorecard.access``): a manager's grid never reaches outside the own subtree. Each read is a
fixed number of queries whatever the number of KPIs and scopes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Q

from scorecard import access, locks, periods
from scorecard.models import Membership, PeriodLock
from territories.models import Rep, Territory

from . import units
from .models import KPI, Measurement, Source

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
