"""Reads for a rep's scorecard beside the KPIs: quota attainment, certifications with their expiry and
the open pipeline.

Quota attainment comes from the stored rollups the scorecard already read (the figures ``kpi_report``
gives); certifications and open deals take one query each, whatever the rep's history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, Sum, Window

from people.models import Certification
from sales.models import Opportunity
from scorecard import periods as P
from scorecard.models import Organization
from territories.models import Rep

from . import trace
from .models import KPI, Source, Transform
from .selectors import Scorecard

# The open deals listed by value; the KPI detail page lists them all.
LARGEST_DEALS = 5
# A certification expiring within this many days is flagged for renewal.
EXPIRES_SOON_DAYS = 90


def _plain(kpi: KPI, metric: str) -> bool:
    """The KPI is the catalog metric itself: no filter, no comparison transform."""
    return (
        kpi.source == Source.METRIC
        and kpi.metric == metric
        and not kpi.metric_filter
        and kpi.transform == Transform.VALUE
    )


def kpi_of(card: Scorecard, metric: str) -> tuple[KPI, dict] | None:
    """The first active KPI on the scorecard that is the plain ``metric``, with its stored figures."""
    for group in card.perspectives:
        for o in group.objectives:
            for kpi, row in o.kpis:
                if _plain(kpi, metric):
                    return kpi, row
    return None


@dataclass(frozen=True)
class Quota:
    """Won revenue against the won-revenue goal (the quota) of a scope and period."""

    kpi: KPI
    won: float | None
    quota: float | None
    projected: float | None

    @property
    def attainment(self) -> float | None:
        """Won ÷ quota as a fraction; None without a quota (or a zero one)."""
        if self.won is None or not self.quota:
            return None
        return self.won / self.quota

    @property
    def projected_attainment(self) -> float | None:
        if self.projected is None or not self.quota:
            return None
        return self.projected / self.quota

    @property
    def remaining(self) -> float | None:
        """What is left to win (None once the quota is met, or without one)."""
        if self.quota is None:
            return None
        left = self.quota - (self.won or 0.0)
        return left if left > 0 else None


def quota(card: Scorecard) -> Quota | None:
    """The scope's quota attainment from its stored won revenue and goal (None without the KPI)."""
    found = kpi_of(card, "won_revenue")
    if found is None:
        return None
    kpi, row = found
    return Quota(kpi, row["actual"], row["goal"], row["projected"])


@dataclass(frozen=True)
class CertificationLine:
    certification: Certification
    status: str  # "expires in 23 days", "does not expire", "expired", "expired, renewed"
    tone: str  # valid | soon | expired | renewed


def _expiry(c: Certification, today: date, renewed: bool) -> tuple[str, str]:
    if c.expires is None:
        return "does not expire", "valid"
    days = (c.expires - today).days
    if days < 0:
        return ("expired, renewed", "renewed") if renewed else ("expired", "expired")
    when = "today" if days == 0 else "tomorrow" if days == 1 else f"in {days} days"
    return f"expires {when}", "soon" if days <= EXPIRES_SOON_DAYS else "valid"


def certifications(rep: Rep, *, today: date) -> list[CertificationLine]:
    """The rep's certifications as of ``today``: valid ones soonest to expire first, then those that do
    not expire, then the expired ones, most recently expired first — those renewed since (the rep
    earned the same certification again later) last."""
    certs = list(Certification.objects.filter(rep=rep).select_related("type"))
    latest: dict[int, date] = {}
    for c in certs:
        latest[c.type_id] = max(latest.get(c.type_id, c.earned), c.earned)
    lines = [CertificationLine(c, *_expiry(c, today, renewed=latest[c.type_id] > c.earned)) for c in certs]
    rank = {"soon": 0, "valid": 0, "expired": 2, "renewed": 3}

    def order(line: CertificationLine) -> tuple:
        c = line.certification
        if c.expires is None:
            return (1, 0, c.type.name)
        days = c.expires.toordinal()
        return (rank[line.tone], days if rank[line.tone] == 0 else -days, c.type.name)

    return sorted(lines, key=order)


@dataclass(frozen=True)
class OpenDeal:
    deal: Opportunity
    value: Decimal | None  # its amount, else its products' list prices (``trace.with_value``)


@dataclass(frozen=True)
class Pipeline:
    """The deals open at the period's end (or on ``as_of`` in the live period) credited to a scope."""

    count: int
    value: Decimal
    largest: list[OpenDeal]
    as_of: date  # the snapshot day


def open_pipeline(
    org: Organization, scope: Rep, period: P.Period, *, today: date, largest: int = LARGEST_DEALS
) -> Pipeline:
    """Count and value of the scope's open deals and the largest of them, in one query (the totals are
    window aggregates over every open deal, read beside the first rows)."""
    deals = (
        trace.open_deals(org, scope, period, today=today)
        .select_related("account")
        .annotate(deals_open=Window(Count("pk")), value_open=Window(Sum("value")))
        .order_by(F("value").desc(nulls_last=True), "external_id", "pk")
    )
    rows: list[Any] = list(deals[:largest])  # annotated with value, deals_open and value_open
    count = rows[0].deals_open if rows else 0
    value = Decimal(rows[0].value_open or 0) if rows else Decimal(0)
    largest_deals = [OpenDeal(row, row.value) for row in rows]
    return Pipeline(count, value, largest_deals, trace.snapshot_day(period, today))
