"""The demo's names and shapes: Northwind Systems' regions and teams, catalog, people and the size knobs.

Data only, no Django: the choice values the demo writes are spelled here as string enums with the
models' values (``tests/demo/test_data.py`` checks them against the models), so the plan that draws
from this module runs without a database.
"""

from __future__ import annotations

from dataclasses import dataclass

from .choices import CertificationCategory, ProgramKind

DEMO_SLUG = "demo"
DEMO_NAME = "Northwind Systems"
DEMO_PASSWORD = "demo"
DEMO_SEED = 7
# Demo users carry this e-mail domain; a user of the same name without it is never touched.
DEMO_EMAIL_DOMAIN = "demo.northwind.example"
MANAGER_REGION = "North America"
# username -> (first name, last name); the rep user takes the demo rep's name
DEMO_USER_NAMES = {
    "admin": ("Sam", "Ops"),
    "manager": ("Morgan", "Blake"),
    "rep": ("", ""),
    "viewer": ("Val", "Finance"),
}
DEMO_USERS = tuple(DEMO_USER_NAMES)


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
# the teams that hire on top of replacing leavers
GROWTH_TEAMS = ("Brazil", "DACH", "ANZ", "Enterprise West")

# --- the catalog --------------------------------------------------------------------------------

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

# --- people -------------------------------------------------------------------------------------

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

# (name, kind, description); the plan refers to a programme by its position here
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
WOMEN_IN_SALES, MOBILITY_ROTATION, EMERGING_LEADERS, EXECUTIVE_EDUCATION, BOOTCAMP, POC_WORKSHOP = range(6)

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

# --- customers ----------------------------------------------------------------------------------

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

# --- rhythm and size ----------------------------------------------------------------------------

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
