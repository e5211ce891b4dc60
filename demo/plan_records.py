"""The plain records a demo plan is made of, the span of history it covers and its random draws.

No Django here: a plan is drawn in memory and only ``demo.writer`` turns it into rows. Records refer
to each other by identity (a deal holds its rep), so the mutable ones compare by identity.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import TypeVar

from scorecard import periods

from .choices import CertificationCategory
from .data import PRODUCTS, RegionSpec, TeamSpec

T = TypeVar("T")


# --- small helpers ------------------------------------------------------------------------------


def add_months(day: date, months: int) -> date:
    y, m = divmod(day.year * 12 + day.month - 1 + months, 12)
    last = (date(y + (m + 1) // 12, (m + 1) % 12 + 1, 1) - timedelta(days=1)).day
    return date(y, m + 1, min(day.day, last))


def at(day: date, hour: int = 9) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


def money(x: float) -> Decimal:
    return Decimal(int(round(x)))


def decimal_rounded(x: float, places: int = 2) -> Decimal:
    return Decimal(str(round(x, places)))


def clamp(x: float, lo: float, hi: float) -> float:
    return max(lo, min(hi, x))


class Draws:
    """Every random draw of a plan, from one ``random.Random(seed)`` in a fixed order."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def poisson(self, lam: float) -> int:
        limit, k, p = math.exp(-lam), 0, 1.0
        while True:
            p *= self.rng.random()
            if p <= limit:
                return k
            k += 1

    def weighted(self, items: Sequence[T], weights: Sequence[float]) -> T:
        return self.rng.choices(items, weights=weights, k=1)[0]

    def day_between(self, first: date, last: date) -> date:
        return first + timedelta(days=self.rng.randint(0, max(0, (last - first).days)))


@dataclass(frozen=True)
class Horizon:
    """The history a plan covers: two full calendar years before today's, so every year has a last year."""

    today: date
    start: date
    current_quarter: periods.Period

    @classmethod
    def up_to(cls, today: date) -> Horizon:
        return cls(
            today=today,
            start=date(today.year - 2, 1, 1),
            current_quarter=periods.period_containing(today, periods.QUARTER),
        )

    def quarters(self) -> list[periods.Period]:
        return periods.periods_between(self.start, self.today, periods.QUARTER)

    def years(self) -> list[periods.Period]:
        return periods.periods_between(self.start, self.today, periods.YEAR)


# --- who sells to whom --------------------------------------------------------------------------


@dataclass(eq=False)
class PlannedAccount:
    index: int
    name: str
    sector: str
    country: str
    weight: float  # how often the team's deals land here (a few key accounts buy again and again)


@dataclass(eq=False)
class PlannedTeam:
    spec: TeamSpec
    region: RegionSpec
    accounts: list[PlannedAccount] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.spec.name


@dataclass(frozen=True)
class PlannedCertification:
    type_name: str
    category: CertificationCategory
    earned: date
    expires: date | None


@dataclass(eq=False)
class PlannedRep:
    index: int
    name: str
    hire: date
    skill: float
    activity: float
    prospecting: float
    diligence: float
    leave: date | None = None
    # (team, start, end inclusive or None), consecutive and non-overlapping
    assignments: list[tuple[PlannedTeam, date, date | None]] = field(default_factory=list)
    certifications: list[PlannedCertification] = field(default_factory=list)
    trained: date | None = None

    def active_on(self, day: date) -> bool:
        return self.hire <= day and (self.leave is None or day <= self.leave)

    def team_on(self, day: date) -> PlannedTeam | None:
        for team, start, end in self.assignments:
            if start <= day and (end is None or day <= end):
                return team
        return None

    def certified_on(self, day: date, category: CertificationCategory) -> list[PlannedCertification]:
        return [
            c
            for c in self.certifications
            if c.category == category and c.earned <= day and (c.expires is None or day <= c.expires)
        ]


@dataclass(frozen=True)
class PlannedParticipation:
    rep: PlannedRep
    program: int  # position in data.PROGRAMS
    start: date
    end: date | None


@dataclass
class Roster:
    teams: list[PlannedTeam]
    reps: list[PlannedRep]
    demo_rep: PlannedRep  # the demo rep user's own records
    laggard: PlannedRep  # a rep well below quota in a good team, for the manager to find


@dataclass(eq=False)
class PlannedDeal:
    rep: PlannedRep | None
    identified_by: PlannedRep | None
    account: PlannedAccount
    products: list[int]  # positions in data.PRODUCTS
    stage: str
    created: date
    engaged: date | None
    closed: date | None
    amount: Decimal | None
    profit: Decimal | None
    channel: str
    partner: int | None  # position in data.PARTNERS
    play: int | None  # position in data.PLAYS
    poc: str
    deliverables: list[int]  # positions in data.DELIVERABLES
    list_price: Decimal  # what an open deal without an amount is worth in the pipeline
    credit_team: PlannedTeam | None = None

    @property
    def value(self) -> float:
        return float(self.amount or 0)

    @property
    def lines(self) -> list[str]:
        return sorted({PRODUCTS[i][0] for i in self.products})


# --- what managers enter: measurements, targets, notes ------------------------------------------

# A scope is a territory by name: "" is the root, else a region's or a team's name (all distinct).


@dataclass(frozen=True)
class PlannedMeasurement:
    kpi: str  # slug
    scope: str | None
    rep: PlannedRep | None
    period: str
    value: Decimal
    weight: float | None
    entered_by: str  # demo username
    entered_at: datetime
    note: str = ""


@dataclass(eq=False)
class PlannedTarget:
    kpi: str  # slug
    scope: str | None
    rep: PlannedRep | None
    period: str
    goal: Decimal
    red_flag: Decimal | None
    reason: str
    set_by: str  # demo username
    set_at: datetime
    superseded_at: datetime | None = None


@dataclass(frozen=True)
class PlannedNote:
    kind: str
    period: str
    kpi: str | None  # slug
    objective_of: str | None  # the note is on this KPI's objective
    rep: PlannedRep | None
    scope: str | None
    author: str  # demo username
    text: str
    created_at: datetime
    due_date: date | None = None
    done: bool = False


@dataclass
class DemoPlan:
    """Everything the demo organisation holds, drawn from a seed, a day and a size."""

    horizon: Horizon
    roster: Roster
    participations: list[PlannedParticipation]
    accounts: list[PlannedAccount]
    deals: list[PlannedDeal]  # in creation order
    measurements: list[PlannedMeasurement]
    targets: list[PlannedTarget]  # superseded ones included
    notes: list[PlannedNote]

    @property
    def today(self) -> date:
        return self.horizon.today

    def certifications(self) -> list[tuple[PlannedRep, PlannedCertification]]:
        return [(rep, c) for rep in self.roster.reps for c in rep.certifications]
