"""What one scope's figure of a KPI in a period is made of: the deals, certifications, programme
participations or manual measurements underneath it ("why this colour", down to the rows).

Each function returns a queryset built with the rollups' attribution rules (DESIGN §4,
``kpis.rollup.attribute`` and ``tally``), so the rows add up to the stored figure:

- a won or lost deal counts in the period of its close date, credited to the territory its rep
  belonged to on that day;
- a deal counts as opened in the period of its engage date (else its created date), credited on that day;
- a deal is open at a period's end when it was opened by the snapshot day (the period's end, or today
  in the live period) and not won or lost by the period's end; it is credited on the snapshot day;
- a deal whose rep has no assignment that day (or that has no rep) falls back to its own territory
  (house deals), else to the root, so the root always equals the organisation's total.

A rep's scope holds every deal of the rep, wherever the rep sat.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import DecimalField, Exists, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from people.models import Certification, ProgramParticipation
from sales.models import CLOSED_STAGES, Opportunity, Poc, Product, Stage
from scorecard import periods as P
from scorecard.models import Organization
from territories.models import Rep, Territory, TerritoryAssignment

from .models import KPI, Measurement, Source

Scope = Territory | Rep

# When a deal counts (and on which day it is credited).
CLOSED, OPENED, OPEN_AT_END = "closed", "opened", "open"
WON, LOST = Q(stage=Stage.WON), Q(stage=Stage.LOST)
PARTNER = Q(channel="partner")
PLAY = Q(strategic_play__isnull=False)
DELIVERABLE = Exists(Opportunity.deliverables.through.objects.filter(opportunity_id=OuterRef("pk")))
POC_SUCCESS, POC_FINISHED = Q(poc=Poc.SUCCESS), Q(poc__in=[Poc.SUCCESS, Poc.FAILURE])


@dataclass(frozen=True)
class DealBasis:
    """Which deals make a metric's figure: those counting ``when``, narrowed by ``where``."""

    when: str
    where: Q = Q()
    rows: str = ""  # what the rows are, in words


_CLOSED = DealBasis(CLOSED, Q(), "won and lost deals closed in the period")
_WON = DealBasis(CLOSED, WON, "won deals closed in the period")
_LOST = DealBasis(CLOSED, LOST, "lost deals closed in the period")
_OPEN = DealBasis(OPEN_AT_END, Q(), "deals open at the end of the period")
_NEW = DealBasis(OPENED, Q(), "deals engaged (else created) in the period")

DEAL_METRICS: dict[str, DealBasis] = {
    "won_revenue": _WON,
    "won_deals": _WON,
    "lost_deals": _LOST,
    "lost_value": _LOST,
    "avg_deal_size": _WON,
    "gross_profit": _WON,
    "profit_margin": _WON,
    "active_customers": _WON,
    "customer_retention": _WON,
    "cross_brand_customers": _WON,
    "revenue_per_rep": _WON,
    "partner_revenue_share": _WON,
    "win_rate": _CLOSED,
    "win_rate_by_value": _CLOSED,
    "sales_cycle_days": _CLOSED,
    "open_pipeline_count": _OPEN,
    "open_pipeline_value": _OPEN,
    "new_opportunities": _NEW,
    "lead_conversion": _NEW,
    "identification_participation": _NEW,
    "cross_brand_deals": _WON,
    "partner_win_rate": DealBasis(CLOSED, PARTNER, "partner-led deals closed in the period"),
    "direct_win_rate": DealBasis(CLOSED, ~PARTNER, "direct deals closed in the period"),
    "strategic_play_deals": DealBasis(OPENED, PLAY, "strategic play deals engaged in the period"),
    "strategic_play_win_rate": DealBasis(CLOSED, PLAY, "strategic play deals closed in the period"),
    "deliverables_in_wins": _WON,
    "deliverables_in_losses": _LOST,
    "poc_win_rate": DealBasis(CLOSED, POC_SUCCESS, "deals with a successful POC closed in the period"),
    "certified_win_rate_lift": _CLOSED,
}
# Metrics whose rows are deals counted at two moments.
POC_METRICS = {
    "poc_success_rate": "finished POCs: on deals closed in the period, or on open deals engaged in it",
    "poc_success_not_won": "successful POCs lost in the period or on deals open at its end",
}
CERTIFICATION_METRICS = {"certified_reps_pct", "certifications_earned"}
PROGRAMME_METRICS = {"program_participation_pct"}


def rows_kind(kpi: KPI) -> str:
    """What lies under the KPI's figure: "deals", "certifications", "participations", "measurements",
    or "" (a formula, or a figure over reps)."""
    if kpi.source == Source.MANUAL:
        return "measurements"
    if kpi.source != Source.METRIC:
        return ""
    if kpi.metric in DEAL_METRICS or kpi.metric in POC_METRICS:
        return "deals"
    if kpi.metric in CERTIFICATION_METRICS:
        return "certifications"
    if kpi.metric in PROGRAMME_METRICS:
        return "participations"
    return ""


def rows_description(kpi: KPI) -> str:
    if kpi.metric in DEAL_METRICS:
        return DEAL_METRICS[kpi.metric].rows
    return POC_METRICS.get(kpi.metric, "")


def snapshot_day(period: P.Period, today: date) -> date:
    """The day a period-end figure is taken: the period's last day, or today in the live period."""
    return min(period.end, today)


def _on(day) -> Q:
    """Assignments covering ``day`` (a date, or an expression of the deal)."""
    return Q(start__lte=day) & (Q(end__isnull=True) | Q(end__gte=day))


def _credited(scope: Scope, day) -> Q:
    """Deals credited to the scope on ``day`` (see the module docstring)."""
    if isinstance(scope, Rep):
        return Q(rep=scope)
    assigned = TerritoryAssignment.objects.filter(_on(day), rep=OuterRef("rep"))
    inside = Exists(assigned.filter(territory__path__startswith=scope.path))
    house = ~Exists(assigned) & Q(territory__path__startswith=scope.path)
    credited = Q(inside) | house
    if scope.depth == 1:  # unassigned that day and no territory of its own: the root (DESIGN §4)
        credited |= ~Exists(assigned) & Q(territory__isnull=True)
    return credited


def _closed_in(scope: Scope, period: P.Period) -> Q:
    in_period = Q(stage__in=CLOSED_STAGES, close_date__gte=period.start, close_date__lte=period.end)
    return in_period & _credited(scope, OuterRef("close_date"))


def _opened_in(scope: Scope, period: P.Period) -> Q:
    in_period = Q(opened_on__gte=period.start, opened_on__lte=period.end)
    return in_period & _credited(scope, OuterRef("opened_on"))


def _open_at_end(scope: Scope, period: P.Period, today: date) -> Q:
    day = snapshot_day(period, today)
    closed_by_end = Q(stage__in=CLOSED_STAGES, close_date__lte=period.end)
    return Q(opened_on__lte=day) & ~closed_by_end & _credited(scope, day)


def with_value(deals: QuerySet[Opportunity]) -> QuerySet[Opportunity]:
    """Each deal's ``value``: its amount, else its products' list prices (as open pipeline values it)."""
    list_price = (
        Product.objects.filter(opportunities=OuterRef("pk"))
        .order_by()
        .values("opportunities")
        .annotate(total=Sum("list_price"))
        .values("total")
    )
    money = DecimalField(max_digits=16, decimal_places=4)
    return deals.annotate(value=Coalesce("amount", Subquery(list_price, output_field=money)))


def _deals(org: Organization) -> QuerySet[Opportunity]:
    return Opportunity.objects.filter(org=org).annotate(opened_on=Coalesce("engage_date", "created_date"))


def open_deals(org: Organization, scope: Scope, period: P.Period, *, today: date) -> QuerySet[Opportunity]:
    """The deals open at the period's end (``today`` in the live period) credited to the scope, with
    their ``value``: the rows of ``open_pipeline_count`` and ``open_pipeline_value``."""
    return with_value(_deals(org).filter(_open_at_end(scope, period, today)))


def deals_behind(
    org: Organization, kpi: KPI, scope: Scope, period: P.Period, *, today: date
) -> QuerySet[Opportunity]:
    """The deals that make the KPI's figure for the scope and period (none for a KPI not over deals).

    ``today`` places the live period's open-pipeline snapshot (the day the rollups computed as of).
    """
    deals = _deals(org)
    if kpi.source != Source.METRIC:
        return deals.none()
    basis = DEAL_METRICS.get(kpi.metric)
    if basis is not None:
        when = {
            CLOSED: lambda: _closed_in(scope, period),
            OPENED: lambda: _opened_in(scope, period),
            OPEN_AT_END: lambda: _open_at_end(scope, period, today),
        }[basis.when]()
        return deals.filter(when & basis.where)
    if kpi.metric == "poc_success_rate":
        still_open = ~Q(stage__in=CLOSED_STAGES)
        return deals.filter(
            POC_FINISHED & (_closed_in(scope, period) | (_opened_in(scope, period) & still_open))
        )
    if kpi.metric == "poc_success_not_won":
        lost = _closed_in(scope, period) & LOST
        return deals.filter(POC_SUCCESS & (lost | (_open_at_end(scope, period, today) & ~WON)))
    return deals.none()


def _rep_in(scope: Scope, day) -> Q:
    """Certifications or participations of reps in the scope on ``day``."""
    if isinstance(scope, Rep):
        return Q(rep=scope)
    return Q(
        Exists(
            TerritoryAssignment.objects.filter(
                _on(day), rep=OuterRef("rep"), territory__path__startswith=scope.path
            )
        )
    )


def _certification_filter(kpi: KPI) -> Q:
    wanted = Q()
    if "category" in kpi.metric_filter:
        wanted &= Q(type__category=kpi.metric_filter["category"])
    if "type" in kpi.metric_filter:
        wanted &= Q(type_id=kpi.metric_filter["type"])
    return wanted


def certifications_behind(
    org: Organization, kpi: KPI, scope: Scope, period: P.Period, *, today: date
) -> QuerySet[Certification]:
    """Certifications earned in the period by reps in the scope that day (``certifications_earned``),
    or those valid on the snapshot day held by reps in the scope then (``certified_reps_pct``)."""
    certs = Certification.objects.filter(org=org).filter(_certification_filter(kpi))
    if kpi.metric == "certifications_earned":
        earned = Q(earned__gte=period.start, earned__lte=period.end)
        return certs.filter(earned & _rep_in(scope, OuterRef("earned")))
    if kpi.metric == "certified_reps_pct":
        day = snapshot_day(period, today)
        valid = Q(earned__lte=day) & (Q(expires__isnull=True) | Q(expires__gte=day))
        return certs.filter(valid & _rep_in(scope, day))
    return certs.none()


def participations_behind(
    org: Organization, kpi: KPI, scope: Scope, period: P.Period
) -> QuerySet[ProgramParticipation]:
    """Programme participations during the period of reps assigned in the scope at some day of it."""
    rows = ProgramParticipation.objects.filter(org=org, start__lte=period.end).filter(
        Q(end__isnull=True) | Q(end__gte=period.start)
    )
    if "kind" in kpi.metric_filter:
        rows = rows.filter(program__kind=kpi.metric_filter["kind"])
    if "program" in kpi.metric_filter:
        rows = rows.filter(program_id=kpi.metric_filter["program"])
    if isinstance(scope, Rep):
        return rows.filter(rep=scope)
    assigned = TerritoryAssignment.objects.filter(
        rep=OuterRef("rep"), start__lte=period.end, territory__path__startswith=scope.path
    ).filter(Q(end__isnull=True) | Q(end__gte=period.start))
    return rows.filter(Exists(assigned))


def measurements_behind(org: Organization, kpi: KPI, scope: Scope, period: P.Period) -> QuerySet[Measurement]:
    """The manual entries of the KPI in the period (its months too) for the scope or, for a territory,
    anywhere in its subtree (the KPI's tree aggregation combines them)."""
    keys = [period.key, *(m.key for m in period.months() if period.kind != P.MONTH)]
    if period.kind == P.YEAR:
        fsm = org.fiscal_year_start_month
        keys += [q.key for q in P.periods_between(period.start, period.end, P.QUARTER, fsm)]
    rows = Measurement.objects.filter(org=org, kpi=kpi, period__in=keys)
    if isinstance(scope, Rep):
        return rows.filter(rep=scope)
    return rows.filter(territory__path__startswith=scope.path)
