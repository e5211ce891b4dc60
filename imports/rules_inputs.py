"""Row validation for manual measurements and targets (DESIGN §5): a KPI, one scope (a territory by
its full path, or a rep), a period of the organisation's calendar and the figures.

Locks are checked when writing (``sync_inputs``), where it is known whether a row changes anything.
"""

from __future__ import annotations

from kpis import units
from kpis.models import KPI, Source
from scorecard import periods
from scorecard.models import Organization
from territories.models import Territory

from .errors import ErrorList
from .readers import Row
from .rules import RepNames, RowCheck
from .sync_inputs import MeasurementRecord, Scope, TargetRecord

PLACES, DIGITS = 6, 14  # the figures' fields: 20 digits, 6 decimal places


class _ScopedRows:
    """Checks the ``kpi, territory, rep, period`` columns every row of these files has; a scope and
    period given twice is an error."""

    what = "row"

    def __init__(self, org: Organization, reps: RepNames) -> None:
        self.org = org
        self.reps = reps
        self.kpis = {k.slug: k for k in KPI.objects.filter(org=org)}
        self.territories = set(Territory.objects.filter(org=org).values_list("full_name", flat=True))
        self.first_row: dict[Scope, int] = {}

    def kpi_check(self, check: RowCheck, kpi: KPI) -> None:
        """Adds an error when the row may not name this KPI."""

    def scope(self, check: RowCheck) -> Scope | None:
        """The row's KPI, scope and period, or None after adding their errors."""
        before = check.errors.total
        slug = check.row.text("kpi")
        kpi = self.kpis.get(slug)
        if not slug:
            check.add("the KPI (its slug) is required", "kpi")
        elif kpi is None:
            check.add(f"unknown KPI {slug!r} (give the KPI's slug, as on the Definitions page)", "kpi")
        else:
            self.kpi_check(check, kpi)
        territory = check.row.text("territory") or None
        rep = self.reps.check(check, "rep")
        if territory and rep:
            check.add("give a territory or a rep, not both", "rep")
        elif not territory and not rep:
            check.add("a territory (its full path from the root) or a rep is required", "territory")
        elif territory and territory not in self.territories:
            check.add(f"unknown territory {territory!r} (give the full path from the root)", "territory")
        key = check.row.text("period")
        if not key:
            check.add("the period is required", "period")
        else:
            try:
                key = self.org.parse_period(key).key
            except periods.PeriodError as exc:
                check.add(str(exc), "period")
        if check.errors.total > before:
            return None
        return Scope(kpi=slug, territory=territory, rep=rep, period=key)

    def first(self, check: RowCheck, scope: Scope) -> bool:
        seen = self.first_row.setdefault(scope, check.row.number)
        if seen != check.row.number:
            where = scope.territory or scope.rep
            check.add(
                f"duplicate {self.what} of {scope.kpi} for {where} in {scope.period} (first on row {seen})",
                "period",
            )
            return False
        return True


class MeasurementRows(_ScopedRows):
    """``kpi, territory, rep, period, value, note``: a manual KPI's value for a scope and period."""

    what = "measurement"

    def __init__(self, org: Organization, reps: RepNames) -> None:
        super().__init__(org, reps)
        self.records: dict[Scope, MeasurementRecord] = {}

    def kpi_check(self, check: RowCheck, kpi: KPI) -> None:
        if kpi.source != Source.MANUAL:
            check.add(f"{kpi.slug} is not a manual KPI: its values are computed, not entered", "kpi")

    def add(self, row: Row, errors: ErrorList) -> None:
        before = errors.total
        check = RowCheck(row, errors)
        if row.overflow:
            check.add("more values than columns (an unquoted comma?)")
        scope = self.scope(check)
        value, _ = check.parsed_decimal(
            "value", places=PLACES, limit_digits=DIGITS, required=True, what="the value"
        )
        note = check.name("note", field="note", what="the note", required=False)
        if scope is not None and value is not None:  # within the KPI's range, as the grid checks it
            kpi = self.kpis[scope.kpi]
            try:
                units.check_range(value, units.entry_range(kpi.unit, kpi.min_value, kpi.max_value), kpi.name)
            except units.EntryError as exc:
                check.add(str(exc), "value")
        if errors.total > before or scope is None or value is None or not self.first(check, scope):
            return
        self.records[scope] = MeasurementRecord(row=row.number, value=value, note=note)


class TargetRows(_ScopedRows):
    """``kpi, territory, rep, period, goal, red_flag, reason``: a KPI's goal for a scope and period."""

    what = "target"

    def __init__(self, org: Organization, reps: RepNames) -> None:
        super().__init__(org, reps)
        self.records: dict[Scope, TargetRecord] = {}

    def add(self, row: Row, errors: ErrorList) -> None:
        before = errors.total
        check = RowCheck(row, errors)
        if row.overflow:
            check.add("more values than columns (an unquoted comma?)")
        scope = self.scope(check)
        goal, _ = check.parsed_decimal(
            "goal", places=PLACES, limit_digits=DIGITS, required=True, what="the goal"
        )
        red_flag, _ = check.parsed_decimal("red_flag", places=PLACES, limit_digits=DIGITS)
        reason = check.name("reason", field="note", what="the reason", required=False)
        if errors.total > before or scope is None or goal is None or not self.first(check, scope):
            return
        self.records[scope] = TargetRecord(row=row.number, goal=goal, red_flag=red_flag, reason=reason)
