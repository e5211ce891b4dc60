"""The two implementations of every KPI behind one small interface, so that each hand-worked case runs
against both: the row-at-a-time reference engine, and the stored rollups (the column-wise batch
recompute, read back from the store the reports read).

Each implementation is reached through the imports below, and nowhere else in the hand-worked cases:
when one moves, repoint its line here.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date

from kpis.models import KPI
from kpis.services import rollups_recompute
from kpis.store import StoredRows
from scorecard import periods as P
from scorecard.models import Organization
from territories.models import Rep, Territory
from tests.kpis.reference import Engine as ReferenceEngine

# Later than every case's data, so no period is live unless a case passes its own ``today``.
TODAY = date(2030, 1, 1)

Scope = tuple[str, int]  # ("t", territory id) or ("r", rep id)


@dataclass(frozen=True)
class Figures:
    """One KPI's figures for a scope and period, whichever implementation produced them."""

    actual: float | None
    goal: float | None
    red_flag: float | None
    score: float | None
    status: str
    status_reason: str
    coverage: float | None
    previous: float | None
    change_pct: float | None
    last_year: float | None
    yoy_pct: float | None
    projected: float | None
    projection_method: str | None


FIELDS = tuple(f.name for f in fields(Figures))


class Implementation:
    """An organisation's figures as of ``today``. KPIs by object or slug; scopes as ("t", id) / ("r", id),
    a territory's full path or a Rep; periods by key or ``Period``."""

    name: str

    def __init__(self, org: Organization, today: date = TODAY) -> None:
        self.org = org
        self.today = today

    def value(self, kpi: KPI | str, scope, period: P.Period | str) -> float | None:
        return self.row(kpi, scope, period).actual

    def row(self, kpi: KPI | str, scope, period: P.Period | str) -> Figures:
        raise NotImplementedError

    def has_row(self, scope, period: P.Period | str) -> bool:
        """Whether the scope has a scorecard in the period."""
        raise NotImplementedError

    def _kpi(self, kpi: KPI | str) -> KPI:
        return kpi if isinstance(kpi, KPI) else KPI.objects.get(org=self.org, slug=kpi)

    def _scope(self, scope) -> Scope:
        if isinstance(scope, str):
            return ("t", Territory.objects.get(org=self.org, full_name=scope).pk)
        if isinstance(scope, Rep):
            return ("r", scope.pk)
        if isinstance(scope, Territory):
            return ("t", scope.pk)
        return scope

    def _period(self, period: P.Period | str) -> P.Period:
        return self.org.parse_period(period) if isinstance(period, str) else period


class Reference(Implementation):
    name = "reference"

    def __init__(self, org: Organization, today: date = TODAY) -> None:
        super().__init__(org, today)
        self.engine = ReferenceEngine(org, today=today)

    def value(self, kpi, scope, period) -> float | None:
        return self.engine.value(self._kpi(kpi), self._scope(scope), self._period(period)).actual

    def row(self, kpi, scope, period) -> Figures:
        row = self.engine.row(self._kpi(kpi), self._scope(scope), self._period(period))
        return Figures(**{name: getattr(row, name) for name in FIELDS})

    def has_row(self, scope, period) -> bool:
        return any(True for _row in self.engine.rows([self._period(period)], [self._scope(scope)]))


class Stored(Implementation):
    """A full recompute on creation; figures are then read back as the reports read them."""

    name = "stored"

    def __init__(self, org: Organization, today: date = TODAY) -> None:
        super().__init__(org, today)
        rollups_recompute(org=org, today=today)
        self._scopes = [("t", pk) for pk in Territory.objects.filter(org=org).values_list("pk", flat=True)]
        self._scopes += [("r", pk) for pk in Rep.objects.filter(org=org).values_list("pk", flat=True)]
        self._stored: dict[str, StoredRows] = {}

    def _rows(self, period: P.Period) -> StoredRows:
        if period.key not in self._stored:
            self._stored[period.key] = StoredRows(self.org, period.key, self._scopes)
        return self._stored[period.key]

    def row(self, kpi, scope, period) -> Figures:
        period = self._period(period)
        row = self._rows(period).row(self._kpi(kpi), self._scope(scope))
        return Figures(**{name: row[name] for name in FIELDS})

    def has_row(self, scope, period) -> bool:
        period = self._period(period)
        return self._rows(period).has(period.key, self._scope(scope))


IMPLEMENTATIONS: dict[str, type[Implementation]] = {"reference": Reference, "stored": Stored}
