"""Planning the manual measurements: surveys per team (and region) each quarter, skills per rep."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from scorecard import periods

from .data import MANAGER_REGION, REGIONS
from .plan_baselines import MarketSizes
from .plan_records import Draws, Horizon, PlannedMeasurement, PlannedTeam, Roster, at, clamp, decimal_rounded

# the people surveys, also reported per region as the headcount-weighted mean of its teams
_PEOPLE_SURVEYS = ("employee_engagement", "skill_assessment")


def _team_quality_trend(team: PlannedTeam, quarter_index: int) -> float:
    """How well a team is doing with its customers and people (0 bad … 1 great), drifting over time."""
    return clamp(0.5 + (team.spec.quality - 0.95) * 1.3 + 0.015 * quarter_index, 0.05, 0.98)


def _team_values(
    draws: Draws, team: PlannedTeam, quality: float, headcount: int, market: float, live: bool
) -> dict[str, tuple[float, float | None]]:
    """KPI slug -> (value, weight) of one team's measurements in one quarter."""
    rng = draws.rng
    values: dict[str, tuple[float, float | None]] = {
        "nps": (round(8 + 50 * quality + rng.gauss(0, 5)), rng.randint(18, 70)),
        "csat": (round(clamp(68 + 25 * quality + rng.gauss(0, 3), 50, 98), 1), rng.randint(30, 120)),
        "market_size": (market, None),
    }
    if not live:  # surveys report after the quarter closes
        values |= {
            "customer_value_proposition": (
                round(clamp(3.2 + 1.4 * quality + rng.gauss(0, 0.12), 1, 5), 2),
                rng.randint(10, 40),
            ),
            "innovation_rating": (
                round(clamp(0.3 + 0.45 * quality + rng.gauss(0, 0.04), 0, 1), 3),
                rng.randint(10, 40),
            ),
            "employee_engagement": (round(clamp(52 + 32 * quality + rng.gauss(0, 3), 0, 100), 1), headcount),
            "skill_assessment": (round(clamp(2.6 + 1.5 * quality + rng.gauss(0, 0.12), 1, 5), 2), headcount),
        }
    return values


def plan_measurements(
    draws: Draws, horizon: Horizon, roster: Roster, market: MarketSizes
) -> list[PlannedMeasurement]:
    """Every quarter: NPS, CSAT and market size per team; after it closes, the other surveys too."""
    rows: list[PlannedMeasurement] = []
    for quarter_index, quarter in enumerate(horizon.quarters()):
        live = quarter.key == horizon.current_quarter.key
        entered_on = horizon.today if live else min(horizon.today, quarter.end + timedelta(days=6))
        entered_at = at(entered_on, 17)
        # (slug, region name, value, headcount) of the people surveys
        survey_inputs: list[tuple[str, str, float, int]] = []
        for team in roster.teams:
            quality = _team_quality_trend(team, quarter_index)
            headcount = sum(1 for r in roster.reps if r.team_on(min(quarter.end, horizon.today)) is team) or 1
            values = _team_values(draws, team, quality, headcount, market[(team.name, quarter.key)], live)
            for slug, (value, weight) in values.items():
                rows.append(
                    PlannedMeasurement(
                        slug,
                        team.name,
                        None,
                        quarter.key,
                        decimal_rounded(value, 3),
                        weight,
                        "admin",
                        entered_at,
                    )
                )
                if slug in _PEOPLE_SURVEYS:
                    survey_inputs.append((slug, team.region.name, value, headcount))
        rows += _region_surveys(survey_inputs, quarter.key, entered_at)
        if not live:
            rows += _rep_skills(draws, roster, quarter, quarter_index, entered_at)
    rows[0] = replace(rows[0], note="First quarter surveyed with the new NPS vendor.")
    return rows


def _region_surveys(
    survey_inputs: list[tuple[str, str, float, int]], period: str, entered_at: datetime
) -> list[PlannedMeasurement]:
    rows: list[PlannedMeasurement] = []
    for slug in _PEOPLE_SURVEYS:
        if not any(s == slug for s, *_ in survey_inputs):
            continue
        for region in REGIONS:
            own = [
                (value, weight)
                for s, name, value, weight in survey_inputs
                if s == slug and name == region.name
            ]
            total = sum(w for _, w in own)
            rows.append(
                PlannedMeasurement(
                    slug,
                    region.name,
                    None,
                    period,
                    decimal_rounded(sum(v * w for v, w in own) / total, 3),
                    total,
                    "manager" if region.name == MANAGER_REGION else "admin",
                    entered_at,
                )
            )
    return rows


def _rep_skills(
    draws: Draws, roster: Roster, quarter: periods.Period, quarter_index: int, entered_at: datetime
) -> list[PlannedMeasurement]:
    """Skill assessments recorded per rep, for the reps on a team at the quarter's end."""
    rows: list[PlannedMeasurement] = []
    for rep in roster.reps:
        if rep.team_on(min(quarter.end, rep.leave or quarter.end)) is None or not rep.active_on(quarter.end):
            continue
        score = clamp(2.4 + 1.1 * rep.skill + 0.02 * quarter_index + draws.rng.gauss(0, 0.2), 1, 5)
        rows.append(
            PlannedMeasurement(
                "skill_assessment",
                None,
                rep,
                quarter.key,
                decimal_rounded(score, 2),
                None,
                "manager",
                entered_at,
            )
        )
    return rows
