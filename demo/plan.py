"""The synthetic demo as a plan (DESIGN §6): deterministic, with history up to "today", no database.

``plan_demo(seed=..., today=..., size=...)`` draws "Northwind Systems": a three-level territory tree,
reps with hires, leavers and effective-dated moves, 2+ years of opportunities up to ``today`` (so the
current quarter is live), certifications, programme participation, manual measurements, targets with
history and coaching notes. The same seed and the same day give the same plan: every draw comes from
one ``random.Random(seed)`` in a fixed order, and every date is computed from ``today``.
``demo.writer`` stores a plan.

The story the numbers tell, so that a manager has something to find: revenue grows year over year
with a strong fourth quarter and end-of-quarter closes; Mid-Market (North America) and Japan (APAC)
underperform; a few reps are well below quota, one of them in an otherwise good team; certified reps,
successful POCs, strategic plays and technical deliverables all lift the win rate.
"""

from __future__ import annotations

from datetime import date

from .data import SIZES
from .plan_baselines import market_sizes
from .plan_deals import plan_accounts, plan_deals
from .plan_measurements import plan_measurements
from .plan_notes import plan_notes
from .plan_people import plan_certifications, plan_programmes, plan_roster
from .plan_records import DemoPlan, Draws, Horizon
from .plan_targets import plan_targets


def plan_demo(*, seed: int, today: date, size: str = "full") -> DemoPlan:
    """The whole demo organisation in memory; the steps draw in this order, so it must not change."""
    draws = Draws(seed)
    horizon = Horizon.up_to(today)
    shape = SIZES[size]
    roster = plan_roster(draws, horizon, shape)
    plan_certifications(draws, horizon, roster.reps)
    participations = plan_programmes(draws, horizon, roster.reps)
    accounts = plan_accounts(draws, roster.teams, shape)
    deals = plan_deals(draws, horizon, shape, roster)
    market = market_sizes(draws, horizon, roster.teams, deals)
    measurements = plan_measurements(draws, horizon, roster, market)
    targets = plan_targets(draws, horizon, roster, deals, market)
    return DemoPlan(
        horizon=horizon,
        roster=roster,
        participations=participations,
        accounts=accounts,
        deals=deals,
        measurements=measurements,
        targets=targets,
        notes=plan_notes(horizon, roster),
    )
