"""Reads for KPIs: report rows in the stable row shape of DESIGN §5."""

from __future__ import annotations

from django.core.exceptions import ObjectDoesNotExist

from scorecard.models import Organization
from territories.models import Rep, Territory

from .models import KPI, ScopeRollup
from .store import StoredRows, row_of

# The row of DESIGN §5: what and where, then the figures (a stable interface: order matters).
REPORT_FIELDS = [
    *("org", "period", "territory", "rep", "kpi", "perspective", "objective", "unit", "actual", "goal"),
    *("red_flag", "score", "status", "coverage", "previous", "change_pct", "last_year", "yoy_pct"),
    "projected",
]


class ReportError(ValueError):
    """A report argument that names nothing in the organisation."""


def report_scopes(
    org: Organization,
    *,
    territory_path: str | None = None,
    rep_name: str | None = None,
    all_reps: bool = False,
) -> list[Territory | Rep]:
    if territory_path:
        try:
            return [Territory.objects.get(org=org, full_name=territory_path.strip().strip("/"))]
        except ObjectDoesNotExist:
            raise ReportError(f"unknown territory {territory_path!r} in {org.slug}") from None
    if rep_name:
        try:
            return [Rep.objects.get(org=org, name=rep_name.strip())]
        except ObjectDoesNotExist:
            raise ReportError(f"unknown rep {rep_name!r} in {org.slug}") from None
    if all_reps:
        return list(Rep.objects.filter(org=org).order_by("name"))
    return list(Territory.objects.filter(org=org).order_by("path"))


def report_kpis(org: Organization, kpi_slug: str | None = None) -> list[KPI]:
    kpis = KPI.objects.filter(org=org, active=True).select_related("objective__perspective")
    if kpi_slug:
        kpis = kpis.filter(slug=kpi_slug)
        if not kpis:
            raise ReportError(f"unknown KPI {kpi_slug!r} in {org.slug}")
    return list(kpis.order_by("objective__perspective__order", "objective__order", "order"))


def report_rows(
    org: Organization, period_key: str, scopes: list[Territory | Rep], kpis: list[KPI]
) -> list[dict]:
    """One row per KPI and scope from the stored rollups; a KPI with nothing stored is all nulls."""
    is_rep = bool(scopes) and isinstance(scopes[0], Rep)
    kind = "r" if is_rep else "t"
    stored = StoredRows(org, period_key, [(kind, s.pk) for s in scopes])
    rows = []
    for scope in scopes:
        for kpi in kpis:
            figures = stored.row(kpi, (kind, scope.pk))
            row = {
                "org": org.slug,
                "period": period_key,
                "territory": scope.full_name if isinstance(scope, Territory) else None,
                "rep": scope.name if is_rep else None,
                "kpi": kpi.slug,
                "perspective": kpi.objective.perspective.name,
                "objective": kpi.objective.name,
                "unit": kpi.unit,
                **figures,
            }
            rows.append({name: row[name] for name in REPORT_FIELDS})
    return rows


def has_rollups(org: Organization, period_key: str) -> bool:
    """Whether rollups of the period's fiscal year are stored."""
    year, _slot = row_of(org, period_key)
    return ScopeRollup.objects.filter(org=org, year=year).exists()
