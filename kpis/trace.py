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

At a million deals these stay index lookups: the crediting is plain conditions on the deal's rep and
dates (``Crediting``), and the totals of a list add amounts in one pass (``totals``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import (
    Count,
    DecimalField,
    Exists,
    F,
    FilteredRelation,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
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


OPENED_ON = Coalesce("engage_date", "created_date")
DAYS = {"close_date": F("close_date"), "opened_on": OPENED_ON}  # a deal's days, by name


def _on(day) -> Q:
    """Assignments covering ``day`` (a date, or an expression of the deal)."""
    return Q(start__lte=day) & (Q(end__isnull=True) | Q(end__gte=day))


class Crediting:
    """Which deals are credited to a scope on the day each counts (see the module docstring), as plain
    conditions on the deal's columns, so that the database finds them by (rep, date) instead of testing
    every deal of the period against the assignments.

    A rep's scope holds the rep's deals. The root holds every deal of the organisation: a deal is
    credited to its rep's territory that day, else its own territory, else the root, all of which lie
    under the root (DESIGN §4). Below the root, the subtree's territories and the assignments into them
    are read once (a subtree has few of them); a deal is in when its rep sat in the subtree on its day —
    a rep there on every day of the period is one ``rep IN (…)``, a rep who moved in or out a date range
    on the deal — or when it is a house deal of the subtree: a territory of its own in it and no
    assignment of its rep covering the day (a LEFT JOIN to that assignment, ``relations``, which the
    deals must be annotated with).
    """

    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self.relations: dict[str, FilteredRelation] = {}
        self.territory_ids: list[int] = []
        self.assignments: list[tuple[int, date, date | None]] = []
        if isinstance(scope, Territory) and scope.depth > 1:
            rows = (
                Territory.objects.filter(org_id=scope.org_id, path__startswith=scope.path)
                .order_by()
                .values_list("id", "assignments__rep_id", "assignments__start", "assignments__end")
            )
            ids = set()
            for territory_id, rep_id, start, end in rows:
                ids.add(territory_id)
                if rep_id is not None:
                    self.assignments.append((rep_id, start, end))
            self.territory_ids = sorted(ids)
            self.assignments.sort(key=lambda a: (a[0], a[1]))

    def on(self, day: str | date, first: date, last: date) -> Q:
        """Deals credited to the scope on ``day``: a date, or the name of the deal's date field whose
        values the caller has already bounded to ``first`` … ``last``."""
        scope = self.scope
        if isinstance(scope, Rep):
            return Q(rep=scope)
        if scope.depth == 1:
            return Q()
        if isinstance(day, date):
            first = last = day
        parts: list[Q] = []
        whole: list[int] = []
        for rep_id, spans in self._stretches(first, last).items():
            if spans == [(first, last)]:
                whole.append(rep_id)
            else:
                assert isinstance(day, str)  # a fixed day is inside or outside each stretch whole
                parts += [Q(rep_id=rep_id, **{f"{day}__gte": a, f"{day}__lte": b}) for a, b in spans]
        if whole:
            parts.append(Q(rep_id__in=whole))
        if self.territory_ids:
            parts.append(Q(**{f"{self._cover(day)}__isnull": True, "territory_id__in": self.territory_ids}))
        credited = Q(pk__in=[])  # no deal, when nobody sat in the subtree then and it has no house deals
        for part in parts:
            credited |= part
        return credited

    def _cover(self, day: str | date) -> str:
        """The alias of the assignment of the deal's rep covering ``day`` (none: unassigned or no rep).
        A join, not a subquery per deal: PostgreSQL costs a correlated subquery as if it ran for every
        deal the index scan may return, and compiles (JIT) a query that looks that expensive, which
        takes longer than running it."""
        alias = f"cover_{day}" if isinstance(day, str) else f"cover_{day:%Y%m%d}"
        on = DAYS[day] if isinstance(day, str) else day
        covering = Q(rep__assignments__start__lte=on) & (
            Q(rep__assignments__end__isnull=True) | Q(rep__assignments__end__gte=on)
        )
        self.relations[alias] = FilteredRelation("rep__assignments", condition=covering)
        return alias

    def _stretches(self, first: date, last: date) -> dict[int, list[tuple[date, date]]]:
        """Per rep, the runs of days from ``first`` to ``last`` the rep sat in the subtree (adjacent
        assignments merged: a move between two of its territories is no gap)."""
        out: dict[int, list[tuple[date, date]]] = {}
        for rep_id, start, end in self.assignments:
            a, b = max(start, first), min(end or last, last)
            if a > b:
                continue
            spans = out.setdefault(rep_id, [])
            if spans and spans[-1][1] + timedelta(days=1) >= a:
                spans[-1] = (spans[-1][0], max(spans[-1][1], b))
            else:
                spans.append((a, b))
        return out


def _closed_in(credit: Crediting, period: P.Period) -> Q:
    in_period = Q(stage__in=CLOSED_STAGES, close_date__gte=period.start, close_date__lte=period.end)
    return in_period & credit.on("close_date", period.start, period.end)


def _opened_in(credit: Crediting, period: P.Period) -> Q:
    in_period = Q(opened_on__gte=period.start, opened_on__lte=period.end)
    return in_period & credit.on("opened_on", period.start, period.end)


def _open_at_end(credit: Crediting, period: P.Period, today: date) -> Q:
    day = snapshot_day(period, today)
    closed_by_end = Q(stage__in=CLOSED_STAGES, close_date__lte=period.end)
    return Q(opened_on__lte=day) & ~closed_by_end & credit.on(day, day, day)


def deal_order(kpi: KPI) -> tuple[str, ...]:
    """The order the deals behind the KPI are listed in: newest first by the day they count on (deals
    counted at their close by close date, the others by the day they were engaged, else created), so
    the first page comes from an index scan however many deals there are."""
    basis = DEAL_METRICS.get(kpi.metric)
    if basis is not None and basis.when == CLOSED:
        return ("-close_date", "-opened_on", "-pk")
    return ("-opened_on", "-pk")


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
    return Opportunity.objects.filter(org=org).annotate(opened_on=OPENED_ON)


def open_deals(org: Organization, scope: Scope, period: P.Period, *, today: date) -> QuerySet[Opportunity]:
    """The deals open at the period's end (``today`` in the live period) credited to the scope, with
    their ``value``: the rows of ``open_pipeline_count`` and ``open_pipeline_value``."""
    credit = Crediting(scope)
    return with_value(_deals(org).annotate(**credit.relations).filter(_open_at_end(credit, period, today)))


def totals(deals: QuerySet[Opportunity]) -> tuple[int, Decimal]:
    """How many deals and the sum of their values (``with_value``), without a subquery per deal: the
    amounts in one pass, then the list prices of the products of the deals without an amount, if any.
    (A subquery per deal, even one never run, makes PostgreSQL cost the query as if it ran for each and
    compile it, which takes longer than the query at a million deals.)"""
    counted = deals.order_by().aggregate(
        n=Count("pk"), amounts=Sum("amount"), unpriced=Count("pk", filter=Q(amount__isnull=True))
    )
    total = counted["amounts"] or Decimal(0)
    if counted["unpriced"]:
        unpriced = deals.filter(amount__isnull=True).order_by().values("pk")
        listed = Product.objects.filter(opportunities__in=unpriced).aggregate(total=Sum("list_price"))
        total += listed["total"] or Decimal(0)
    return counted["n"], total


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
    if basis is None and kpi.metric not in POC_METRICS:
        return deals.none()
    credit = Crediting(scope)
    if basis is not None:
        when = {
            CLOSED: lambda: _closed_in(credit, period),
            OPENED: lambda: _opened_in(credit, period),
            OPEN_AT_END: lambda: _open_at_end(credit, period, today),
        }[basis.when]()
        behind = when & basis.where
    elif kpi.metric == "poc_success_rate":
        still_open = ~Q(stage__in=CLOSED_STAGES)
        behind = POC_FINISHED & (_closed_in(credit, period) | (_opened_in(credit, period) & still_open))
    else:  # poc_success_not_won
        lost = _closed_in(credit, period) & LOST
        behind = POC_SUCCESS & (lost | (_open_at_end(credit, period, today) & ~WON))
    return deals.annotate(**credit.relations).filter(behind)


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
