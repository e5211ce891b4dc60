"""Planning the targets: quotas for every rep and team, a goal for every other KPI at the root and the
regions (the template's default, else one drawn from last year), and a few goals revised mid-period.

The KPIs are the default scorecard template's (``kpis.template``, plain data) in the order an
organisation's KPIs list in (perspective, objective, KPI), the order the goals are drawn in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import NamedTuple

from kpis.template import KPIS, OBJECTIVES, PERSPECTIVES
from scorecard import periods

from .data import MANAGER_REGION, REGIONS
from .plan_baselines import MarketSizes, Quotas, period_stats, rep_quotas
from .plan_records import Draws, Horizon, PlannedDeal, PlannedTarget, PlannedTeam, Roster, at, money

# Successful POCs left unwon per team and quarter: (goal, red flag) of the planning assumption.
POC_LEFT_OPEN = (Decimal(2), Decimal(5))


class KpiDefaults(NamedTuple):
    """What the goals need to know of a template KPI."""

    slug: str
    unit: str
    direction: str
    source: str
    metric: str
    default_goal: Decimal | None
    default_red_flag: Decimal | None


def template_kpis() -> list[KpiDefaults]:
    """The template's KPIs in an organisation's KPI order: perspective, objective, then the KPI's own."""
    perspective_order = {spec["slug"]: order for order, spec in enumerate(PERSPECTIVES)}
    objective_order = {slug: order for order, (_p, slug, _n, _w) in enumerate(OBJECTIVES)}
    perspective_of = {slug: perspective for perspective, slug, _n, _w in OBJECTIVES}
    ordered = sorted(
        enumerate(KPIS),
        key=lambda item: (
            perspective_order[perspective_of[item[1]["objective"]]],
            objective_order[item[1]["objective"]],
            item[0],
        ),
    )
    return [KpiDefaults(*(spec[field] for field in KpiDefaults._fields)) for _order, spec in ordered]


@dataclass(frozen=True)
class _Planning:
    draws: Draws
    horizon: Horizon
    roster: Roster
    deals: list[PlannedDeal]
    market: MarketSizes
    quotas: Quotas


def plan_targets(
    draws: Draws, horizon: Horizon, roster: Roster, deals: list[PlannedDeal], market: MarketSizes
) -> list[PlannedTarget]:
    """Every target, in the order they are stored; superseded ones carry ``superseded_at``."""
    planning = _Planning(draws, horizon, roster, deals, market, rep_quotas(horizon, roster.reps, deals))
    set_on = {q.key: q.start - timedelta(days=10) for q in horizon.quarters()}
    set_on |= {y.key: y.start - timedelta(days=21) for y in horizon.years()}
    rows = _quota_targets(planning, set_on)
    rows += _kpi_targets(planning, set_on)
    rows += _revisions(planning, rows, set_on)
    return rows


def _quota_targets(planning: _Planning, set_on: dict[str, date]) -> list[PlannedTarget]:
    """Quotas: every rep and every team, per quarter and per year (regions and the root add up)."""
    horizon, quotas = planning.horizon, planning.quotas
    quarters = horizon.quarters()
    team_quota: dict[tuple[str, str], float] = {}
    for (_rep_index, key), (team, quota) in quotas.items():
        team_quota[(team.name, key)] = team_quota.get((team.name, key), 0.0) + quota
    rows: list[PlannedTarget] = []
    for period in quarters + horizon.years():
        keys = [q.key for q in quarters if period.start <= q.start <= period.end]
        for rep in planning.roster.reps:
            quota = sum(quotas.get((rep.index, key), (None, 0.0))[1] for key in keys)
            if quota:
                rows.append(
                    PlannedTarget(
                        "won_revenue",
                        None,
                        rep,
                        period.key,
                        money(round(quota, -3)),
                        None,
                        "Quota: territory potential and the yearly plan",
                        "admin",
                        at(set_on[period.key]),
                    )
                )
        for team in planning.roster.teams:
            quota = sum(team_quota.get((team.name, key), 0.0) for key in keys)
            if quota:
                rows.append(
                    PlannedTarget(
                        "won_revenue",
                        team.name,
                        None,
                        period.key,
                        money(round(quota, -3)),
                        None,
                        "Team quota: sum of its reps' quotas",
                        "admin",
                        at(set_on[period.key]),
                    )
                )
    return rows


def _kpi_targets(planning: _Planning, set_on: dict[str, date]) -> list[PlannedTarget]:
    """Every other KPI at the root and the regions: the KPI's default goal, else a goal from last year."""
    horizon, teams = planning.horizon, planning.roster.teams
    scopes = [("", list(teams))] + [(r.name, [t for t in teams if t.region is r]) for r in REGIONS]
    kpis = [kpi for kpi in template_kpis() if kpi.slug != "won_revenue"]
    rows: list[PlannedTarget] = []
    for period in horizon.quarters() + horizon.years():
        last_year = period.last_year()
        have_last_year = last_year.start >= horizon.start
        for scope, scope_teams in scopes:
            stats = period_stats(horizon, planning.roster, planning.deals, scope_teams, period)
            base = (
                period_stats(horizon, planning.roster, planning.deals, scope_teams, last_year)
                if have_last_year
                else stats
            )
            for kpi in kpis:
                goal, red, reason = _kpi_goal(planning, kpi, period, scope_teams, base, have_last_year)
                if scope == "Latin America" and kpi.slug in ("win_rate", "partner_revenue_share"):
                    reason = "Growth market: standard goal kept to stretch the team"
                setter = "manager" if scope == MANAGER_REGION else "admin"
                rows.append(
                    PlannedTarget(
                        kpi.slug, scope, None, period.key, goal, red, reason, setter, at(set_on[period.key])
                    )
                )
    return rows


def _kpi_goal(
    planning: _Planning,
    kpi: KpiDefaults,
    period: periods.Period,
    teams: list[PlannedTeam],
    base: dict[str, float],
    have_last_year: bool,
) -> tuple[Decimal, Decimal | None, str]:
    """(goal, red flag, reason) of one KPI for some teams and one period."""
    is_year = period.kind == periods.YEAR
    goal, red = kpi.default_goal, kpi.default_red_flag
    if kpi.slug == "rep_turnover" and is_year:
        return Decimal("0.12"), Decimal("0.2"), "Yearly turnover ceiling"
    if kpi.slug == "poc_success_not_won":
        # a count has no template default: the plan allows a few per team and quarter
        scale = len(teams) * (4 if is_year else 1)
        reason = f"At most {POC_LEFT_OPEN[0]} successful POCs left unwon per team and quarter"
        return POC_LEFT_OPEN[0] * scale, POC_LEFT_OPEN[1] * scale, reason
    if goal is None:
        return _data_goal(planning, kpi, period, teams, base, have_last_year)
    return goal, red, "Company standard (template default)"


def _data_goal(
    planning: _Planning,
    kpi: KpiDefaults,
    period: periods.Period,
    teams: list[PlannedTeam],
    base: dict[str, float],
    have_last_year: bool,
) -> tuple[Decimal, Decimal | None, str]:
    """A goal for a KPI without a company default: last year's value plus planned growth."""
    horizon = planning.horizon
    if kpi.slug == "market_size":
        key = (
            period.key
            if period.kind == periods.QUARTER
            else periods.period_containing(min(period.end, horizon.today), periods.QUARTER).key
        )
        goal = sum(planning.market[(t.name, key)] for t in teams)
        return money(goal), None, "Planning assumption: annual addressable market"
    if kpi.slug == "reps_at_target":
        keys = [q.key for q in horizon.quarters() if period.start <= q.start <= period.end]
        with_quota = {
            i
            for (i, k) in planning.quotas
            if k in keys and planning.roster.reps[i].team_on(min(period.end, horizon.today)) in teams
        }
        count = Decimal(max(1, round(0.7 * len(with_quota))))
        return count, count - max(1, round(0.2 * len(with_quota))), "70 % of the reps with a quota"
    if kpi.slug == "deliverables_in_losses":
        return Decimal("0.4"), Decimal("0.3"), "Informational: compare with deliverables in wins"
    key = kpi.metric if kpi.source == "metric" and kpi.metric in base else kpi.slug
    value = base.get(key, 0.0)
    lower = kpi.direction == "lower"
    if have_last_year:
        factor = 1.1
        reason = "Last year's result plus 10 % growth" if not lower else "No more than last year's plus 10 %"
    else:
        factor = planning.draws.rng.uniform(0.95, 1.08)
        reason = "First plan year: management estimate"
    estimate = value * factor
    red = estimate * (1.2 if lower else 0.8)
    if kpi.unit == "count":
        return Decimal(max(1, round(estimate))), Decimal(max(0, round(red))), reason
    return money(estimate), money(red), reason


def _revisions(
    planning: _Planning, rows: list[PlannedTarget], set_on: dict[str, date]
) -> list[PlannedTarget]:
    """History: goals revised during the period, each old goal kept as a superseded target.

    Last year's win rate was raised and North America's retention lowered; Mid-Market's quota in the
    live quarter was cut after it lost a rep. Returns the superseded targets; the current ones change
    in place.
    """
    horizon = planning.horizon
    previous_year = periods.year(horizon.today.year - 1)
    revisions = [
        (
            "win_rate",
            "",
            Decimal("0.5"),
            "Raised after the Q1 review: strategic plays and POCs are lifting the win rate",
            Decimal("0.45"),
            previous_year.start + timedelta(days=97),
        ),
        (
            "customer_retention",
            MANAGER_REGION,
            Decimal("0.7"),
            "Lowered: two key accounts merged into one",
            Decimal("0.8"),
            previous_year.start + timedelta(days=160),
        ),
    ]
    superseded: list[PlannedTarget] = []
    for slug, scope, new_goal, new_reason, old_goal, revised in revisions:
        current = next(
            t for t in rows if t.kpi == slug and t.scope == scope and t.period == previous_year.key
        )
        superseded.append(_supersede(current, old_goal, current.red_flag, set_on[current.period], revised))
        current.goal, current.reason = new_goal, new_reason
    quarter = horizon.current_quarter
    relief = next(
        (t for t in rows if t.scope == "Mid-Market" and t.period == quarter.key and t.kpi == "won_revenue"),
        None,
    )
    if relief is not None:
        revised = quarter.start + timedelta(days=min(18, (horizon.today - quarter.start).days))
        old_goal = money(round(float(relief.goal) * 1.15, -3))
        superseded.append(_supersede(relief, old_goal, None, set_on[quarter.key], revised))
        relief.reason, relief.set_by = "Quota relief: open headcount in Mid-Market", "manager"
    return superseded


def _supersede(
    current: PlannedTarget, old_goal: Decimal, old_red_flag: Decimal | None, first_set: date, revised: date
) -> PlannedTarget:
    """The goal as first set, kept as a superseded target; ``current`` is stamped as set on ``revised``."""
    current.set_at = at(revised, 11)
    return PlannedTarget(
        current.kpi,
        current.scope,
        current.rep,
        current.period,
        old_goal,
        old_red_flag,
        "Initial plan",
        "admin",
        at(first_set, 11),
        superseded_at=at(revised, 11),
    )
