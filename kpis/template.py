"""The default scorecard every new organisation starts from (DESIGN §2).

Four perspectives, objectives linked cause→effect, and a KPI for every measure of the source
material. Data only (no Django): ``kpis.services.scorecard_template_create`` writes it.

Default goals only on scale-free KPIs (fractions, percentages, scores, days): a count or currency KPI
grows with the territory and the period, so its target is explicit or the sum of its children's, else
gray "no target" (DESIGN §4; ``KPI.clean`` refuses one).
"""

from __future__ import annotations

from decimal import Decimal

PERSPECTIVES = [
    {
        "slug": "financial",
        "name": "Financial",
        "is_outcome": True,
        "weight": 35,
        "description": "Outcome: revenue to quota, growth and profitability.",
    },
    {
        "slug": "customer",
        "name": "Customer",
        "is_outcome": True,
        "weight": 25,
        "description": "Outcome: satisfied, loyal customers who buy across our brands and see us as innovative.",
        "value_proposition": (
            "“They understand our business, bring us ideas before we ask, and make the whole "
            "portfolio work together — one team, one answer, delivered when promised.”"
        ),
    },
    {
        "slug": "internal",
        "name": "Internal sales processes",
        "weight": 25,
        "description": "Driver: a healthy pipeline, disciplined selling and productive reps.",
    },
    {
        "slug": "learning",
        "name": "Learning & growth",
        "weight": 15,
        "description": "Driver: certified, engaged people who keep developing.",
    },
]

# (perspective, slug, name, weight)
OBJECTIVES = [
    ("financial", "grow-revenue", "Grow revenue to quota", 60),
    ("financial", "improve-profitability", "Sell profitably", 40),
    ("customer", "delight-customers", "Delight and keep customers", 40),
    ("customer", "win-the-market", "Win share across brands", 35),
    ("customer", "differentiate", "Be seen as the innovative partner", 25),
    ("internal", "build-pipeline", "Build a healthy pipeline", 25),
    ("internal", "win-more-deals", "Win more, faster", 25),
    ("internal", "productive-reps", "Productive, stable sales force", 20),
    ("internal", "sell-solutions", "Sell solutions: plays, POCs, technical deliverables", 20),
    ("internal", "leverage-channel", "Leverage partners and the whole portfolio", 10),
    ("learning", "certify-people", "Certified, credible sellers", 45),
    ("learning", "develop-people", "Engaged people who keep growing", 55),
]

# cause → effect along learning → internal → customer → financial
LINKS = [
    ("certify-people", "sell-solutions"),
    ("certify-people", "win-more-deals"),
    ("develop-people", "productive-reps"),
    ("develop-people", "build-pipeline"),
    ("build-pipeline", "win-more-deals"),
    ("sell-solutions", "differentiate"),
    ("sell-solutions", "win-more-deals"),
    ("leverage-channel", "win-the-market"),
    ("win-more-deals", "win-the-market"),
    ("productive-reps", "delight-customers"),
    ("delight-customers", "grow-revenue"),
    ("win-the-market", "grow-revenue"),
    ("differentiate", "improve-profitability"),
    ("win-the-market", "improve-profitability"),
]


def _kpi(
    objective,
    slug,
    name,
    unit,
    *,
    source="metric",
    metric=None,
    direction="higher",
    weight=1,
    goal=None,
    red=None,
    **extra,
):
    return {
        "objective": objective,
        "slug": slug,
        "name": name,
        "unit": unit,
        "source": source,
        "metric": (metric or slug) if source == "metric" else "",
        "direction": direction,
        "weight": weight,
        "default_goal": None if goal is None else Decimal(str(goal)),
        "default_red_flag": None if red is None else Decimal(str(red)),
        **extra,
    }


def _manual(objective, slug, name, unit, *, time="average", tree="weighted", scale=None, **kw):
    """A manual KPI; ``scale`` (low, high) bounds what may be entered (a survey's scale)."""
    if scale is not None:
        kw["min_value"], kw["max_value"] = (Decimal(str(bound)) for bound in scale)
    return _kpi(
        objective, slug, name, unit, source="manual", time_aggregation=time, tree_aggregation=tree, **kw
    )


CUMULATIVE = {"is_cumulative": True}
FORWARD = {"is_forward_looking": True}

KPIS = [
    # Financial
    _kpi("grow-revenue", "won_revenue", "Won revenue vs quota", "currency", weight=4, **CUMULATIVE),
    _kpi(
        "grow-revenue",
        "revenue_growth_qoq",
        "Revenue growth vs previous period",
        "percent",
        metric="won_revenue",
        transform="pct_previous",
        goal=5,
        red=0,
    ),
    _kpi(
        "grow-revenue",
        "revenue_growth_yoy",
        "Revenue growth vs last year",
        "percent",
        metric="won_revenue",
        transform="pct_yoy",
        goal=10,
        red=0,
    ),
    _kpi("grow-revenue", "avg_deal_size", "Average deal size", "currency"),
    _kpi("improve-profitability", "gross_profit", "Gross profit", "currency", weight=2, **CUMULATIVE),
    _kpi("improve-profitability", "profit_margin", "Profit margin", "fraction", goal=0.15, red=0.10),
    # Customer
    _manual("delight-customers", "nps", "Net promoter score", "score", goal=40, red=20, scale=(-100, 100)),
    _manual(
        "delight-customers", "csat", "Customer satisfaction (CSAT)", "score", goal=85, red=75, scale=(0, 100)
    ),
    _kpi("delight-customers", "customer_retention", "Customer retention", "fraction", goal=0.8, red=0.65),
    _kpi("delight-customers", "active_customers", "Active customers", "count", **CUMULATIVE),
    _manual(
        "win-the-market",
        "market_size",
        "Addressable market size",
        "currency",
        # an annual figure whatever the period it is entered for: a quarter's or year's is the latest one
        time="last",
        tree="sum",
        weight=0,
    ),
    _kpi(
        "win-the-market",
        "market_share",
        "Market share",
        "fraction",
        source="formula",
        # market_size is an annual figure: pro-rated to the period's length (DESIGN §4)
        formula="won_revenue / (market_size * months / 12)",
        goal=0.12,
        red=0.08,
        weight=2,
    ),
    _kpi("win-the-market", "new_customers", "New customers", "count", **CUMULATIVE),
    _kpi(
        "win-the-market",
        "cross_brand_penetration",
        "Cross-brand penetration",
        "fraction",
        metric="cross_brand_customers",
        goal=0.3,
        red=0.2,
    ),
    _manual(
        "differentiate",
        "customer_value_proposition",
        "Customer value proposition rating",
        "score",
        goal=4.2,
        red=3.6,
        scale=(1, 5),
    ),
    _manual(
        "differentiate", "innovation_rating", "Customers rating us innovative", "fraction", goal=0.6, red=0.45
    ),
    # Internal sales processes
    _kpi("build-pipeline", "open_pipeline_value", "Open pipeline value", "currency", weight=2, **FORWARD),
    _kpi(
        "build-pipeline",
        "pipeline_growth",
        "Pipeline growth vs previous period",
        "percent",
        metric="open_pipeline_value",
        transform="pct_previous",
        goal=5,
        red=-5,
        **FORWARD,
    ),
    _kpi("build-pipeline", "open_pipeline_count", "Open opportunities", "count", **FORWARD),
    _kpi(
        "build-pipeline",
        "pipeline_coverage",
        "Pipeline coverage of the remaining quota",
        "fraction",
        goal=3,
        red=2,
        **FORWARD,
    ),
    _kpi("build-pipeline", "new_opportunities", "New opportunities", "count", **CUMULATIVE, **FORWARD),
    _kpi(
        "build-pipeline",
        "identification_participation",
        "Reps identifying opportunities",
        "fraction",
        goal=0.8,
        red=0.6,
    ),
    _kpi("win-more-deals", "win_rate", "Win rate", "fraction", weight=2, goal=0.5, red=0.4),
    _kpi("win-more-deals", "won_deals", "Deals won", "count", **CUMULATIVE),
    _kpi("win-more-deals", "lost_deals", "Deals lost", "count", direction="lower", weight=0.5),
    _kpi("win-more-deals", "lost_value", "Value of deals lost", "currency", direction="lower", weight=0.5),
    _kpi(
        "win-more-deals", "sales_cycle_days", "Sales cycle length", "days", direction="lower", goal=60, red=90
    ),
    _kpi("win-more-deals", "lead_conversion", "Lead conversion", "fraction", goal=0.35, red=0.25),
    _kpi(
        "productive-reps",
        "reps_at_target_pct",
        "Reps achieving revenue target",
        "fraction",
        weight=2,
        goal=0.7,
        red=0.5,
    ),
    _kpi("productive-reps", "reps_at_target", "Number of reps at target", "count", weight=0),
    _kpi(
        "productive-reps", "rep_turnover", "Rep turnover", "fraction", direction="lower", goal=0.03, red=0.06
    ),
    _kpi(
        "productive-reps",
        "revenue_per_rep",
        "Sales productivity (won revenue per rep)",
        "currency",
        weight=2,
        **CUMULATIVE,
    ),
    _kpi("sell-solutions", "strategic_play_deals", "Strategic-play deals", "count", **CUMULATIVE),
    _kpi(
        "sell-solutions", "strategic_play_win_rate", "Strategic-play win rate", "fraction", goal=0.55, red=0.4
    ),
    _kpi(
        "sell-solutions",
        "deliverables_in_wins",
        "Technical deliverables used in wins",
        "fraction",
        goal=0.6,
        red=0.4,
    ),
    _kpi(
        "sell-solutions",
        "deliverables_in_losses",
        "Technical deliverables used in losses",
        "fraction",
        weight=0,
    ),
    _kpi("sell-solutions", "poc_success_rate", "POC success rate", "fraction", goal=0.7, red=0.5),
    _kpi("sell-solutions", "poc_win_rate", "POC → win conversion", "fraction", goal=0.75, red=0.55),
    _kpi("sell-solutions", "poc_success_not_won", "Successful POCs not closed", "count", direction="lower"),
    _kpi(
        "leverage-channel",
        "partner_revenue_share",
        "Partner-led revenue share",
        "fraction",
        goal=0.3,
        red=0.2,
    ),
    _kpi("leverage-channel", "cross_brand_deals", "Cross-brand deals", "count", **CUMULATIVE),
    # Learning & growth
    _kpi(
        "certify-people",
        "product_certified_reps",
        "Reps with a product certification",
        "fraction",
        metric="certified_reps_pct",
        metric_filter={"category": "product"},
        goal=0.8,
        red=0.6,
        weight=2,
    ),
    _kpi(
        "certify-people",
        "industry_certified_reps",
        "Reps with an industry certification",
        "fraction",
        metric="certified_reps_pct",
        metric_filter={"category": "industry"},
        goal=0.4,
        red=0.25,
    ),
    _kpi(
        "certify-people",
        "customer_industry_credentials",
        "Reps with customer-industry credentials",
        "fraction",
        metric="certified_reps_pct",
        metric_filter={"category": "customer_industry"},
        goal=0.3,
        red=0.15,
    ),
    _kpi("certify-people", "certifications_earned", "Certifications earned", "count", **CUMULATIVE),
    _kpi(
        "certify-people",
        "training_effectiveness",
        "Training effectiveness (win-rate lift of certified reps)",
        "fraction",
        metric="certified_win_rate_lift",
        goal=0.05,
        red=0,
    ),
    _kpi(
        "develop-people",
        "diversity_participation",
        "Diversity programme participation",
        "fraction",
        metric="program_participation_pct",
        metric_filter={"kind": "diversity"},
        goal=0.3,
        red=0.15,
    ),
    _kpi(
        "develop-people",
        "career_movement",
        "Career movement programme participation",
        "fraction",
        metric="program_participation_pct",
        metric_filter={"kind": "career_movement"},
        goal=0.1,
        red=0.05,
    ),
    _kpi(
        "develop-people",
        "high_potential",
        "High-potential programme participation",
        "fraction",
        metric="program_participation_pct",
        metric_filter={"kind": "high_potential"},
        goal=0.15,
        red=0.08,
    ),
    _kpi(
        "develop-people",
        "education_participation",
        "Education programme participation",
        "fraction",
        metric="program_participation_pct",
        metric_filter={"kind": "education"},
        goal=0.25,
        red=0.1,
    ),
    _manual(
        "develop-people",
        "employee_engagement",
        "Employee engagement",
        "score",
        goal=75,
        red=60,
        weight=2,
        scale=(0, 100),
    ),
    _manual(
        "develop-people",
        "skill_assessment",
        "Skill development (assessment score)",
        "score",
        goal=3.5,
        red=3.0,
        scale=(1, 5),
    ),
]
