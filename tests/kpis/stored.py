"""Reading stored rollups back for tests: every stored figure of an organisation (to compare two
recomputes), one stored actual."""

from __future__ import annotations

from kpis.models import KPI, ScopeRollup
from kpis.selectors import report_kpis
from kpis.store import NUMBER_FIELDS, StoredRows, year_periods
from scorecard.models import Organization
from territories.models import Rep, Territory


def stored_figures(org: Organization) -> list[tuple]:
    """Every stored (period, scope, KPI) with its §5 figures, sorted: for comparing two recomputes."""
    kpis = report_kpis(org)
    scopes = [
        ("t", pk) for pk in Territory.objects.filter(org=org).order_by("pk").values_list("pk", flat=True)
    ]
    scopes += [("r", pk) for pk in Rep.objects.filter(org=org).order_by("pk").values_list("pk", flat=True)]
    out = []
    years = sorted(set(ScopeRollup.objects.filter(org=org).values_list("year", flat=True)))
    for period in sorted(key for year in years for key in year_periods(org, year)):
        stored = StoredRows(org, period, scopes)
        for scope in scopes:
            if not stored.has(period, scope):
                continue
            for kpi in kpis:
                figures = stored.row(kpi, scope)
                out.append(
                    (
                        period,
                        scope,
                        kpi.slug,
                        *(figures[name] for name in NUMBER_FIELDS),
                        figures["status"],
                        figures["projection_method"],
                    )
                )
    return out


def stored_actual(org: Organization, kpi_slug: str, period_key: str, territory_path: str) -> float | None:
    """The stored actual of one KPI for a territory (None when nothing is stored)."""
    territory = Territory.objects.get(org=org, full_name=territory_path)
    kpi = KPI.objects.get(org=org, slug=kpi_slug)
    stored = StoredRows(org, org.parse_period(period_key).key, [("t", territory.pk)])
    return stored.row(kpi, ("t", territory.pk))["actual"]
