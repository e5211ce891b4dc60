"""The admin's data-quality panel: what makes the scorecard less exact than it could be, with counts and
the first few rows of each so they can be fixed. Each check reads a constant number of queries."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date

from django.db.models import Exists, OuterRef, Q

from sales.models import CLOSED_STAGES, Opportunity
from sales.selectors import unassigned_deals
from scorecard import periods
from scorecard.models import Organization
from territories.models import Rep, Territory, TerritoryAssignment

from .models import KPI, Measurement, Source

LISTED = 20  # rows listed per check (the counts are complete)
RECENT_PERIODS = 4  # closed periods checked for missing manual entries


@dataclass
class Missing:
    """A manual KPI's entries missing in one closed period: the scopes that reported it recently but not then."""

    kpi: KPI
    period: str
    scopes: list[str]


@dataclass
class Quality:
    unassigned: dict[str, int]
    reps_unassigned: list[Rep]
    reps_unassigned_count: int
    overdue: list[Opportunity]
    overdue_count: int
    missing: list[Missing] = field(default_factory=list)

    @property
    def issues(self) -> int:
        return (
            self.unassigned["total"]
            + self.reps_unassigned_count
            + self.overdue_count
            + sum(len(m.scopes) for m in self.missing)
        )


def _covering(day: date) -> Q:
    return Q(start__lte=day) & (Q(end__isnull=True) | Q(end__gte=day))


def reps_without_assignment(org: Organization, today: date):
    """Reps employed today (hired, not left) with no territory assignment covering today."""
    employed = (Q(hire_date__isnull=True) | Q(hire_date__lte=today)) & (
        Q(leave_date__isnull=True) | Q(leave_date__gte=today)
    )
    assigned = TerritoryAssignment.objects.filter(_covering(today), rep=OuterRef("pk"))
    return Rep.objects.filter(employed, org=org).exclude(Exists(assigned)).order_by("name")


def open_deals_past_close(org: Organization, today: date):
    """Open deals whose (expected) close date has passed."""
    return (
        Opportunity.objects.filter(org=org, close_date__lt=today)
        .exclude(stage__in=CLOSED_STAGES)
        .select_related("rep")
        .order_by("close_date", "external_id")
    )


def entry_kind(keys: list[str], fiscal_start_month: int) -> str | None:
    """The period kind a KPI is entered in: the most common kind among its stored keys."""
    kinds = Counter(periods.parse(k, fiscal_start_month).kind for k in keys)
    return kinds.most_common(1)[0][0] if kinds else None


def missing_measurements(org: Organization, today: date) -> list[Missing]:
    """For each manual KPI, in each of its last ``RECENT_PERIODS`` closed entry periods, the scopes that
    reported it in one of those periods but not in that one. Three queries whatever the sizes."""
    kpis = {k.pk: k for k in KPI.objects.filter(org=org, source=Source.MANUAL).order_by("order", "pk")}
    fiscal = org.fiscal_year_start_month
    reported: dict[int, dict[str, set[tuple[str, int]]]] = defaultdict(lambda: defaultdict(set))
    for kpi_id, key, territory_id, rep_id in Measurement.objects.filter(org=org, kpi_id__in=kpis).values_list(
        "kpi_id", "period", "territory_id", "rep_id"
    ):
        scope = ("territory", territory_id) if territory_id else ("rep", rep_id)
        reported[kpi_id][key].add(scope)
    wanted: list[tuple[KPI, periods.Period, set[tuple[str, int]]]] = []
    for kpi_id, by_period in reported.items():
        kind = entry_kind(list(by_period), fiscal)
        if kind is None:
            continue
        recent: list[periods.Period] = []
        current = periods.period_containing(today, kind, fiscal).previous()
        while len(recent) < RECENT_PERIODS:
            recent.append(current)
            current = current.previous()
        expected = set().union(*(by_period.get(p.key, set()) for p in recent))
        for period in recent:
            gap = expected - by_period.get(period.key, set())
            if gap:
                wanted.append((kpis[kpi_id], period, gap))
    scopes = _scopes(org, {scope for _, _, gap in wanted for scope in gap})
    missing = []
    for kpi, period, gap in wanted:
        # A rep is expected only in periods whose end they were employed at (hired by then, not yet gone).
        names = sorted(scopes[s].name for s in gap if scopes[s].employed(period))
        if names:
            missing.append(Missing(kpi, period.key, names))
    return missing


@dataclass(frozen=True)
class _Scope:
    name: str
    hired: date | None = None
    left: date | None = None

    def employed(self, period: periods.Period) -> bool:
        return (self.hired is None or self.hired <= period.end) and (
            self.left is None or self.left >= period.end
        )


def _scopes(org: Organization, keys: set[tuple[str, int]]) -> dict[tuple[str, int], _Scope]:
    territory_ids = [pk for kind, pk in keys if kind == "territory"]
    rep_ids = [pk for kind, pk in keys if kind == "rep"]
    found: dict[tuple[str, int], _Scope] = {}
    if territory_ids:
        for pk, name in Territory.objects.filter(org=org, pk__in=territory_ids).values_list(
            "pk", "full_name"
        ):
            found["territory", pk] = _Scope(name)
    if rep_ids:
        for pk, name, hired, left in Rep.objects.filter(org=org, pk__in=rep_ids).values_list(
            "pk", "name", "hire_date", "leave_date"
        ):
            found["rep", pk] = _Scope(name, hired, left)
    return found


def data_quality(org: Organization, today: date) -> Quality:
    reps = reps_without_assignment(org, today)
    overdue = open_deals_past_close(org, today)
    return Quality(
        unassigned=unassigned_deals(org=org, today=today),
        reps_unassigned=list(reps[:LISTED]),
        reps_unassigned_count=reps.count(),
        overdue=list(overdue[:LISTED]),
        overdue_count=overdue.count(),
        missing=missing_measurements(org, today),
    )
