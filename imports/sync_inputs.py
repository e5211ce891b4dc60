"""Writes of manual measurements and targets through the KPI services (validated records).

Only rows that differ from what is stored go through ``kpis.services.measurement_set`` /
``target_set``, so a re-import changes nothing (no new target in the history, no new "entered by").
A row that would change a period covered by a lock is an error at its row, naming the lock; as with
opportunities, an unchanged row in a locked period is fine. Call inside one transaction: on an error
``ImportFailed`` is raised after every row was checked, and the caller's transaction rolls back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from kpis.models import KPI, Measurement, Target
from kpis.services import measurement_set, target_set
from scorecard import locks
from scorecard.models import Organization, PeriodLock
from territories.models import Rep, Territory

from .errors import ErrorList
from .sync import Counts


@dataclass(frozen=True, slots=True)
class Scope:
    kpi: str  # slug
    territory: str | None  # full path
    rep: str | None  # name
    period: str


@dataclass(frozen=True, slots=True)
class MeasurementRecord:
    row: int
    value: Decimal
    note: str


@dataclass(frozen=True, slots=True)
class TargetRecord:
    row: int
    goal: Decimal
    red_flag: Decimal | None
    reason: str


class _Scopes:
    """The organisation's KPIs, territories and reps by key, and the lock covering a period."""

    def __init__(self, org: Organization) -> None:
        self.kpis = {k.slug: k for k in KPI.objects.filter(org=org).select_related("org")}
        self.territories = {t.full_name: t for t in Territory.objects.filter(org=org)}
        self.reps = {r.name: r for r in Rep.objects.filter(org=org)}
        self.org = org
        self._locks: dict[str, PeriodLock | None] = {}

    def ids(self, scope: Scope) -> tuple[int, int | None, int | None, str]:
        territory = self.territories[scope.territory].pk if scope.territory else None
        rep = self.reps[scope.rep].pk if scope.rep else None
        return self.kpis[scope.kpi].pk, territory, rep, scope.period

    def objects(self, scope: Scope) -> dict[str, Any]:
        return {
            "kpi": self.kpis[scope.kpi],
            "period": scope.period,
            "territory": self.territories[scope.territory] if scope.territory else None,
            "rep": self.reps[scope.rep] if scope.rep else None,
        }

    def locked(self, period: str) -> PeriodLock | None:
        if period not in self._locks:
            self._locks[period] = locks.lock_covering_period(self.org, period)
        return self._locks[period]


def _write(
    org: Organization,
    records: dict[Scope, Any],
    stored: dict[tuple, Any],
    same: Callable[[Any, Any], bool],
    save: Callable[[_Scopes, Scope, Any, Any], None],
    what: str,
    dry_run: bool,
) -> Counts:
    scopes = _Scopes(org)
    counts = Counts()
    errors = ErrorList()
    for scope, record in records.items():
        old = stored.get(scopes.ids(scope))
        if old is not None and same(old, record):
            counts.unchanged += 1
            continue
        lock = scopes.locked(scope.period)
        if lock is not None:
            errors.add(locks.lock_message(lock, what), row=record.row, column="period")
            continue
        if not dry_run:
            save(scopes, scope, record, old)
        if old is None:
            counts.created += 1
        else:
            counts.updated += 1
    errors.raise_if_any()
    return counts


def measurements_write(
    *, org: Organization, records: dict[Scope, MeasurementRecord], user: Any = None, dry_run: bool = False
) -> Counts:
    """Creates or changes manual measurements by KPI, scope and period (a stored weight is kept).

    ``dry_run`` counts and checks the locks without writing (the services' one write per row would
    make the wizard's check as slow as the import itself)."""
    stored = {(m.kpi_id, m.territory_id, m.rep_id, m.period): m for m in Measurement.objects.filter(org=org)}

    def save(scopes: _Scopes, scope: Scope, record: MeasurementRecord, old: Measurement | None) -> None:
        measurement_set(
            **scopes.objects(scope),
            value=record.value,
            note=record.note,
            weight=old.weight if old else None,
            entered_by=user,
        )

    return _write(
        org,
        records,
        stored,
        lambda old, new: old.value == new.value and old.note == new.note,
        save,
        "its measurements cannot change",
        dry_run,
    )


def targets_write(
    *, org: Organization, records: dict[Scope, TargetRecord], user: Any = None, dry_run: bool = False
) -> Counts:
    """Sets targets whose goal or red flag differ from the current ones; the old target stays in the
    history, superseded. A reason alone changes nothing: it explains a new value. ``dry_run``: as
    for measurements."""
    stored = {
        (t.kpi_id, t.territory_id, t.rep_id, t.period): t
        for t in Target.objects.filter(org=org, superseded_at__isnull=True)
    }

    def save(scopes: _Scopes, scope: Scope, record: TargetRecord, old: Target | None) -> None:
        target_set(
            **scopes.objects(scope),
            goal=record.goal,
            red_flag=record.red_flag,
            reason=record.reason,
            set_by=user,
        )

    return _write(
        org,
        records,
        stored,
        lambda old, new: old.goal == new.goal and old.red_flag == new.red_flag,
        save,
        "its targets cannot change",
        dry_run,
    )
