"""The numbers a plan's goals rest on: rep quotas, market sizes and a period's plain sums.

These are planning inputs drawn from the planned deals, not the numbers engine's figures.
"""

from __future__ import annotations

from datetime import date, timedelta

from scorecard import periods

from .choices import Stage
from .data import QUARTER_QUOTA_SHARE
from .plan_records import Draws, Horizon, PlannedDeal, PlannedRep, PlannedTeam, Roster

# (rep index, quarter key) -> (the rep's team that quarter, the rep's quota)
Quotas = dict[tuple[int, str], tuple[PlannedTeam, float]]
# (team name, quarter key) -> the team's annual addressable market
MarketSizes = dict[tuple[str, str], float]


def _quota_baselines(horizon: Horizon, reps: list[PlannedRep], deals: list[PlannedDeal]) -> dict[int, float]:
    """Per year, the established reps' revenue (per unit of deal size) at the 40th percentile."""
    baseline: dict[int, float] = {}
    for year in range(horizon.start.year, horizon.today.year + 1):
        last = min(date(year, 12, 31), horizon.today)
        first = last - timedelta(days=364)
        revenue: dict[int, float] = {}
        for d in deals:
            if d.stage == Stage.WON and d.rep is not None and d.closed and first <= d.closed <= last:
                revenue[d.rep.index] = revenue.get(d.rep.index, 0.0) + d.value
        per_size = sorted(
            revenue.get(r.index, 0.0) / (r.team_on(last) or r.assignments[-1][0]).spec.deal_size
            for r in reps
            if r.hire <= first - timedelta(days=180) and r.active_on(last) and r.active_on(first)
        )
        baseline[year] = per_size[len(per_size) * 2 // 5] if per_size else 600000.0
    return baseline


def rep_quotas(horizon: Horizon, reps: list[PlannedRep], deals: list[PlannedDeal]) -> Quotas:
    """(team, quota) per (rep index, quarter key), scaled by the team's deal size.

    The plan is as good as a good planner's: the yearly quota sits a little under the typical
    established rep's revenue of that year (the last twelve months for the current year), so most
    reps make it and the weak ones do not.
    """
    baseline = _quota_baselines(horizon, reps, deals)
    quotas: Quotas = {}
    for quarter in horizon.quarters():
        for rep in reps:
            days = sum(1 for i in range(quarter.days) if rep.active_on(quarter.start + timedelta(days=i)))
            if not days:
                continue
            team = rep.team_on(min(quarter.end, rep.leave or quarter.end))
            if team is None:
                continue
            share = QUARTER_QUOTA_SHARE[int(quarter.key[-1]) - 1] * days / quarter.days
            ramp = 0.5 if rep.hire > quarter.start - timedelta(days=90) else 1.0
            quotas[(rep.index, quarter.key)] = (
                team,
                baseline[quarter.start.year] * team.spec.deal_size * share * ramp,
            )
    return quotas


def market_sizes(
    draws: Draws, horizon: Horizon, teams: list[PlannedTeam], deals: list[PlannedDeal]
) -> MarketSizes:
    """Annual addressable market per (team, quarter key): sized so we hold 8-15 % of it."""
    rng = draws.rng
    first_year = periods.year(horizon.start.year)
    won = [d for d in deals if d.stage == Stage.WON and d.closed and first_year.contains(d.closed)]
    out: MarketSizes = {}
    for team in teams:
        revenue = sum(d.value for d in won if d.credit_team is team) or 500000.0
        market = revenue / rng.uniform(0.08, 0.15)
        for quarter in horizon.quarters():
            years = (quarter.start - horizon.start).days / 365.25
            out[(team.name, quarter.key)] = round(market * 1.05**years * rng.uniform(0.98, 1.02), -3)
    return out


def period_stats(
    horizon: Horizon,
    roster: Roster,
    deals: list[PlannedDeal],
    teams: list[PlannedTeam],
    period: periods.Period,
) -> dict[str, float]:
    """The handful of plain sums the demo bases its goals on, for some teams over one period."""
    in_scope = [d for d in deals if d.credit_team in teams]
    closed = [d for d in in_scope if d.closed and period.contains(d.closed)]
    won = [d for d in closed if d.stage == Stage.WON]
    lost = [d for d in closed if d.stage == Stage.LOST]
    end = min(period.end, horizon.today)
    open_at_end = [
        d
        for d in deals
        if d.rep
        and d.rep.team_on(end) in teams
        and (d.engaged or d.created) <= end
        and (d.closed is None or d.closed > end)
    ]
    headcount = sum(1 for r in roster.reps if r.team_on(end) in teams) or 1
    won_revenue = sum(d.value for d in won)
    first_wins = _first_wins(deals)
    return {
        "won_revenue": won_revenue,
        "won_deals": len(won),
        "lost_deals": len(lost),
        "lost_value": sum(d.value for d in lost),
        "gross_profit": sum(float(d.profit or 0) for d in won),
        "avg_deal_size": won_revenue / len(won) if won else 0.0,
        "active_customers": len({d.account.index for d in won}),
        "new_customers": sum(
            1
            for i, d in enumerate(deals)
            if i in first_wins and d.credit_team in teams and d.closed and period.contains(d.closed)
        ),
        "open_pipeline_count": len(open_at_end),
        "open_pipeline_value": sum(
            float(d.amount if d.amount is not None else d.list_price) for d in open_at_end
        ),
        "new_opportunities": sum(1 for d in in_scope if period.contains(d.engaged or d.created)),
        "revenue_per_rep": won_revenue / headcount,
        "strategic_play_deals": sum(1 for d in closed if d.play is not None),
        "cross_brand_deals": sum(1 for d in won if len(d.lines) >= 2),
        "certifications_earned": sum(
            1
            for r in roster.reps
            for c in r.certifications
            if period.contains(c.earned) and r.team_on(c.earned) in teams
        ),
        "headcount": headcount,
    }


def _first_wins(deals: list[PlannedDeal]) -> set[int]:
    """Positions of each account's first won deal: the earliest close, the first planned on a tie."""
    first: dict[int, tuple[date, int]] = {}
    for i, d in enumerate(deals):
        if d.stage == Stage.WON and d.closed:
            first[d.account.index] = min(first.get(d.account.index, (d.closed, i)), (d.closed, i))
    return {i for _closed, i in first.values()}
