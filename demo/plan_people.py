"""Planning the sales force: teams, reps with hires, leavers and moves, certifications and programmes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

from .choices import CertificationCategory
from .data import (
    BOOTCAMP,
    CERTIFICATION_TYPES,
    EMERGING_LEADERS,
    EXECUTIVE_EDUCATION,
    FIRST_NAMES,
    GROWTH_TEAMS,
    LAST_NAMES,
    MOBILITY_ROTATION,
    POC_WORKSHOP,
    REGIONS,
    WOMEN_IN_SALES,
    Size,
)
from .plan_records import (
    Draws,
    Horizon,
    PlannedCertification,
    PlannedParticipation,
    PlannedRep,
    PlannedTeam,
    Roster,
    add_months,
    clamp,
)


class _Hiring:
    """Hands out reps with drawn traits and unique names, numbered in the order they are hired."""

    def __init__(self, draws: Draws) -> None:
        self.draws = draws
        names = [f"{first} {last}" for first in FIRST_NAMES for last in LAST_NAMES]
        draws.rng.shuffle(names)
        self.names: Iterator[str] = iter(names)
        self.reps: list[PlannedRep] = []

    def hire(self, day: date, team: PlannedTeam) -> PlannedRep:
        rng = self.draws.rng
        rep = PlannedRep(
            index=len(self.reps),
            name=next(self.names),
            hire=day,
            skill=clamp(rng.lognormvariate(0, 0.14), 0.75, 1.35),
            activity=clamp(rng.gauss(1.0, 0.12), 0.75, 1.3),
            prospecting=clamp(rng.gauss(0.25, 0.15), 0.03, 0.8),
            diligence=clamp(rng.gauss(1.0, 0.25), 0.4, 1.6),
        )
        rep.assignments.append((team, day, None))
        self.reps.append(rep)
        return rep


def plan_roster(draws: Draws, horizon: Horizon, size: Size) -> Roster:
    """The teams and every rep who sold in them, with the story's demo rep and laggard marked."""
    rng = draws.rng
    teams = [PlannedTeam(spec=spec, region=region) for region in REGIONS for spec in region.teams]
    hiring = _Hiring(draws)
    initial: list[PlannedRep] = []
    for team in teams:
        count = size.reps_per_team or team.spec.reps
        if team.name == "Enterprise East":
            count = max(count, 2)  # the demo rep and a laggard the manager should find
        for _ in range(count):
            initial.append(hiring.hire(horizon.start - timedelta(days=rng.randint(90, 2600)), team))
    east = [r for r in initial if r.assignments[0][0].name == "Enterprise East"]
    demo_rep, laggard = east[0], east[1]
    demo_rep.skill, demo_rep.prospecting = 1.1, 0.7
    laggard.skill, laggard.activity, laggard.prospecting = 0.5, 0.8, 0.05
    others = [r for r in initial if r not in (demo_rep, laggard)]
    for rep in rng.sample(others, min(2, len(others))):
        rep.skill = round(rng.uniform(0.5, 0.62), 3)  # two more reps well below their peers
    _plan_turnover(draws, horizon, size, hiring, teams, others)
    growth_teams = [t for t in teams if t.name in GROWTH_TEAMS]
    for i in range(size.growth_hires):
        hiring.hire(horizon.today - timedelta(days=rng.randint(60, 540)), growth_teams[i % len(growth_teams)])
    return Roster(teams=teams, reps=hiring.reps, demo_rep=demo_rep, laggard=laggard)


def _plan_turnover(
    draws: Draws,
    horizon: Horizon,
    size: Size,
    hiring: _Hiring,
    teams: list[PlannedTeam],
    others: list[PlannedRep],
) -> None:
    """Leavers (replaced when there is time) and reps who move to another team."""
    rng = draws.rng
    candidates = list(others)
    rng.shuffle(candidates)
    # the first leaver is from Mid-Market: its open headcount explains a quota cut in the live quarter
    first_out = next((r for r in candidates if r.assignments[0][0].name == "Mid-Market"), candidates[0])
    candidates.remove(first_out)
    candidates.insert(0, first_out)
    leavers = candidates[: size.leavers]
    movers = candidates[size.leavers : size.leavers + size.movers]
    history_days = (horizon.today - horizon.start).days
    for i, rep in enumerate(leavers):
        team = rep.assignments[0][0]
        if i == 0 and horizon.today - timedelta(days=20) >= horizon.current_quarter.start:
            leave = horizon.today - timedelta(days=rng.randint(3, 20))  # turnover in the live quarter
        else:
            leave = horizon.start + timedelta(days=rng.randint(90, max(91, history_days - 60)))
        rep.leave = leave
        rep.assignments[0] = (team, rep.assignments[0][1], leave)
        hire = leave + timedelta(days=rng.randint(20, 75))
        if hire <= horizon.today - timedelta(days=10):
            hiring.hire(hire, team)
    for rep in movers:
        old_team, start, _ = rep.assignments[0]
        region_teams = [t for t in teams if t.region is old_team.region and t is not old_team]
        new_team = rng.choice(
            region_teams if region_teams and rng.random() < 0.6 else [t for t in teams if t is not old_team]
        )
        moved = horizon.start + timedelta(days=rng.randint(120, max(121, history_days - 45)))
        rep.assignments = [(old_team, start, moved - timedelta(days=1)), (new_team, moved, None)]


def plan_certifications(draws: Draws, horizon: Horizon, reps: list[PlannedRep]) -> None:
    """Each rep's certifications (drawn before the deals: certified reps win more)."""
    rng = draws.rng
    product_types = [c for c in CERTIFICATION_TYPES if c[1] == CertificationCategory.PRODUCT]
    for rep in reps:
        last_day = min(horizon.today, rep.leave or horizon.today)
        first_day = max(rep.hire, horizon.start - timedelta(days=900))
        # product certifications: most reps, renewed (or not) when they expire
        chosen = rng.sample(product_types, 2 if rng.random() < 0.3 else 1) if rng.random() < 0.93 else []
        for name, category, _issuer, validity in chosen:
            earned = first_day + timedelta(days=rng.randint(20, 300))
            while earned <= last_day:
                expires = add_months(earned, validity) if validity else None
                rep.certifications.append(PlannedCertification(name, category, earned, expires))
                if expires is None or rng.random() > 0.85:
                    break  # lets some lapse
                earned = expires - timedelta(days=rng.randint(0, 40))
        for category, chance in (
            (CertificationCategory.INDUSTRY, 0.4),
            (CertificationCategory.CUSTOMER_INDUSTRY, 0.3),
        ):
            if rng.random() < chance:
                name, _, _, validity = rng.choice([c for c in CERTIFICATION_TYPES if c[1] == category])
                earned = draws.day_between(first_day, last_day)
                expires = add_months(earned, validity) if validity else None
                rep.certifications.append(PlannedCertification(name, category, earned, expires))


def plan_programmes(draws: Draws, horizon: Horizon, reps: list[PlannedRep]) -> list[PlannedParticipation]:
    """Programme participation of every kind; a rep who finishes the bootcamp counts as trained."""
    rng, today = draws.rng, horizon.today
    out: list[PlannedParticipation] = []

    def join(rep: PlannedRep, program: int, start: date, end: date | None) -> None:
        out.append(PlannedParticipation(rep, program, start, end))

    def end_or_open(end: date) -> date | None:
        return None if end > today else end

    for rep in reps:
        first = max(rep.hire, horizon.start - timedelta(days=180))
        last = min(today, rep.leave or today)
        if rng.random() < 0.3:
            join(rep, WOMEN_IN_SALES, draws.day_between(first, last), rep.leave)
        if len(rep.assignments) > 1:
            moved = rep.assignments[1][1]
            start = max(rep.hire, moved - timedelta(days=60))
            join(rep, MOBILITY_ROTATION, start, end_or_open(moved + timedelta(days=120)))
        cohorts = [y for y in range(horizon.start.year, today.year + 1) if rep.active_on(date(y, 1, 15))]
        if rep.skill >= 1.05 and cohorts and rng.random() < 0.8:
            cohort = rng.choice(cohorts)
            join(rep, EMERGING_LEADERS, date(cohort, 1, 15), end_or_open(date(cohort, 12, 15)))
        if rng.random() < 0.35:
            start = draws.day_between(first, last)
            join(rep, EXECUTIVE_EDUCATION, start, end_or_open(start + timedelta(days=rng.randint(300, 720))))
        if rng.random() < 0.65:
            start = draws.day_between(first, last)
            join(rep, BOOTCAMP, start, end_or_open(start + timedelta(days=4)))
            rep.trained = start + timedelta(days=4)
        if rng.random() < 0.2:
            start = draws.day_between(first, last)
            join(rep, POC_WORKSHOP, start, end_or_open(start + timedelta(days=1)))
    career = [r for r in reps if len(r.assignments) == 1 and r.leave is None]
    for rep in rng.sample(career, min(2, len(career))):
        start = draws.day_between(max(rep.hire, today - timedelta(days=300)), today)
        join(rep, MOBILITY_ROTATION, start, None)  # preparing a move that has not happened yet
    return out
