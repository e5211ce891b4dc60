"""The synthetic demo organisation (DESIGN §6): deterministic, with history up to "today".

``demo_create(seed=..., today=...)`` builds "Northwind Systems" (slug ``demo``): a three-level territory
tree, reps with hires, leavers and effective-dated moves, 2+ years of opportunities up to ``today``
(so the current quarter is live), certifications, programme participation, manual measurements,
targets with history, coaching notes and one demo user per role. The same seed and the same day
give the same data: every draw comes from one ``random.Random(seed)`` in a fixed order, and every
date is computed from ``today``.

The story the numbers tell, so that a manager has something to find: revenue grows year over year
with a strong fourth quarter and end-of-quarter closes; Mid-Market (North America) and Japan (APAC)
underperform; a few reps are well below quota, one of them in an otherwise good team; certified reps,
successful POCs, strategic plays and technical deliverables all lift the win rate.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction

from kpis.models import KPI, Direction, Measurement, Note, NoteKind, Source, Target
from people.models import (
    Certification,
    CertificationCategory,
    CertificationType,
    Program,
    ProgramKind,
    ProgramParticipation,
)
from sales.models import (
    Account,
    Channel,
    Deliverable,
    Opportunity,
    Partner,
    Poc,
    Product,
    Stage,
    StrategicPlay,
)
from territories.models import Rep, Territory, TerritoryAssignment
from territories.services import territory_child_create

from . import periods
from .models import Membership, Organization, Role
from .services import organization_create, organization_delete

DEMO_SLUG = "demo"
DEMO_NAME = "Northwind Systems"
DEMO_PASSWORD = "demo"
DEMO_SEED = 7
# Demo users carry this e-mail domain; a user of the same name without it is never touched.
DEMO_EMAIL_DOMAIN = "demo.northwind.example"
MANAGER_REGION = "North America"
DEMO_USERS = ("admin", "manager", "rep", "viewer")


class DemoError(Exception):
    """The demo cannot be (re)built, e.g. a real user holds one of the demo usernames."""


# --- the shape of the company ------------------------------------------------------------------


@dataclass(frozen=True)
class TeamSpec:
    name: str
    reps: int  # initial headcount in the full demo
    quality: float  # multiplies the win probability: < 1 is an underperforming team
    deal_size: float  # multiplies deal amounts (enterprise teams sell bigger deals)
    countries: tuple[str, ...]
    focus: tuple[float, float, float, float]  # weights of the four product lines
    lead: str


@dataclass(frozen=True)
class RegionSpec:
    name: str
    growth: float  # yearly growth of deal amounts
    lead: str
    teams: tuple[TeamSpec, ...]


REGIONS = (
    RegionSpec(
        MANAGER_REGION,
        0.09,
        "",  # owned by the demo manager user
        (
            TeamSpec("Enterprise East", 4, 1.08, 1.45, ("United States",), (3, 3, 2, 2), "Grace Holloway"),
            TeamSpec(
                "Enterprise West", 4, 1.0, 1.35, ("United States", "Canada"), (3, 2, 3, 2), "Marcus Bell"
            ),
            TeamSpec("Mid-Market", 4, 0.66, 0.75, ("United States", "Canada"), (4, 2, 2, 1), "Tom Reyes"),
        ),
    ),
    RegionSpec(
        "EMEA",
        0.11,
        "Ingrid Larsen",
        (
            TeamSpec(
                "UK & Ireland", 4, 1.0, 1.1, ("United Kingdom", "Ireland"), (3, 3, 2, 2), "Oliver Grant"
            ),
            TeamSpec(
                "DACH", 3, 1.2, 1.25, ("Germany", "Austria", "Switzerland"), (2, 3, 3, 2), "Jonas Weber"
            ),
            TeamSpec(
                "Nordics",
                3,
                0.95,
                0.9,
                ("Sweden", "Norway", "Denmark", "Finland"),
                (3, 2, 2, 1),
                "Sofie Dahl",
            ),
        ),
    ),
    RegionSpec(
        "APAC",
        0.04,
        "Kenji Watanabe",
        (
            TeamSpec("ANZ", 3, 1.05, 1.0, ("Australia", "New Zealand"), (3, 2, 3, 2), "Chloe Mitchell"),
            TeamSpec("Japan", 3, 0.7, 1.15, ("Japan",), (2, 3, 2, 3), "Haruto Sato"),
        ),
    ),
    RegionSpec(
        "Latin America",
        0.2,
        "Lucia Fernandez",
        (
            TeamSpec("Brazil", 3, 1.0, 0.8, ("Brazil",), (3, 2, 2, 2), "Rafael Costa"),
            TeamSpec(
                "Mexico & Andean",
                2,
                0.92,
                0.7,
                ("Mexico", "Colombia", "Peru", "Chile"),
                (3, 2, 1, 2),
                "Ana Morales",
            ),
        ),
    ),
)

# (line, name, list price, gross margin of the line)
PRODUCTS = (
    ("Cloud Platform", "Northwind Cloud Core", 48000, 0.24),
    ("Cloud Platform", "Northwind Cloud Edge", 22000, 0.24),
    ("Cloud Platform", "Northwind Backup", 9500, 0.24),
    ("Data & Analytics", "Insight Warehouse", 65000, 0.21),
    ("Data & Analytics", "Insight Dashboards", 12000, 0.21),
    ("Data & Analytics", "Insight AI Studio", 38000, 0.21),
    ("Security", "Sentinel Identity", 18000, 0.19),
    ("Security", "Sentinel Zero Trust", 42000, 0.19),
    ("Security", "Sentinel SOC Service", 30000, 0.19),
    ("Services", "Migration Services", 25000, 0.09),
    ("Services", "Managed Operations", 55000, 0.09),
    ("Services", "Advisory Workshop", 8000, 0.09),
)
LINES = ("Cloud Platform", "Data & Analytics", "Security", "Services")

PARTNERS = (
    "Accenture Alliance",
    "Bluewave Integrators",
    "Crestline Consulting",
    "Datacore Resellers",
    "Everpeak Systems",
    "Fjord Digital",
)
# (name, description, months before "today"'s year start when the play was launched)
PLAYS = (
    ("Cloud migration wave", "Move on-premises estates to Northwind Cloud Core with Migration Services.", 30),
    ("Zero-trust security", "Lead with Sentinel Zero Trust in regulated industries.", 24),
    ("AI-ready data platform", "Insight Warehouse plus AI Studio for analytics-heavy customers.", 12),
    ("Managed operations upsell", "Convert installed-base customers to Managed Operations.", 4),
)
DELIVERABLES = (
    "Architecture overview",
    "Solution design document",
    "Project plan",
    "Business case",
    "Security assessment",
)

# (name, category, issuer, validity months)
CERTIFICATION_TYPES = (
    ("Northwind Cloud Certified Seller", CertificationCategory.PRODUCT, "Northwind Academy", 24),
    ("Insight Data Platform Specialist", CertificationCategory.PRODUCT, "Northwind Academy", 24),
    ("Sentinel Security Professional", CertificationCategory.PRODUCT, "Northwind Academy", 24),
    ("TOGAF 10 Foundation", CertificationCategory.INDUSTRY, "The Open Group", None),
    (
        "IEEE Professional Software Engineering Master",
        CertificationCategory.INDUSTRY,
        "IEEE Computer Society",
        36,
    ),
    ("ITIL 4 Foundation", CertificationCategory.INDUSTRY, "PeopleCert", None),
    ("LOMA FLMI (Fellow, Life Management Institute)", CertificationCategory.CUSTOMER_INDUSTRY, "LOMA", None),
    (
        "Certified Mortgage Banker",
        CertificationCategory.CUSTOMER_INDUSTRY,
        "Mortgage Bankers Association",
        36,
    ),
    ("ASQ Certified Quality Improvement Associate", CertificationCategory.CUSTOMER_INDUSTRY, "ASQ", 36),
)
# the customer sector each customer-industry credential speaks to
CREDENTIAL_SECTOR = {
    "LOMA FLMI (Fellow, Life Management Institute)": "Insurance",
    "Certified Mortgage Banker": "Banking",
    "ASQ Certified Quality Improvement Associate": "Manufacturing",
}

PROGRAMS = (
    (
        "Women in Sales Network",
        ProgramKind.DIVERSITY,
        "Mentoring circles and sponsorship for women in sales.",
    ),
    ("Internal Mobility Rotation", ProgramKind.CAREER_MOVEMENT, "Supported moves between teams and regions."),
    ("Emerging Leaders", ProgramKind.HIGH_POTENTIAL, "One-year cohort for future first-line managers."),
    ("Executive Education Sponsorship", ProgramKind.EDUCATION, "Sponsored university courses (MBA modules)."),
    (
        "Consultative Selling Bootcamp",
        ProgramKind.TRAINING,
        "One-week bootcamp on discovery and value selling.",
    ),
    ("POC Excellence Workshop", ProgramKind.TRAINING, "Scoping and running proofs of concept that convert."),
)

SECTORS = (
    "Insurance",
    "Banking",
    "Manufacturing",
    "Retail",
    "Healthcare",
    "Public Sector",
    "Telecom",
    "Energy",
)
ACCOUNT_WORDS = (
    "Atlas",
    "Beacon",
    "Cobalt",
    "Delta",
    "Ember",
    "Falcon",
    "Granite",
    "Harbor",
    "Iris",
    "Juniper",
    "Keystone",
    "Lumen",
    "Meridian",
    "Nimbus",
    "Orion",
    "Pioneer",
    "Quarry",
    "Redwood",
    "Summit",
    "Tidewater",
    "Union",
    "Vantage",
    "Willow",
    "Zenith",
    "Aurora",
    "Bridgeway",
    "Cascade",
    "Evergreen",
    "Frontier",
    "Horizon",
)
SECTOR_SUFFIX = {
    "Insurance": ("Mutual", "Life", "Assurance"),
    "Banking": ("Bank", "Financial", "Savings & Loan"),
    "Manufacturing": ("Industries", "Manufacturing", "Components"),
    "Retail": ("Retail Group", "Stores", "Brands"),
    "Healthcare": ("Health", "Medical Center", "Clinics"),
    "Public Sector": ("County Services", "Transit Authority", "Agency"),
    "Telecom": ("Telecom", "Networks", "Communications"),
    "Energy": ("Energy", "Utilities", "Power"),
}
FIRST_NAMES = (
    "Aisha",
    "Ben",
    "Carla",
    "Daniel",
    "Elena",
    "Farid",
    "Gemma",
    "Hugo",
    "Isla",
    "Jamal",
    "Kira",
    "Liam",
    "Maya",
    "Nils",
    "Olga",
    "Pedro",
    "Quinn",
    "Rosa",
    "Samir",
    "Tara",
    "Umar",
    "Vera",
    "Wes",
    "Yara",
    "Zoe",
    "Arjun",
    "Bianca",
    "Chen",
    "Diego",
    "Emma",
    "Felix",
    "Hana",
    "Ivan",
    "Julia",
    "Kofi",
    "Lena",
    "Mateo",
    "Nora",
    "Owen",
    "Priya",
    "Rui",
    "Sara",
    "Theo",
    "Uma",
    "Victor",
    "Wen",
    "Yusuf",
    "Zara",
)
LAST_NAMES = (
    "Adeyemi",
    "Bergstrom",
    "Castillo",
    "Dubois",
    "Eriksen",
    "Fischer",
    "Gupta",
    "Hoffman",
    "Ito",
    "Jensen",
    "Kowalski",
    "Lindqvist",
    "Moreau",
    "Nakamura",
    "Okafor",
    "Petrov",
    "Quintero",
    "Rossi",
    "Silva",
    "Tanaka",
    "Ulloa",
    "Varga",
    "Walsh",
    "Xu",
    "Yilmaz",
    "Zimmermann",
    "Alvarez",
    "Brennan",
    "Carvalho",
    "Dimitriou",
    "Egan",
    "Fontaine",
    "Garcia",
    "Haddad",
    "Iversen",
    "Kaur",
    "Laine",
    "Mendes",
    "Novak",
)

# Engagement volume by calendar month and the share of the yearly quota in each quarter: a soft
# summer, a strong fourth quarter.
SEASON = (0.8, 0.85, 1.0, 0.9, 0.95, 1.0, 0.8, 0.75, 1.0, 1.15, 1.25, 0.9)
QUARTER_QUOTA_SHARE = (0.21, 0.23, 0.22, 0.34)


@dataclass(frozen=True)
class Size:
    reps_per_team: int | None  # None: each team's own headcount (the full demo)
    deals_per_rep_month: float
    movers: int
    leavers: int
    growth_hires: int


SIZES = {
    "full": Size(reps_per_team=None, deals_per_rep_month=2.4, movers=4, leavers=5, growth_hires=3),
    "small": Size(reps_per_team=1, deals_per_rep_month=1.6, movers=1, leavers=2, growth_hires=1),
}


# --- in-memory plan -----------------------------------------------------------------------------


@dataclass(eq=False)  # identity: plans refer to each other
class _Team:
    spec: TeamSpec
    region: RegionSpec
    territory: Territory | None = None
    accounts: list[_Account] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.spec.name


@dataclass(eq=False)  # identity: plans refer to each other
class _Account:
    index: int
    name: str
    sector: str
    country: str
    weight: float
    model: Account | None = None


@dataclass
class _Cert:
    type_name: str
    category: str
    earned: date
    expires: date | None


@dataclass(eq=False)  # identity: plans refer to each other
class _Rep:
    index: int
    name: str
    hire: date
    skill: float
    activity: float
    prospecting: float
    diligence: float
    leave: date | None = None
    # (team, start, end inclusive or None), consecutive and non-overlapping
    assignments: list[tuple[_Team, date, date | None]] = field(default_factory=list)
    certs: list[_Cert] = field(default_factory=list)
    trained: date | None = None
    model: Rep | None = None

    def active_on(self, day: date) -> bool:
        return self.hire <= day and (self.leave is None or day <= self.leave)

    def team_on(self, day: date) -> _Team | None:
        for team, start, end in self.assignments:
            if start <= day and (end is None or day <= end):
                return team
        return None

    def certified_on(self, day: date, category: str) -> list[_Cert]:
        return [
            c
            for c in self.certs
            if c.category == category and c.earned <= day and (c.expires is None or day <= c.expires)
        ]


@dataclass(eq=False)  # identity: plans refer to each other
class _Deal:
    rep: _Rep | None
    identified_by: _Rep | None
    account: _Account
    products: list[int]
    stage: str
    created: date
    engaged: date | None
    closed: date | None
    amount: Decimal | None
    profit: Decimal | None
    channel: str
    partner: int | None
    play: int | None
    poc: str
    deliverables: list[int]
    list_price: Decimal  # what an open deal without an amount is worth in the pipeline
    credit_team: _Team | None = None

    @property
    def value(self) -> float:
        return float(self.amount or 0)

    @property
    def lines(self) -> list[str]:
        return sorted({PRODUCTS[i][0] for i in self.products})


@dataclass
class DemoResult:
    org: Organization
    today: date
    counts: dict[str, int]
    logins: list[tuple[str, str, str, str]]  # username, password, role, what they see


# --- helpers ------------------------------------------------------------------------------------


def _add_months(day: date, months: int) -> date:
    y, m = divmod(day.year * 12 + day.month - 1 + months, 12)
    last = (date(y + (m + 1) // 12, (m + 1) % 12 + 1, 1) - timedelta(days=1)).day
    return date(y, m + 1, min(day.day, last))


def _at(day: date, hour: int = 9) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


def _money(x: float) -> Decimal:
    return Decimal(int(round(x)))


def _dec(x: float, places: int = 2) -> Decimal:
    return Decimal(str(round(x, places)))


def _clamp(x: float, lo: float, hi: float) -> float:
    return max(lo, min(hi, x))


# --- reset --------------------------------------------------------------------------------------


def _demo_users_check(usernames) -> list:
    users = list(get_user_model().objects.filter(username__in=usernames))
    for user in users:
        if user.email != f"{user.username}@{DEMO_EMAIL_DOMAIN}":
            raise DemoError(
                f"User {user.username!r} exists and was not created by seed_demo; "
                "rename or delete it before building the demo."
            )
    return users


def demo_delete() -> None:
    """Remove the demo organisation and the demo users (only those seed_demo created)."""
    users = _demo_users_check(DEMO_USERS)
    org = Organization.objects.filter(slug=DEMO_SLUG).first()
    if org is not None:
        organization_delete(org)
    for user in users:
        user.delete()


# --- the generator ------------------------------------------------------------------------------


class _Builder:
    def __init__(self, *, seed: int, today: date, size: Size) -> None:
        self.rng = random.Random(seed)
        self.today = today
        self.size = size
        # Two full calendar years before the current one, so every year has a last year to compare.
        self.start = date(today.year - 2, 1, 1)
        self.current_quarter = periods.period_containing(today, periods.QUARTER)
        self.teams: list[_Team] = []
        self.reps: list[_Rep] = []
        self.accounts: list[_Account] = []
        self.deals: list[_Deal] = []
        self.demo_rep: _Rep  # set by plan_roster, as is
        self.laggard: _Rep  # a rep the manager should find
        self.market: dict[tuple[str, str], float] = {}

    # random helpers
    def poisson(self, lam: float) -> int:
        limit, k, p = math.exp(-lam), 0, 1.0
        while True:
            p *= self.rng.random()
            if p <= limit:
                return k
            k += 1

    def weighted(self, items, weights):
        return self.rng.choices(items, weights=weights, k=1)[0]

    def day_between(self, first: date, last: date) -> date:
        return first + timedelta(days=self.rng.randint(0, max(0, (last - first).days)))

    # 1. roster: reps, hires, leavers, moves
    def plan_roster(self) -> None:
        rng = self.rng
        for region in REGIONS:
            for spec in region.teams:
                self.teams.append(_Team(spec=spec, region=region))
        names = [f"{f} {last}" for f in FIRST_NAMES for last in LAST_NAMES]
        rng.shuffle(names)
        name_iter = iter(names)

        def new_rep(hire: date, team: _Team, *, skill: float | None = None) -> _Rep:
            rep = _Rep(
                index=len(self.reps),
                name=next(name_iter),
                hire=hire,
                skill=skill if skill is not None else _clamp(rng.lognormvariate(0, 0.14), 0.75, 1.35),
                activity=_clamp(rng.gauss(1.0, 0.12), 0.75, 1.3),
                prospecting=_clamp(rng.gauss(0.25, 0.15), 0.03, 0.8),
                diligence=_clamp(rng.gauss(1.0, 0.25), 0.4, 1.6),
            )
            rep.assignments.append((team, hire, None))
            self.reps.append(rep)
            return rep

        initial: list[_Rep] = []
        for team in self.teams:
            count = self.size.reps_per_team or team.spec.reps
            if team.name == "Enterprise East":
                count = max(count, 2)  # the demo rep and a laggard the manager should find
            for _ in range(count):
                initial.append(new_rep(self.start - timedelta(days=rng.randint(90, 2600)), team))
        east = [r for r in initial if r.assignments[0][0].name == "Enterprise East"]
        self.demo_rep, self.laggard = east[0], east[1]
        self.demo_rep.skill, self.demo_rep.prospecting = 1.1, 0.7
        self.laggard.skill, self.laggard.activity, self.laggard.prospecting = 0.5, 0.8, 0.05
        others = [r for r in initial if r not in (self.demo_rep, self.laggard)]
        for rep in rng.sample(others, min(2, len(others))):
            rep.skill = round(rng.uniform(0.5, 0.62), 3)  # two more reps well below their peers

        candidates = list(others)
        rng.shuffle(candidates)
        # the first leaver is from Mid-Market: its open headcount explains a quota cut in the live quarter
        first_out = next((r for r in candidates if r.assignments[0][0].name == "Mid-Market"), candidates[0])
        candidates.remove(first_out)
        candidates.insert(0, first_out)
        leavers = candidates[: self.size.leavers]
        movers = candidates[self.size.leavers : self.size.leavers + self.size.movers]
        history_days = (self.today - self.start).days
        for i, rep in enumerate(leavers):
            team = rep.assignments[0][0]
            if i == 0 and self.today - timedelta(days=20) >= self.current_quarter.start:
                leave = self.today - timedelta(days=rng.randint(3, 20))  # turnover in the live quarter
            else:
                leave = self.start + timedelta(days=rng.randint(90, max(91, history_days - 60)))
            rep.leave = leave
            rep.assignments[0] = (team, rep.assignments[0][1], leave)
            hire = leave + timedelta(days=rng.randint(20, 75))
            if hire <= self.today - timedelta(days=10):
                new_rep(hire, team)
        for rep in movers:
            old_team, start, _ = rep.assignments[0]
            region_teams = [t for t in self.teams if t.region is old_team.region and t is not old_team]
            new_team = rng.choice(
                region_teams
                if region_teams and rng.random() < 0.6
                else [t for t in self.teams if t is not old_team]
            )
            moved = self.start + timedelta(days=rng.randint(120, max(121, history_days - 45)))
            rep.assignments = [(old_team, start, moved - timedelta(days=1)), (new_team, moved, None)]
        growth_teams = [t for t in self.teams if t.name in ("Brazil", "DACH", "ANZ", "Enterprise West")]
        for i in range(self.size.growth_hires):
            new_rep(self.today - timedelta(days=rng.randint(60, 540)), growth_teams[i % len(growth_teams)])

    # 2. people: certifications and programmes (before deals: certified reps win more)
    def plan_people(self) -> None:
        rng = self.rng
        for rep in self.reps:
            last_day = min(self.today, rep.leave or self.today)
            first_day = max(rep.hire, self.start - timedelta(days=900))
            # product certifications: most reps, renewed (or not) when they expire
            product_types = [c for c in CERTIFICATION_TYPES if c[1] == CertificationCategory.PRODUCT]
            chosen = rng.sample(product_types, 2 if rng.random() < 0.3 else 1) if rng.random() < 0.93 else []
            for name, category, _issuer, validity in chosen:
                earned = first_day + timedelta(days=rng.randint(20, 300))
                while earned <= last_day:
                    expires = _add_months(earned, validity) if validity else None
                    rep.certs.append(_Cert(name, category, earned, expires))
                    if expires is None or rng.random() > 0.85:
                        break  # lets some lapse
                    earned = expires - timedelta(days=rng.randint(0, 40))
            for category, chance in (
                (CertificationCategory.INDUSTRY, 0.4),
                (CertificationCategory.CUSTOMER_INDUSTRY, 0.3),
            ):
                if rng.random() < chance:
                    name, _, _, validity = rng.choice([c for c in CERTIFICATION_TYPES if c[1] == category])
                    earned = self.day_between(first_day, last_day)
                    rep.certs.append(
                        _Cert(name, category, earned, _add_months(earned, validity) if validity else None)
                    )

    def plan_programmes(self) -> list[tuple[_Rep, int, date, date | None]]:
        rng = self.rng
        out: list[tuple[_Rep, int, date, date | None]] = []

        def end_or_open(end: date) -> date | None:
            return None if end > self.today else end

        for rep in self.reps:
            first = max(rep.hire, self.start - timedelta(days=180))
            last = min(self.today, rep.leave or self.today)
            if rng.random() < 0.3:
                out.append((rep, 0, self.day_between(first, last), rep.leave))
            if len(rep.assignments) > 1:
                moved = rep.assignments[1][1]
                out.append(
                    (
                        rep,
                        1,
                        max(rep.hire, moved - timedelta(days=60)),
                        end_or_open(moved + timedelta(days=120)),
                    )
                )
            cohorts = [
                y for y in range(self.start.year, self.today.year + 1) if rep.active_on(date(y, 1, 15))
            ]
            if rep.skill >= 1.05 and cohorts and rng.random() < 0.8:
                cohort = rng.choice(cohorts)
                out.append((rep, 2, date(cohort, 1, 15), end_or_open(date(cohort, 12, 15))))
            if rng.random() < 0.35:
                start = self.day_between(first, last)
                out.append((rep, 3, start, end_or_open(start + timedelta(days=rng.randint(300, 720)))))
            if rng.random() < 0.65:
                start = self.day_between(first, last)
                out.append((rep, 4, start, end_or_open(start + timedelta(days=4))))
                rep.trained = start + timedelta(days=4)
            if rng.random() < 0.2:
                start = self.day_between(first, last)
                out.append((rep, 5, start, end_or_open(start + timedelta(days=1))))
        career = [r for r in self.reps if len(r.assignments) == 1 and r.leave is None]
        for rep in rng.sample(career, min(2, len(career))):
            start = self.day_between(max(rep.hire, self.today - timedelta(days=300)), self.today)
            out.append((rep, 1, start, None))  # preparing a move that has not happened yet
        return out

    # 3. accounts per team, with a few key accounts that buy again and again
    def plan_accounts(self) -> None:
        rng = self.rng
        used: set[str] = set()
        for team in self.teams:
            n = max(12, int(round(7 * (self.size.reps_per_team or team.spec.reps))))
            for _ in range(n):
                sector = rng.choice(SECTORS)
                for _attempt in range(50):
                    name = f"{rng.choice(ACCOUNT_WORDS)} {rng.choice(SECTOR_SUFFIX[sector])}"
                    if name not in used:
                        break
                    name = f"{rng.choice(ACCOUNT_WORDS)} {rng.choice(ACCOUNT_WORDS)} {rng.choice(SECTOR_SUFFIX[sector])}"
                    if name not in used:
                        break
                used.add(name)
                account = _Account(
                    len(self.accounts),
                    name,
                    sector,
                    rng.choice(team.spec.countries),
                    weight=rng.paretovariate(1.0),
                )
                self.accounts.append(account)
                team.accounts.append(account)

    # 4. opportunities
    def plan_deals(self) -> None:
        rng = self.rng
        warmup = _add_months(self.start, -8).replace(day=1)
        for rep in self.reps:
            first = max(rep.hire, warmup)
            last = min(self.today, rep.leave or self.today)
            month = first.replace(day=1)
            while month <= last:
                years = (month - self.start).days / 365.25
                tenure = (month - rep.hire).days / 30.4
                ramp = _clamp(tenure / 6, 0.25, 1.0)
                lam = self.size.deals_per_rep_month * SEASON[month.month - 1] * rep.activity * ramp
                lam *= 1.05**years
                next_month = _add_months(month, 1)
                for _ in range(self.poisson(lam)):
                    engaged = month + timedelta(days=rng.randint(0, (next_month - month).days - 1))
                    if first <= engaged <= last and (team := rep.team_on(engaged)) is not None:
                        self.deals.append(self.plan_deal(rep, team, engaged))
                month = next_month
        self.plan_house_deals()
        # ids follow creation order, as a CRM's would
        self.deals.sort(key=lambda d: d.created)

    def plan_house_deals(self) -> None:
        # A few house-account deals with no rep (DESIGN §3): only the organisation counts them.
        rng = self.rng
        for _ in range(max(3, len(self.deals) // 150)):
            team = rng.choice(self.teams)
            engaged = self.day_between(self.start, self.today - timedelta(days=5))
            deal = self.plan_deal(None, team, engaged)
            self.deals.append(deal)

    def plan_deal(self, rep: _Rep | None, team: _Team, engaged: date) -> _Deal:
        rng = self.rng
        years = (engaged - self.start).days / 365.25
        account = self.weighted(team.accounts, [a.weight for a in team.accounts])

        n_products = self.weighted((1, 2, 3), (0.66, 0.26, 0.08))
        line = self.weighted(LINES, team.spec.focus)
        products = [self.weighted([i for i, p in enumerate(PRODUCTS) if p[0] == line], (3, 2, 1))]
        while len(products) < n_products:
            other_line = rng.random() < 0.6
            pool = [
                i
                for i, p in enumerate(PRODUCTS)
                if i not in products and ((p[0] != line) if other_line else (p[0] == line))
            ]
            products.append(rng.choice(pool))
        units = [self.weighted((1, 2, 3, 4), (5, 3, 2, 1)) for _ in products]
        list_value = sum(PRODUCTS[i][2] * u for i, u in zip(products, units, strict=True))
        list_price = sum(PRODUCTS[i][2] for i in products)
        discount = rng.uniform(0.0, 0.25)
        value = list_value * (1 - discount) * team.spec.deal_size * (1 + team.region.growth) ** years
        value *= rng.lognormvariate(0, 0.2)

        channel = Channel.PARTNER if rng.random() < 0.27 else Channel.DIRECT
        partner = rng.randrange(len(PARTNERS)) if channel == Channel.PARTNER else None
        live_plays = [
            i for i, p in enumerate(PLAYS) if engaged >= _add_months(date(self.today.year, 1, 1), -p[2])
        ]
        play = rng.choice(live_plays) if live_plays and rng.random() < 0.24 else None
        uses_deliverables = rng.random() < _clamp(0.5 * (rep.diligence if rep else 1.0), 0.1, 0.85)
        deliverables = (
            sorted(rng.sample(range(len(DELIVERABLES)), self.weighted((1, 2, 3), (5, 3, 1))))
            if uses_deliverables
            else []
        )

        skill = rep.skill if rep else 0.9
        product_certified = bool(rep and rep.certified_on(engaged, CertificationCategory.PRODUCT))
        credentials = rep.certified_on(engaged, CertificationCategory.CUSTOMER_INDUSTRY) if rep else []
        has_poc = rng.random() < 0.16 + (0.14 if value > 90000 else 0) + (0.1 if play is not None else 0)
        poc_success = rng.random() < _clamp(
            0.6 + (0.1 if product_certified else 0) + 0.15 * (skill - 1), 0.3, 0.9
        )

        p = 0.34
        p += 0.05 * (channel == Channel.PARTNER) + 0.08 * (play is not None) + 0.15 * bool(deliverables)
        p += 0.1 * product_certified + 0.04 * bool(rep and rep.trained and rep.trained <= engaged)
        p += 0.05 * any(CREDENTIAL_SECTOR.get(c.type_name) == account.sector for c in credentials)
        if has_poc:
            p += 0.24 if poc_success else -0.28
        # the rep's and the team's strength scale everything: a weak seller wastes good assets too
        won = rng.random() < _clamp(p * skill * team.spec.quality, 0.04, 0.92)

        cycle = rng.lognormvariate(math.log(34), 0.45) * (1 + 0.2 * (n_products - 1))
        cycle *= (1.3 if has_poc else 1.0) * (team.spec.deal_size**0.5) * (1.0 if won else 1.15)
        cycle = max(7, int(cycle))
        closed = engaged + timedelta(days=cycle)
        if rng.random() < 0.3:  # the end-of-quarter rush
            quarter_end = periods.period_containing(closed, periods.QUARTER).end
            closed = max(closed, quarter_end - timedelta(days=rng.randint(0, 12)))
        created = engaged - timedelta(days=rng.randint(0, 21))

        deal = _Deal(
            rep=rep,
            identified_by=self.identifier(rep, team, engaged),
            account=account,
            products=products,
            stage=Stage.WON if won else Stage.LOST,
            created=created,
            engaged=engaged,
            closed=closed,
            amount=None,
            profit=None,
            channel=channel,
            partner=partner,
            play=play,
            poc=(Poc.SUCCESS if poc_success else Poc.FAILURE) if has_poc else Poc.NONE,
            deliverables=deliverables,
            list_price=Decimal(list_price),
        )
        if closed > self.today:
            progress = (self.today - engaged).days / (closed - engaged).days
            stage = next(
                s
                for limit, s in (
                    (0.15, Stage.PROSPECTING),
                    (0.35, Stage.QUALIFYING),
                    (0.55, Stage.ENGAGING),
                    (0.8, Stage.PROPOSAL),
                    (math.inf, Stage.NEGOTIATION),
                )
                if progress < limit
            )
            deal.stage, deal.closed = stage, None
            if has_poc and progress < 0.55:
                deal.poc = Poc.RUNNING
            missing_amount = {Stage.PROSPECTING: 0.5, Stage.QUALIFYING: 0.35, Stage.ENGAGING: 0.1}
            if rng.random() >= missing_amount.get(stage, 0.0):
                deal.amount = _money(value)
            if stage == Stage.PROSPECTING and rng.random() < 0.4:
                deal.engaged = None  # created, not yet engaged
        else:
            if won:
                value *= rng.uniform(0.92, 1.03) * (1.2 if closed.month >= 10 else 1.0)
                margin = sum(PRODUCTS[i][3] * PRODUCTS[i][2] for i in products) / sum(
                    PRODUCTS[i][2] for i in products
                )
                margin += rng.gauss(0, 0.05) - 0.4 * (discount - 0.12) - 0.03 * (channel == Channel.PARTNER)
                margin -= 0.05 * (team.spec.quality < 0.8)
                deal.profit = _money(value * margin)
            deal.amount = _money(value)
        if rep is not None and rep.leave is not None and (deal.closed or self.today) > rep.leave:
            deal.rep = self.successor(rep, deal.closed or self.today)
        return deal

    def identifier(self, rep: _Rep | None, team: _Team, day: date) -> _Rep | None:
        rng = self.rng
        if rep is not None and rng.random() < rep.prospecting:
            return rep
        if rng.random() < 0.15:
            peers = [r for r in self.reps if r is not rep and r.active_on(day) and r.team_on(day) is team]
            if peers:
                return rng.choice(peers)
        return None

    def successor(self, leaver: _Rep, day: date) -> _Rep:
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

    def credit(self) -> None:
        for deal in self.deals:
            if deal.rep is not None:
                deal.credit_team = deal.rep.team_on(deal.closed or self.today)

    # --- numbers the plan needs: quotas, market sizes, data-based goals --------------------------

    def quarters(self) -> list[periods.Period]:
        return periods.periods_between(self.start, self.today, periods.QUARTER)

    def years(self) -> list[periods.Period]:
        return periods.periods_between(self.start, self.today, periods.YEAR)

    def won_in(self, period: periods.Period) -> list[_Deal]:
        return [d for d in self.deals if d.stage == Stage.WON and d.closed and period.contains(d.closed)]

    def rep_quotas(self) -> dict[tuple[int, str], tuple[_Team, float]]:
        """(team, quota) per (rep index, quarter key), scaled by the team's deal size.

        The plan is as good as a good planner's: the yearly quota sits a little under the typical
        established rep's revenue of that year (the last twelve months for the current year), so most
        reps make it and the weak ones do not.
        """
        baseline: dict[int, float] = {}
        for year in range(self.start.year, self.today.year + 1):
            last = min(date(year, 12, 31), self.today)
            first = last - timedelta(days=364)
            revenue: dict[int, float] = {}
            for d in self.deals:
                if d.stage == Stage.WON and d.rep is not None and d.closed and first <= d.closed <= last:
                    revenue[d.rep.index] = revenue.get(d.rep.index, 0.0) + d.value
            per_size = sorted(
                revenue.get(r.index, 0.0) / (r.team_on(last) or r.assignments[-1][0]).spec.deal_size
                for r in self.reps
                if r.hire <= first - timedelta(days=180) and r.active_on(last) and r.active_on(first)
            )
            baseline[year] = per_size[len(per_size) * 2 // 5] if per_size else 600000.0
        quotas: dict[tuple[int, str], tuple[_Team, float]] = {}
        for quarter in self.quarters():
            for rep in self.reps:
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

    def market_sizes(self) -> dict[tuple[str, str], float]:
        """Annual addressable market per (team, quarter key): sized so we hold 8-15 % of it."""
        first_year = periods.year(self.start.year)
        won = self.won_in(first_year)
        out = {}
        for team in self.teams:
            revenue = sum(d.value for d in won if d.credit_team is team) or 500000.0
            market = revenue / self.rng.uniform(0.08, 0.15)
            for quarter in self.quarters():
                years = (quarter.start - self.start).days / 365.25
                out[(team.name, quarter.key)] = round(market * 1.05**years * self.rng.uniform(0.98, 1.02), -3)
        return out


# --- writing the plan -----------------------------------------------------------------------------


@transaction.atomic
def demo_create(*, seed: int = DEMO_SEED, today: date | None = None, size: str = "full") -> DemoResult:
    """Rebuild the demo organisation and the demo users from scratch."""
    today = today or date.today()
    demo_delete()
    b = _Builder(seed=seed, today=today, size=SIZES[size])
    b.plan_roster()
    b.plan_people()
    programme_plan = b.plan_programmes()
    b.plan_accounts()
    b.plan_deals()
    b.credit()
    b.market = b.market_sizes()

    org = organization_create(name=DEMO_NAME, slug=DEMO_SLUG)
    users = _create_users(org)
    region_nodes = _create_tree(org, b, users["manager"])
    _create_reps(org, b, users["rep"])
    catalog = _create_catalog(org, b)
    _create_people(org, b, catalog, programme_plan)
    _create_deals(org, b, catalog)
    kpis = {k.slug: k for k in KPI.objects.filter(org=org)}
    _create_measurements(org, b, kpis, region_nodes, users)
    _create_targets(org, b, kpis, region_nodes, users)
    _create_notes(org, b, kpis, region_nodes, users)
    logins = _create_memberships(org, b, users, region_nodes[MANAGER_REGION])
    counts = {
        "territories": Territory.objects.filter(org=org).count(),
        "reps": len(b.reps),
        "accounts": len(b.accounts),
        "opportunities": len(b.deals),
        "certifications": Certification.objects.filter(org=org).count(),
        "programme participations": ProgramParticipation.objects.filter(org=org).count(),
        "measurements": Measurement.objects.filter(org=org).count(),
        "targets": Target.objects.filter(org=org).count(),
        "notes": Note.objects.filter(org=org).count(),
    }
    return DemoResult(org=org, today=today, counts=counts, logins=logins)


def _create_users(org: Organization) -> dict:
    User = get_user_model()
    password = make_password(DEMO_PASSWORD)
    names = {
        "admin": ("Sam", "Ops"),
        "manager": ("Morgan", "Blake"),
        "rep": ("", ""),
        "viewer": ("Val", "Finance"),
    }
    return {
        username: User.objects.create(
            username=username,
            email=f"{username}@{DEMO_EMAIL_DOMAIN}",
            password=password,
            first_name=first,
            last_name=last,
            # The Django admin (KPI definitions, tree, users) is not yet scoped per organisation, so only
            # the demo's sales-ops user gets it; production admins are made staff deliberately.
            is_staff=username == "admin",
            is_superuser=username == "admin",
        )
        for username, (first, last) in names.items()
    }


def _create_tree(org: Organization, b: _Builder, manager) -> dict[str, Territory]:
    root = org.root_territory()
    regions: dict[str, Territory] = {}
    for spec in REGIONS:
        root.refresh_from_db()
        region = territory_child_create(
            parent=root,
            name=spec.name,
            owner=manager if spec.name == MANAGER_REGION else None,
            owner_name=spec.lead,
        )
        regions[spec.name] = region
        for team in b.teams:
            if team.region is spec:
                region.refresh_from_db()
                team.territory = territory_child_create(
                    parent=region, name=team.name, owner_name=team.spec.lead
                )
    regions[""] = root
    return regions


def _create_reps(org: Organization, b: _Builder, rep_user) -> None:
    for rep in b.reps:
        first, last = rep.name.split(" ", 1)
        rep.model = Rep(
            org=org,
            name=rep.name,
            email=f"{first}.{last}@northwind.example".lower().replace(" ", ""),
            external_id=f"EMP-{1001 + rep.index}",
            hire_date=rep.hire,
            leave_date=rep.leave,
            user=rep_user if rep is b.demo_rep else None,
        )
    Rep.objects.bulk_create([rep.model for rep in b.reps if rep.model])
    rep_user.first_name, rep_user.last_name = b.demo_rep.name.split(" ", 1)
    rep_user.save(update_fields=["first_name", "last_name"])
    TerritoryAssignment.objects.bulk_create(
        TerritoryAssignment(org=org, rep=rep.model, territory=team.territory, start=start, end=end)
        for rep in b.reps
        for team, start, end in rep.assignments
    )


@dataclass
class _Catalog:
    products: list[Product]
    partners: list[Partner]
    plays: list[StrategicPlay]
    deliverables: list[Deliverable]
    cert_types: dict[str, CertificationType]
    programs: list[Program]


def _create_catalog(org: Organization, b: _Builder) -> _Catalog:
    products = Product.objects.bulk_create(
        Product(org=org, name=name, line=line, list_price=Decimal(price), description=f"{line}: {name}")
        for line, name, price, _margin in PRODUCTS
    )
    partners = Partner.objects.bulk_create(Partner(org=org, name=n) for n in PARTNERS)
    plays = StrategicPlay.objects.bulk_create(
        StrategicPlay(org=org, name=n, description=d) for n, d, _ in PLAYS
    )
    deliverables = Deliverable.objects.bulk_create(Deliverable(org=org, name=n) for n in DELIVERABLES)
    cert_types = CertificationType.objects.bulk_create(
        CertificationType(org=org, name=n, category=c, issuer=i, validity_months=v)
        for n, c, i, v in CERTIFICATION_TYPES
    )
    programs = Program.objects.bulk_create(
        Program(org=org, name=n, kind=k, description=d) for n, k, d in PROGRAMS
    )
    for account in b.accounts:
        account.model = Account(
            org=org,
            external_id=f"ACC-{account.index + 1:04d}",
            name=account.name,
            sector=account.sector,
            country=account.country,
        )
    Account.objects.bulk_create([a.model for a in b.accounts if a.model])
    return _Catalog(products, partners, plays, deliverables, {t.name: t for t in cert_types}, programs)


def _create_people(org: Organization, b: _Builder, catalog: _Catalog, programme_plan) -> None:
    Certification.objects.bulk_create(
        Certification(
            org=org, rep=rep.model, type=catalog.cert_types[c.type_name], earned=c.earned, expires=c.expires
        )
        for rep in b.reps
        for c in rep.certs
    )
    ProgramParticipation.objects.bulk_create(
        ProgramParticipation(org=org, rep=rep.model, program=catalog.programs[p], start=start, end=end)
        for rep, p, start, end in programme_plan
    )


def _create_deals(org: Organization, b: _Builder, catalog: _Catalog) -> None:
    opportunities = [
        Opportunity(
            org=org,
            external_id=f"NW-{n:05d}",
            rep=d.rep.model if d.rep else None,
            account=d.account.model,
            stage=d.stage,
            created_date=d.created,
            engage_date=d.engaged,
            close_date=d.closed,
            amount=d.amount,
            profit=d.profit,
            channel=d.channel,
            partner=catalog.partners[d.partner] if d.partner is not None else None,
            strategic_play=catalog.plays[d.play] if d.play is not None else None,
            poc=d.poc,
            identified_by=d.identified_by.model if d.identified_by else None,
        )
        for n, d in enumerate(b.deals, start=1)
    ]
    Opportunity.objects.bulk_create(opportunities, batch_size=500)
    ProductLink = Opportunity.products.through
    DeliverableLink = Opportunity.deliverables.through
    ProductLink.objects.bulk_create(
        (
            ProductLink(opportunity=o, product=catalog.products[i])
            for o, d in zip(opportunities, b.deals, strict=True)
            for i in d.products
        ),
        batch_size=1000,
    )
    DeliverableLink.objects.bulk_create(
        (
            DeliverableLink(opportunity=o, deliverable=catalog.deliverables[i])
            for o, d in zip(opportunities, b.deals, strict=True)
            for i in d.deliverables
        ),
        batch_size=1000,
    )


def _team_quality_trend(team: _Team, quarter_index: int) -> float:
    """How well a team is doing with its customers and people (0 bad … 1 great), drifting over time."""
    return _clamp(0.5 + (team.spec.quality - 0.95) * 1.3 + 0.015 * quarter_index, 0.05, 0.98)


def _create_measurements(org, b: _Builder, kpis, regions, users) -> None:
    rng = b.rng
    rows: list[Measurement] = []
    market = b.market
    quarters = b.quarters()
    entered: dict[str, date] = {}
    for qi, quarter in enumerate(quarters):
        live = quarter.key == b.current_quarter.key
        entered[quarter.key] = b.today if live else min(b.today, quarter.end + timedelta(days=6))
        region_inputs: dict[str, list[tuple[str, float, int]]] = {}
        for team in b.teams:
            q = _team_quality_trend(team, qi)
            headcount = sum(1 for r in b.reps if r.team_on(min(quarter.end, b.today)) is team) or 1
            values = {
                "nps": (round(8 + 50 * q + rng.gauss(0, 5)), rng.randint(18, 70)),
                "csat": (round(_clamp(68 + 25 * q + rng.gauss(0, 3), 50, 98), 1), rng.randint(30, 120)),
                "market_size": (market[(team.name, quarter.key)], None),
            }
            if not live:  # surveys report after the quarter closes
                values |= {
                    "customer_value_proposition": (
                        round(_clamp(3.2 + 1.4 * q + rng.gauss(0, 0.12), 1, 5), 2),
                        rng.randint(10, 40),
                    ),
                    "innovation_rating": (
                        round(_clamp(0.3 + 0.45 * q + rng.gauss(0, 0.04), 0, 1), 3),
                        rng.randint(10, 40),
                    ),
                    "employee_engagement": (
                        round(_clamp(52 + 32 * q + rng.gauss(0, 3), 0, 100), 1),
                        headcount,
                    ),
                    "skill_assessment": (
                        round(_clamp(2.6 + 1.5 * q + rng.gauss(0, 0.12), 1, 5), 2),
                        headcount,
                    ),
                }
            for slug, (value, weight) in values.items():
                rows.append(
                    Measurement(
                        org=org,
                        kpi=kpis[slug],
                        territory=team.territory,
                        period=quarter.key,
                        value=_dec(value, 3),
                        weight=weight,
                        entered_by=users["admin"],
                    )
                )
                if slug in ("employee_engagement", "skill_assessment"):
                    region_inputs.setdefault(slug, []).append((team.region.name, value, headcount))
        # The people surveys are also reported per region: the headcount-weighted mean of its teams.
        for slug, inputs in region_inputs.items():
            for region in REGIONS:
                own = [(v, w) for name, v, w in inputs if name == region.name]
                total = sum(w for _, w in own)
                rows.append(
                    Measurement(
                        org=org,
                        kpi=kpis[slug],
                        territory=regions[region.name],
                        period=quarter.key,
                        value=_dec(sum(v * w for v, w in own) / total, 3),
                        weight=total,
                        entered_by=users["manager"] if region.name == MANAGER_REGION else users["admin"],
                    )
                )
        if not live:  # skill assessments are also recorded per rep
            for rep in b.reps:
                if rep.team_on(min(quarter.end, rep.leave or quarter.end)) is None or not rep.active_on(
                    quarter.end
                ):
                    continue
                score = _clamp(2.4 + 1.1 * rep.skill + 0.02 * qi + rng.gauss(0, 0.2), 1, 5)
                rows.append(
                    Measurement(
                        org=org,
                        kpi=kpis["skill_assessment"],
                        rep=rep.model,
                        period=quarter.key,
                        value=_dec(score, 2),
                        entered_by=users["manager"],
                    )
                )
    rows[0].note = "First quarter surveyed with the new NPS vendor."
    Measurement.objects.bulk_create(rows, batch_size=1000)
    for key, day in entered.items():
        Measurement.objects.filter(org=org, period=key).update(entered_at=_at(day, 17))


def _period_stats(b: _Builder, teams: list[_Team], period: periods.Period) -> dict[str, float]:
    """The handful of plain sums the demo bases its goals on (not the numbers engine: a planning input)."""
    in_scope = [d for d in b.deals if d.credit_team in teams]
    closed = [d for d in in_scope if d.closed and period.contains(d.closed)]
    won = [d for d in closed if d.stage == Stage.WON]
    lost = [d for d in closed if d.stage == Stage.LOST]
    end = min(period.end, b.today)
    open_at_end = [
        d
        for d in b.deals
        if d.rep
        and d.rep.team_on(end) in teams
        and (d.engaged or d.created) <= end
        and (d.closed is None or d.closed > end)
    ]
    headcount = sum(1 for r in b.reps if r.team_on(end) in teams) or 1
    won_revenue = sum(d.value for d in won)
    return {
        "won_revenue": won_revenue,
        "won_deals": len(won),
        "lost_deals": len(lost),
        "lost_value": sum(d.value for d in lost),
        "gross_profit": sum(float(d.profit or 0) for d in won),
        "avg_deal_size": won_revenue / len(won) if won else 0.0,
        "active_customers": len({d.account.index for d in won}),
        "open_pipeline_count": len(open_at_end),
        "open_pipeline_value": sum(
            float(d.amount if d.amount is not None else d.list_price) for d in open_at_end
        ),
        "new_opportunities": sum(1 for d in in_scope if period.contains(d.engaged or d.created)),
        "revenue_per_rep": won_revenue / headcount,
        "strategic_play_deals": sum(1 for d in closed if d.play is not None),
        "cross_brand_deals": sum(1 for d in won if len(d.lines) >= 2),
        "certifications_earned": sum(
            1 for r in b.reps for c in r.certs if period.contains(c.earned) and r.team_on(c.earned) in teams
        ),
        "headcount": headcount,
    }


def _create_targets(org, b: _Builder, kpis, regions, users) -> None:
    rng = b.rng
    admin, manager = users["admin"], users["manager"]
    rows: list[Target] = []
    quotas = b.rep_quotas()
    quarters, years = b.quarters(), b.years()
    set_on: dict[str, date] = {q.key: q.start - timedelta(days=10) for q in quarters}
    set_on |= {y.key: y.start - timedelta(days=21) for y in years}

    # Quotas: every rep and every team, per quarter and per year (regions and the root add up).
    team_quota: dict[tuple[str, str], float] = {}
    for (_rep_index, key), (team, quota) in quotas.items():
        team_quota[(team.name, key)] = team_quota.get((team.name, key), 0.0) + quota
    for periods_of_kind in (quarters, years):
        for period in periods_of_kind:
            for rep in b.reps:
                quota = sum(
                    quotas.get((rep.index, q.key), (None, 0.0))[1]
                    for q in quarters
                    if period.start <= q.start <= period.end
                )
                if quota:
                    rows.append(
                        Target(
                            org=org,
                            kpi=kpis["won_revenue"],
                            rep=rep.model,
                            period=period.key,
                            goal=_money(round(quota, -3)),
                            reason="Quota: territory potential and the yearly plan",
                            set_by=admin,
                        )
                    )
            for team in b.teams:
                quota = sum(
                    team_quota.get((team.name, q.key), 0.0)
                    for q in quarters
                    if period.start <= q.start <= period.end
                )
                if quota:
                    rows.append(
                        Target(
                            org=org,
                            kpi=kpis["won_revenue"],
                            territory=team.territory,
                            period=period.key,
                            goal=_money(round(quota, -3)),
                            reason="Team quota: sum of its reps' quotas",
                            set_by=admin,
                        )
                    )

    # Every other KPI at the root and the regions: the KPI's default goal, else a goal from last year.
    market = b.market
    scopes = [("", list(b.teams))] + [(r.name, [t for t in b.teams if t.region is r]) for r in REGIONS]
    for period in quarters + years:
        is_year = period.kind == periods.YEAR
        last_year = period.last_year()
        have_last_year = last_year.start >= b.start
        for scope_name, teams in scopes:
            territory = regions[scope_name]
            setter = manager if scope_name == MANAGER_REGION else admin
            stats = _period_stats(b, teams, period)
            base = _period_stats(b, teams, last_year) if have_last_year else stats
            for slug, kpi in kpis.items():
                if slug == "won_revenue":
                    continue
                goal, red = kpi.default_goal, kpi.default_red_flag
                reason = "Company standard (template default)"
                if slug == "rep_turnover" and is_year:
                    goal, red, reason = Decimal("0.12"), Decimal("0.2"), "Yearly turnover ceiling"
                elif slug == "market_share":
                    # market_size is the annual addressable market, so a quarter holds a quarter of the share
                    scale = 1 if is_year else 4
                    goal, red = kpi.default_goal / scale, kpi.default_red_flag / scale
                    reason = "Share of the annual addressable market" + ("" if is_year else ", per quarter")
                elif kpi.unit == "count" and goal is not None:
                    # a count's default is meant for one team and quarter
                    scale = len(teams) * (4 if is_year else 1)
                    goal, red = goal * scale, (red * scale if red is not None else None)
                    reason = f"Template default per team and quarter, for {len(teams)} teams"
                elif goal is None:
                    goal, red, reason = _data_goal(
                        slug, kpi, base, have_last_year, market, teams, period, quotas, b, rng
                    )
                if scope_name == "Latin America" and slug in ("win_rate", "partner_revenue_share"):
                    reason = "Growth market: standard goal kept to stretch the team"
                rows.append(
                    Target(
                        org=org,
                        kpi=kpi,
                        territory=territory,
                        period=period.key,
                        goal=goal,
                        red_flag=red,
                        reason=reason,
                        set_by=setter,
                    )
                )

    # History: goals revised during the period, the old row kept and stamped superseded.
    previous_year = periods.year(b.today.year - 1)
    revisions = [
        (
            kpis["win_rate"],
            regions[""],
            previous_year.key,
            Decimal("0.5"),
            "Raised after the Q1 review: strategic plays and POCs are lifting the win rate",
            Decimal("0.45"),
            previous_year.start + timedelta(days=97),
        ),
        (
            kpis["customer_retention"],
            regions[MANAGER_REGION],
            previous_year.key,
            Decimal("0.7"),
            "Lowered: two key accounts merged into one",
            Decimal("0.8"),
            previous_year.start + timedelta(days=160),
        ),
    ]
    history: list[tuple[Target, date]] = []
    for kpi, territory, key, _new_goal, _reason, old_goal, revised in revisions:
        current = next(t for t in rows if t.kpi is kpi and t.territory is territory and t.period == key)
        old = Target(
            org=org,
            kpi=kpi,
            territory=territory,
            period=key,
            goal=old_goal,
            red_flag=current.red_flag,
            reason="Initial plan",
            set_by=admin,
            superseded_at=_at(revised, 11),
        )
        current.goal, current.reason = _new_goal, _reason
        history.append((old, set_on[key]))
        history.append((current, revised))
        rows.append(old)
    # and a quota cut for Mid-Market in the live quarter after it lost a rep
    quarter = b.current_quarter
    mid_market = next(t for t in b.teams if t.name == "Mid-Market")
    relief = next(
        (
            t
            for t in rows
            if t.territory is mid_market.territory
            and t.period == quarter.key
            and t.kpi is kpis["won_revenue"]
        ),
        None,
    )
    if relief is not None:
        revised = quarter.start + timedelta(days=min(18, (b.today - quarter.start).days))
        old = Target(
            org=org,
            kpi=relief.kpi,
            territory=relief.territory,
            period=quarter.key,
            goal=_money(round(float(relief.goal) * 1.15, -3)),
            reason="Initial plan",
            set_by=admin,
            superseded_at=_at(revised, 11),
        )
        relief.reason, relief.set_by = "Quota relief: open headcount in Mid-Market", manager
        history += [(old, set_on[quarter.key]), (relief, revised)]
        rows.append(old)
    Target.objects.bulk_create(rows, batch_size=1000)
    for key, day in set_on.items():
        Target.objects.filter(org=org, period=key).update(set_at=_at(day))
    for target, day in history:
        Target.objects.filter(pk=target.pk).update(set_at=_at(day, 11))


def _data_goal(slug, kpi, base, have_last_year, market, teams, period, quotas, b, rng):
    """A goal for a KPI without a company default: last year's value plus planned growth."""
    if slug == "market_size":
        key = (
            period.key
            if period.kind == periods.QUARTER
            else periods.period_containing(min(period.end, b.today), periods.QUARTER).key
        )
        goal = sum(market[(t.name, key)] for t in teams)
        return _money(goal), None, "Planning assumption: annual addressable market"
    if slug == "reps_at_target":
        keys = [q.key for q in b.quarters() if period.start <= q.start <= period.end]
        with_quota = {
            i for (i, k) in quotas if k in keys and b.reps[i].team_on(min(period.end, b.today)) in teams
        }
        goal = Decimal(max(1, round(0.7 * len(with_quota))))
        return goal, goal - max(1, round(0.2 * len(with_quota))), "70 % of the reps with a quota"
    if slug == "deliverables_in_losses":
        return Decimal("0.4"), Decimal("0.3"), "Informational: compare with deliverables in wins"
    key = kpi.metric if kpi.source == Source.METRIC and kpi.metric in base else slug
    value = base.get(key, 0.0)
    lower = kpi.direction == Direction.LOWER
    if have_last_year:
        factor = 1.1
        reason = "Last year's result plus 10 % growth" if not lower else "No more than last year's plus 10 %"
    else:
        factor = rng.uniform(0.95, 1.08)
        reason = "First plan year: management estimate"
    goal = value * factor
    red = goal * (1.2 if lower else 0.8)
    if kpi.unit in ("count",):
        return Decimal(max(1, round(goal))), Decimal(max(0, round(red))), reason
    return _money(goal), _money(red), reason


def _create_notes(org, b: _Builder, kpis, regions, users) -> None:
    manager, admin = users["manager"], users["admin"]
    quarter = b.current_quarter
    previous = quarter.previous()
    laggard, demo_rep = b.laggard, b.demo_rep
    team_of = {t.name: t.territory for t in b.teams}
    notes = [
        (
            Note(
                org=org,
                kind=NoteKind.COACHING,
                period=quarter.key,
                kpi=kpis["won_revenue"],
                rep=laggard.model,
                territory=team_of["Enterprise East"],
                author=manager,
                text=f"{laggard.name} is tracking well below quota again. Pipeline coverage is under 2× and "
                "most open deals are single-product. Joint account planning on the top five accounts.",
            ),
            b.today - timedelta(days=9),
        ),
        (
            Note(
                org=org,
                kind=NoteKind.ACTION,
                period=quarter.key,
                kpi=kpis["open_pipeline_value"],
                rep=laggard.model,
                territory=team_of["Enterprise East"],
                author=manager,
                due_date=b.today + timedelta(days=14),
                text="Book six discovery meetings and qualify three new opportunities before the forecast call.",
            ),
            b.today - timedelta(days=9),
        ),
        (
            Note(
                org=org,
                kind=NoteKind.COACHING,
                period=previous.key,
                kpi=kpis["poc_win_rate"],
                rep=demo_rep.model,
                territory=team_of["Enterprise East"],
                author=manager,
                text="Strong POC discipline: success criteria agreed up front. Share the scoping template with the team.",
            ),
            previous.end - timedelta(days=5),
        ),
        (
            Note(
                org=org,
                kind=NoteKind.COMMENT,
                period=previous.key,
                kpi=kpis["win_rate"],
                territory=team_of["Mid-Market"],
                author=manager,
                text="Win rate under the red flag for another quarter. Too many unqualified deals reach proposal.",
            ),
            min(b.today, previous.end + timedelta(days=8)),
        ),
        (
            Note(
                org=org,
                kind=NoteKind.ACTION,
                period=previous.key,
                kpi=kpis["win_rate"],
                territory=team_of["Mid-Market"],
                author=manager,
                due_date=min(b.today, previous.end + timedelta(days=40)),
                done=True,
                text="Introduce a qualification checklist (budget, authority, need, timeline) at stage 2.",
            ),
            min(b.today, previous.end + timedelta(days=8)),
        ),
        (
            Note(
                org=org,
                kind=NoteKind.COMMENT,
                period=previous.key,
                objective=kpis["nps"].objective,
                territory=regions["APAC"],
                author=admin,
                text="Japan's NPS and engagement keep falling; the team lost two senior sellers' accounts to partners.",
            ),
            min(b.today, previous.end + timedelta(days=10)),
        ),
    ]
    created = Note.objects.bulk_create([n for n, _ in notes])
    for note, (_, day) in zip(created, notes, strict=True):
        Note.objects.filter(pk=note.pk).update(created_at=_at(day, 14))


def _create_memberships(
    org, b: _Builder, users, manager_region: Territory
) -> list[tuple[str, str, str, str]]:
    Membership.objects.bulk_create(
        [
            Membership(org=org, user=users["admin"], role=Role.ADMIN),
            Membership(org=org, user=users["manager"], role=Role.MANAGER, territory=manager_region),
            Membership(org=org, user=users["rep"], role=Role.REP, rep=b.demo_rep.model),
            Membership(org=org, user=users["viewer"], role=Role.VIEWER),
        ]
    )
    return [
        ("admin", DEMO_PASSWORD, "admin", "everything; changes KPIs, targets, tree, users"),
        ("manager", DEMO_PASSWORD, "manager", f"{manager_region.full_name} and the teams below it"),
        ("rep", DEMO_PASSWORD, "rep", f"own records and scorecard ({b.demo_rep.name}, Enterprise East)"),
        ("viewer", DEMO_PASSWORD, "viewer", "the whole organisation, read-only"),
    ]
