"""What needs a rep's attention, for their home page: certifications about to expire, open deals gone
quiet or past their close date, manual entries due before their period closes.

It composes the sales and people selectors with the manual KPIs, so it lives here, above them. The
page shows it with ``{% include "sales/attention.html" %}`` and ``attention`` in the context.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from people.models import Certification
from people.selectors import certifications_expiring
from sales.models import Opportunity
from sales.selectors import deals_needing_attention
from scorecard import periods
from scorecard.models import Membership
from territories.models import Rep

from .models import KPI, Measurement, Source
from .quality import entry_kind

ENTRY_DUE_WITHIN_DAYS = 30  # a manual entry shows once its period closes within this many days


@dataclass
class DueEntry:
    """A manual KPI entered for the rep in earlier periods and not yet for the one closing on ``due``."""

    kpi: KPI
    period: str
    due: date


@dataclass
class Attention:
    rep: Rep
    certifications: list[Certification] = field(default_factory=list)
    deals: list[Opportunity] = field(default_factory=list)
    entries: list[DueEntry] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.certifications) + len(self.deals) + len(self.entries)


def manual_entries_due(rep: Rep, today: date, fiscal_start_month: int | None = None) -> list[DueEntry]:
    """The active manual KPIs entered for this rep before (in the period kind they are entered in) that have no
    entry yet for the current period of that kind, when it closes within ``ENTRY_DUE_WITHIN_DAYS``
    (two queries)."""
    fiscal = fiscal_start_month or rep.org.fiscal_year_start_month
    keys: dict[int, set[str]] = {}
    for kpi_id, key in Measurement.objects.filter(
        org_id=rep.org_id, rep=rep, kpi__source=Source.MANUAL, kpi__active=True
    ).values_list("kpi_id", "period"):
        keys.setdefault(kpi_id, set()).add(key)
    due: dict[int, periods.Period] = {}
    for kpi_id, entered in keys.items():
        kind = entry_kind(sorted(entered), fiscal)
        if kind is None:
            continue
        current = periods.period_containing(today, kind, fiscal)
        if current.key not in entered and current.end <= today + timedelta(days=ENTRY_DUE_WITHIN_DAYS):
            due[kpi_id] = current
    if not due:
        return []
    kpis = KPI.objects.filter(org_id=rep.org_id, pk__in=due).order_by("order", "pk")
    return [DueEntry(kpi=kpi, period=due[kpi.pk].key, due=due[kpi.pk].end) for kpi in kpis]


def rep_attention(
    m: Membership, rep: Rep, today: date, certifications: list[Certification] | None = None
) -> Attention:
    """Everything on the rep's "needs attention" list, read as ``m`` may see it (a handful of queries;
    ``certifications``: the rep's, when the page has read them already)."""
    return Attention(
        rep=rep,
        certifications=certifications_expiring(m, rep, today, held=certifications),
        deals=deals_needing_attention(m, rep, today),
        entries=manual_entries_due(rep, today, m.org.fiscal_year_start_month),
    )
