"""Planning the customers and the opportunities: who sells what to whom, when, and how it ends.

Each deal's chances follow the story: certified and trained reps, POCs that succeed, strategic plays,
partners and technical deliverables lift the win probability, which the rep's and the team's strength
then scale.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from scorecard import periods

from .choices import CertificationCategory, Channel, Poc, Stage
from .data import (
    ACCOUNT_WORDS,
    CREDENTIAL_SECTOR,
    DELIVERABLES,
    LINES,
    PARTNERS,
    PLAYS,
    PRODUCTS,
    SEASON,
    SECTOR_SUFFIX,
    SECTORS,
    Size,
)
from .plan_records import (
    Draws,
    Horizon,
    PlannedAccount,
    PlannedDeal,
    PlannedRep,
    PlannedTeam,
    Roster,
    add_months,
    clamp,
    money,
)

# (share of the expected cycle elapsed, the stage an open deal has reached by then)
_OPEN_STAGE_BY_PROGRESS = (
    (0.15, Stage.PROSPECTING),
    (0.35, Stage.QUALIFYING),
    (0.55, Stage.ENGAGING),
    (0.8, Stage.PROPOSAL),
    (math.inf, Stage.NEGOTIATION),
)
# how often an open deal in an early stage has no amount yet
_MISSING_AMOUNT = {Stage.PROSPECTING: 0.5, Stage.QUALIFYING: 0.35, Stage.ENGAGING: 0.1}


def plan_accounts(draws: Draws, teams: list[PlannedTeam], size: Size) -> list[PlannedAccount]:
    """Accounts per team, with a few key accounts (heavy weights) that buy again and again."""
    rng = draws.rng
    accounts: list[PlannedAccount] = []
    used: set[str] = set()
    for team in teams:
        for _ in range(max(12, int(round(7 * (size.reps_per_team or team.spec.reps))))):
            sector = rng.choice(SECTORS)
            for _attempt in range(50):
                name = f"{rng.choice(ACCOUNT_WORDS)} {rng.choice(SECTOR_SUFFIX[sector])}"
                if name not in used:
                    break
                name = f"{rng.choice(ACCOUNT_WORDS)} {rng.choice(ACCOUNT_WORDS)} {rng.choice(SECTOR_SUFFIX[sector])}"
                if name not in used:
                    break
            used.add(name)
            account = PlannedAccount(
                len(accounts), name, sector, rng.choice(team.spec.countries), weight=rng.paretovariate(1.0)
            )
            accounts.append(account)
            team.accounts.append(account)
    return accounts


def plan_deals(draws: Draws, horizon: Horizon, size: Size, roster: Roster) -> list[PlannedDeal]:
    """Every rep's deals month by month (seasonal, ramping up after a hire), then house deals."""
    rng = draws.rng
    planner = _DealPlanner(draws, horizon, roster.reps)
    deals: list[PlannedDeal] = []
    warmup = add_months(horizon.start, -8).replace(day=1)
    for rep in roster.reps:
        first = max(rep.hire, warmup)
        last = min(horizon.today, rep.leave or horizon.today)
        month = first.replace(day=1)
        while month <= last:
            years = (month - horizon.start).days / 365.25
            tenure = (month - rep.hire).days / 30.4
            ramp = clamp(tenure / 6, 0.25, 1.0)
            lam = size.deals_per_rep_month * SEASON[month.month - 1] * rep.activity * ramp
            lam *= 1.05**years
            next_month = add_months(month, 1)
            for _ in range(draws.poisson(lam)):
                engaged = month + timedelta(days=rng.randint(0, (next_month - month).days - 1))
                if first <= engaged <= last and (team := rep.team_on(engaged)) is not None:
                    deals.append(planner.deal(rep, team, engaged))
            month = next_month
    # A few house-account deals with no rep (DESIGN §3): only the organisation counts them.
    for _ in range(max(3, len(deals) // 150)):
        team = rng.choice(roster.teams)
        engaged = draws.day_between(horizon.start, horizon.today - timedelta(days=5))
        deals.append(planner.deal(None, team, engaged))
    # ids follow creation order, as a CRM's would
    deals.sort(key=lambda d: d.created)
    for deal in deals:
        if deal.rep is not None:
            deal.credit_team = deal.rep.team_on(deal.closed or horizon.today)
    return deals


@dataclass(frozen=True)
class _Basket:
    products: list[int]
    list_price: Decimal
    discount: float
    value: float  # before the outcome adjusts it


@dataclass(frozen=True)
class _Motion:
    channel: Channel
    partner: int | None
    play: int | None
    deliverables: list[int]


class _DealPlanner:
    def __init__(self, draws: Draws, horizon: Horizon, reps: list[PlannedRep]) -> None:
        self.draws = draws
        self.rng = draws.rng
        self.horizon = horizon
        self.reps = reps

    def deal(self, rep: PlannedRep | None, team: PlannedTeam, engaged: date) -> PlannedDeal:
        rng, today = self.rng, self.horizon.today
        account = self.draws.weighted(team.accounts, [a.weight for a in team.accounts])
        basket = self.basket(team, engaged)
        motion = self.motion(rep, engaged)
        has_poc, poc_success, won = self.outcome(rep, team, account, engaged, basket, motion)
        closed = self.close_day(team, engaged, len(basket.products), has_poc, won)
        created = engaged - timedelta(days=rng.randint(0, 21))
        deal = PlannedDeal(
            rep=rep,
            identified_by=self.identifier(rep, team, engaged),
            account=account,
            products=basket.products,
            stage=Stage.WON if won else Stage.LOST,
            created=created,
            engaged=engaged,
            closed=closed,
            amount=None,
            profit=None,
            channel=motion.channel,
            partner=motion.partner,
            play=motion.play,
            poc=(Poc.SUCCESS if poc_success else Poc.FAILURE) if has_poc else Poc.NONE,
            deliverables=motion.deliverables,
            list_price=basket.list_price,
        )
        if closed > today:
            self.leave_open(deal, engaged, closed, has_poc, basket.value)
        else:
            self.settle(deal, team, won, basket, motion.channel)
        if rep is not None and rep.leave is not None and (deal.closed or today) > rep.leave:
            deal.rep = self.successor(rep, deal.closed or today)
        return deal

    def basket(self, team: PlannedTeam, engaged: date) -> _Basket:
        """The products (mostly of the team's favourite line), their units, discount and value."""
        rng, weighted = self.rng, self.draws.weighted
        n_products = weighted((1, 2, 3), (0.66, 0.26, 0.08))
        line = weighted(LINES, team.spec.focus)
        products = [weighted([i for i, p in enumerate(PRODUCTS) if p[0] == line], (3, 2, 1))]
        while len(products) < n_products:
            other_line = rng.random() < 0.6
            pool = [
                i
                for i, p in enumerate(PRODUCTS)
                if i not in products and ((p[0] != line) if other_line else (p[0] == line))
            ]
            products.append(rng.choice(pool))
        units = [weighted((1, 2, 3, 4), (5, 3, 2, 1)) for _ in products]
        list_value = sum(PRODUCTS[i][2] * u for i, u in zip(products, units, strict=True))
        list_price = sum(PRODUCTS[i][2] for i in products)
        discount = rng.uniform(0.0, 0.25)
        years = (engaged - self.horizon.start).days / 365.25
        value = list_value * (1 - discount) * team.spec.deal_size * (1 + team.region.growth) ** years
        value *= rng.lognormvariate(0, 0.2)
        return _Basket(products, Decimal(list_price), discount, value)

    def motion(self, rep: PlannedRep | None, engaged: date) -> _Motion:
        """How it is sold: direct or through a partner, under a strategic play, with deliverables."""
        rng = self.rng
        channel = Channel.PARTNER if rng.random() < 0.27 else Channel.DIRECT
        partner = rng.randrange(len(PARTNERS)) if channel == Channel.PARTNER else None
        year_start = date(self.horizon.today.year, 1, 1)
        live_plays = [i for i, p in enumerate(PLAYS) if engaged >= add_months(year_start, -p[2])]
        play = rng.choice(live_plays) if live_plays and rng.random() < 0.24 else None
        uses_deliverables = rng.random() < clamp(0.5 * (rep.diligence if rep else 1.0), 0.1, 0.85)
        deliverables = (
            sorted(rng.sample(range(len(DELIVERABLES)), self.draws.weighted((1, 2, 3), (5, 3, 1))))
            if uses_deliverables
            else []
        )
        return _Motion(channel, partner, play, deliverables)

    def outcome(
        self,
        rep: PlannedRep | None,
        team: PlannedTeam,
        account: PlannedAccount,
        engaged: date,
        basket: _Basket,
        motion: _Motion,
    ) -> tuple[bool, bool, bool]:
        """(has a POC, the POC succeeds, the deal is won)."""
        rng = self.rng
        skill = rep.skill if rep else 0.9
        product_certified = bool(rep and rep.certified_on(engaged, CertificationCategory.PRODUCT))
        credentials = rep.certified_on(engaged, CertificationCategory.CUSTOMER_INDUSTRY) if rep else []
        has_poc = rng.random() < 0.16 + (0.14 if basket.value > 90000 else 0) + (
            0.1 if motion.play is not None else 0
        )
        poc_success = rng.random() < clamp(
            0.6 + (0.1 if product_certified else 0) + 0.15 * (skill - 1), 0.3, 0.9
        )

        p = 0.34
        p += (
            0.05 * (motion.channel == Channel.PARTNER)
            + 0.08 * (motion.play is not None)
            + 0.15 * bool(motion.deliverables)
        )
        p += 0.1 * product_certified + 0.04 * bool(rep and rep.trained and rep.trained <= engaged)
        p += 0.05 * any(CREDENTIAL_SECTOR.get(c.type_name) == account.sector for c in credentials)
        if has_poc:
            p += 0.24 if poc_success else -0.28
        # the rep's and the team's strength scale everything: a weak seller wastes good assets too
        won = rng.random() < clamp(p * skill * team.spec.quality, 0.04, 0.92)
        return has_poc, poc_success, won

    def close_day(self, team: PlannedTeam, engaged: date, n_products: int, has_poc: bool, won: bool) -> date:
        """The expected close: longer for bigger baskets, POCs and losses; some rush to the quarter end."""
        rng = self.rng
        cycle = rng.lognormvariate(math.log(34), 0.45) * (1 + 0.2 * (n_products - 1))
        cycle *= (1.3 if has_poc else 1.0) * (team.spec.deal_size**0.5) * (1.0 if won else 1.15)
        closed = engaged + timedelta(days=max(7, int(cycle)))
        if rng.random() < 0.3:  # the end-of-quarter rush
            quarter_end = periods.period_containing(closed, periods.QUARTER).end
            closed = max(closed, quarter_end - timedelta(days=rng.randint(0, 12)))
        return closed

    def leave_open(self, deal: PlannedDeal, engaged: date, closed: date, has_poc: bool, value: float) -> None:
        """A deal that closes after today: still open, at the stage its progress has reached."""
        rng = self.rng
        progress = (self.horizon.today - engaged).days / (closed - engaged).days
        stage = next(s for limit, s in _OPEN_STAGE_BY_PROGRESS if progress < limit)
        deal.stage, deal.closed = stage, None
        if has_poc and progress < 0.55:
            deal.poc = Poc.RUNNING
        if rng.random() >= _MISSING_AMOUNT.get(stage, 0.0):
            deal.amount = money(value)
        if stage == Stage.PROSPECTING and rng.random() < 0.4:
            deal.engaged = None  # created, not yet engaged

    def settle(
        self, deal: PlannedDeal, team: PlannedTeam, won: bool, basket: _Basket, channel: Channel
    ) -> None:
        """A closed deal's amount, and a won deal's profit (thinner with discounts and partners)."""
        rng, products, value = self.rng, basket.products, basket.value
        if won:
            value *= rng.uniform(0.92, 1.03) * (1.2 if deal.closed and deal.closed.month >= 10 else 1.0)
            margin = sum(PRODUCTS[i][3] * PRODUCTS[i][2] for i in products) / sum(
                PRODUCTS[i][2] for i in products
            )
            margin += (
                rng.gauss(0, 0.05) - 0.4 * (basket.discount - 0.12) - 0.03 * (channel == Channel.PARTNER)
            )
            margin -= 0.05 * (team.spec.quality < 0.8)
            deal.profit = money(value * margin)
        deal.amount = money(value)

    def identifier(self, rep: PlannedRep | None, team: PlannedTeam, day: date) -> PlannedRep | None:
        """Who found the deal: often its rep, sometimes a teammate, else nobody recorded."""
        rng = self.rng
        if rep is not None and rng.random() < rep.prospecting:
            return rep
        if rng.random() < 0.15:
            peers = [r for r in self.reps if r is not rep and r.active_on(day) and r.team_on(day) is team]
            if peers:
                return rng.choice(peers)
        return None

    def successor(self, leaver: PlannedRep, day: date) -> PlannedRep:
        """Who inherits a leaver's deal that closes (or is still open) after they left."""
        team = leaver.team_on(leaver.leave or day)
        region = team.region if team else None
        for scope in (
            lambda r: r.team_on(day) is team,
            lambda r: (t := r.team_on(day)) is not None and t.region is region,
            lambda r: r.team_on(day) is not None,
        ):
            heirs = [r for r in self.reps if r is not leaver and r.active_on(day) and scope(r)]
            if heirs:
                return self.rng.choice(heirs)
        return leaver
