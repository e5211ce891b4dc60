"""The realistic benchmark organisation: the benchmark's tree and reps (``kpis.bench``) with every input
the rollup engine reads filled at a realistic density, drawn column-wise with numpy and written with
bulk inserts (a ``COPY`` on PostgreSQL), so a million deals take minutes, not hours.

Besides the deals' stage, dates and amounts: 1–3 products per deal across four product lines, partners
on partner-channel deals, strategic plays, proofs of concept, technical deliverables, accounts that buy
again, who identified the deal, a few house deals; certifications of all three categories with their
expiries, programme participation of every kind, manual measurements per team (and skill assessments
per rep) every quarter, and explicit targets for every KPI at every level of the tree (reps: quotas and
the counts). What the engine reads is listed in ``kpis/rollup/load.py`` and ``kpis/rollup/deals.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
from django.db import connection

from people.models import Certification, CertificationType, Program, ProgramParticipation
from sales.models import Account, Deliverable, Opportunity, Partner, Product, StrategicPlay
from scorecard import periods
from scorecard.models import Organization
from territories.models import Rep, TerritoryAssignment

from .models import KPI, Measurement, Target

# (line, name, list price, gross margin of the line)
PRODUCTS = (
    ("Cloud", "Cloud Core", 48_000, 0.24),
    ("Cloud", "Cloud Edge", 22_000, 0.24),
    ("Cloud", "Backup", 9_500, 0.24),
    ("Data", "Warehouse", 65_000, 0.21),
    ("Data", "Dashboards", 12_000, 0.21),
    ("Data", "AI Studio", 38_000, 0.21),
    ("Security", "Identity", 18_000, 0.19),
    ("Security", "Zero Trust", 42_000, 0.19),
    ("Security", "SOC Service", 30_000, 0.19),
    ("Services", "Migration", 25_000, 0.09),
    ("Services", "Managed Operations", 55_000, 0.09),
    ("Services", "Advisory Workshop", 8_000, 0.09),
)
PARTNERS = ("Alliance One", "Bluewave", "Crestline", "Datacore", "Everpeak", "Fjord Digital")
PLAYS = ("Cloud migration", "Zero trust", "AI-ready data", "Managed operations upsell")
DELIVERABLES = (
    "Architecture overview",
    "Solution design",
    "Project plan",
    "Business case",
    "Security review",
)
# (name, category, validity in months or None)
CERTIFICATION_TYPES = (
    ("Cloud Certified Seller", "product", 24),
    ("Data Platform Specialist", "product", 24),
    ("Security Professional", "product", 24),
    ("TOGAF Foundation", "industry", None),
    ("Software Engineering Master", "industry", 36),
    ("ITIL Foundation", "industry", None),
    ("Life Management Fellow", "customer_industry", None),
    ("Certified Mortgage Banker", "customer_industry", 36),
    ("Quality Improvement Associate", "customer_industry", 36),
)
PROGRAMS = (
    ("Women in Sales", "diversity"),
    ("Internal Mobility", "career_movement"),
    ("Emerging Leaders", "high_potential"),
    ("Executive Education", "education"),
    ("Consultative Selling", "training"),
)
OPEN_STAGES = ("prospecting", "qualifying", "engaging", "proposal", "negotiation")
# Manual KPIs measured per team each quarter: slug → (low, high, weight range or None).
MANUAL = {
    "nps": (10, 60, (20, 80)),
    "csat": (70, 95, (30, 120)),
    "customer_value_proposition": (3.0, 4.8, (10, 40)),
    "innovation_rating": (0.3, 0.8, (10, 40)),
    "employee_engagement": (55, 85, (3, 8)),
    "skill_assessment": (2.6, 4.4, (3, 8)),
}
STAMP = "2024-01-01T00:00:00+00:00"


@dataclass
class Drawn:
    """The deal columns drawn (ordinals for dates, 0 = none), for the targets sized on them."""

    stage: np.ndarray  # 0 open, 1 won, 2 lost
    amount: np.ndarray
    profit: np.ndarray
    play: np.ndarray
    multi_line: np.ndarray
    account: np.ndarray


def fill(org: Organization, deals: int, first: date, last: date, seed: int) -> dict[str, int]:
    """Everything but the tree and the reps (already built) for ``deals`` deals in [first, last]; the
    rows written per table."""
    rng = np.random.default_rng(seed)
    reps = list(Rep.objects.filter(org=org).order_by("id").values_list("id", "hire_date", "leave_date"))
    rep_ids = np.array([r[0] for r in reps], dtype=np.int64)
    leave = np.array([r[2].toordinal() if r[2] else 10**7 for r in reps], dtype=np.int64)
    hire = np.array([r[1].toordinal() if r[1] else first.toordinal() for r in reps], dtype=np.int64)
    catalog = _catalog(org)
    accounts = _accounts(org, max(50, deals // 10))
    counts = {"products": len(catalog.products), "accounts": len(accounts)}
    drawn, counts_deals = _deals(org, deals, first, last, rng, rep_ids, leave, catalog, accounts)
    counts |= counts_deals
    counts["certifications"] = _certifications(org, rng, rep_ids, hire, first, last, catalog)
    counts["participations"] = _participations(org, rng, rep_ids, first, last, catalog)
    years = list(range(first.year, last.year + 1))
    counts["measurements"] = _measurements(org, rng, years, drawn)
    counts["targets"] = _targets(org, rng, years, drawn, len(rep_ids), counts["certifications"])
    if connection.vendor == "postgresql":  # fresh statistics, as autovacuum would leave after a bulk load
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return counts


@dataclass
class _Catalog:
    products: list[int]
    line_of: np.ndarray  # product position → line code
    price: np.ndarray
    margin: np.ndarray
    partners: list[int]
    plays: list[int]
    deliverables: list[int]
    cert_types: list[int]
    cert_months: list[int | None]
    programs: list[int]


def _catalog(org: Organization) -> _Catalog:
    products = Product.objects.bulk_create(
        Product(org=org, name=name, line=line, list_price=price) for line, name, price, _m in PRODUCTS
    )
    lines = sorted({p[0] for p in PRODUCTS})
    types = CertificationType.objects.bulk_create(
        CertificationType(org=org, name=n, category=c, issuer="Bench", validity_months=v)
        for n, c, v in CERTIFICATION_TYPES
    )
    return _Catalog(
        products=[p.pk for p in products],
        line_of=np.array([lines.index(p[0]) for p in PRODUCTS]),
        price=np.array([p[2] for p in PRODUCTS], dtype=float),
        margin=np.array([p[3] for p in PRODUCTS]),
        partners=[p.pk for p in Partner.objects.bulk_create(Partner(org=org, name=n) for n in PARTNERS)],
        plays=[
            p.pk for p in StrategicPlay.objects.bulk_create(StrategicPlay(org=org, name=n) for n in PLAYS)
        ],
        deliverables=[
            d.pk for d in Deliverable.objects.bulk_create(Deliverable(org=org, name=n) for n in DELIVERABLES)
        ],
        cert_types=[t.pk for t in types],
        cert_months=[v for _n, _c, v in CERTIFICATION_TYPES],
        programs=[
            p.pk for p in Program.objects.bulk_create(Program(org=org, name=n, kind=k) for n, k in PROGRAMS)
        ],
    )


def insert_rows(table: str, columns: Sequence[str], rows: Iterable[Sequence]) -> int:
    """Bulk insert: a COPY on PostgreSQL, batched ``executemany`` elsewhere; the rows written."""
    written = 0
    names = ", ".join(f'"{c}"' for c in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    written += 1
            return written
        sql = f"INSERT INTO {table} ({names}) VALUES ({', '.join(['%s'] * len(columns))})"
        batch: list[Sequence] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= 20_000:
                cursor.executemany(sql, batch)
                written += len(batch)
                batch = []
        cursor.executemany(sql, batch)
        return written + len(batch)


def _iso(ordinals: np.ndarray) -> list[str | None]:
    """Ordinals as ISO dates (0 → None), without a Python date per value."""
    days = (ordinals - date(1970, 1, 1).toordinal()).astype("datetime64[D]")
    text = np.datetime_as_string(days).astype(object)
    text[ordinals <= 0] = None
    return text.tolist()


def _nullable(values: np.ndarray, present: np.ndarray) -> list:
    out = values.astype(object)
    out[~present] = None
    return out.tolist()


Column = np.ndarray | tuple[np.ndarray, np.ndarray] | tuple[str, np.ndarray]
CHUNK = 50_000  # rows turned into Python values at a time: the build's memory stays flat


def _rows(columns: dict[str, Column], n: int) -> Iterable[tuple]:
    """Rows from columns, a chunk at a time: an array, (values, present) for a nullable column, or
    ("date", ordinals) for a date column (0: none)."""
    for start in range(0, n, CHUNK):
        part = slice(start, start + CHUNK)
        lists = []
        for column in columns.values():
            if isinstance(column, tuple) and isinstance(column[0], str):
                lists.append(_iso(column[1][part]))
            elif isinstance(column, tuple):
                lists.append(_nullable(column[0][part], column[1][part]))
            else:
                lists.append(column[part].tolist())
        yield from zip(*lists, strict=True)


def _accounts(org: Organization, count: int) -> np.ndarray:
    sectors = ("Banking", "Insurance", "Manufacturing", "Retail", "Public sector", "Health")
    insert_rows(
        Account._meta.db_table,
        ("org_id", "external_id", "name", "sector", "country"),
        ((org.pk, f"A{i:07d}", f"Account {i:07d}", sectors[i % 6], "") for i in range(count)),
    )
    return np.array(
        Account.objects.filter(org=org).order_by("external_id").values_list("pk", flat=True), dtype=np.int64
    )


def _deals(
    org: Organization,
    n: int,
    first: date,
    last: date,
    rng: np.random.Generator,
    rep_ids: np.ndarray,
    leave: np.ndarray,
    catalog: _Catalog,
    accounts: np.ndarray,
) -> tuple[Drawn, dict[str, int]]:
    """The deals with their products and deliverables."""
    day0, day_last = first.toordinal(), last.toordinal()
    rep = rng.integers(0, len(rep_ids), n)
    house = rng.random(n) < 0.005
    created = day0 + rng.integers(0, day_last - day0 + 1, n)
    has_engage = rng.random(n) < 0.85
    engage = created + rng.integers(0, 21, n)
    opened = np.where(has_engage, engage, created)
    poc_kind = rng.random(n)
    has_poc = poc_kind < 0.3
    cycle = (rng.integers(5, 151, n) * np.where(has_poc, 1.3, 1.0)).astype(np.int64)
    close = opened + cycle
    # A leaver's deals open and close by the day they leave (their assignment ends then).
    rep_leave = np.where(house, 10**7, leave[rep])
    late = opened > rep_leave
    created = np.where(late, np.minimum(created, rep_leave), created)
    engage = np.where(late, rep_leave, engage)
    close = np.minimum(close, rep_leave)
    opened = np.where(has_engage, engage, created)
    close = np.maximum(close, opened)

    roll = rng.random(n)
    closable = close <= day_last
    stage = np.where(closable & (roll < 0.42), 1, np.where(closable & (roll < 0.8), 2, 0)).astype(np.int8)
    open_close_known = rng.random(n) < 0.9
    close_out = np.where((stage > 0) | open_close_known, close, 0)
    stage_text = np.array(["", "won", "lost"], dtype=object)[stage]
    open_pick = np.array(OPEN_STAGES, dtype=object)[rng.integers(0, len(OPEN_STAGES), n)]
    stage_text = np.where(stage == 0, open_pick, stage_text)

    poc_roll = rng.random(n)
    poc = np.where(
        stage == 1,
        np.where(poc_roll < 0.8, "success", "failure"),
        np.where(stage == 2, np.where(poc_roll < 0.35, "success", "failure"), "running"),
    ).astype(object)
    poc = np.where(has_poc, poc, "none")

    count = np.where(rng.random(n) < 0.55, 1, np.where(rng.random(n) < 0.67, 2, 3))
    picks = rng.integers(0, len(catalog.products), (n, 3))
    chosen = (np.arange(3)[None, :] < count[:, None]).ravel()
    keys = np.unique((np.repeat(np.arange(n), 3) * 16 + picks.ravel())[chosen])
    pair_deal, pair_product = keys // 16, keys % 16
    list_value = np.bincount(pair_deal, weights=catalog.price[pair_product], minlength=n)
    line_bits = np.zeros(n, dtype=np.int64)
    np.bitwise_or.at(line_bits, pair_deal, 1 << catalog.line_of[pair_product])
    multi_line = np.array([bin(b).count("1") >= 2 for b in range(16)])[line_bits]
    margin = np.zeros(n)
    margin[pair_deal] = catalog.margin[pair_product]
    amount = np.round(list_value * rng.uniform(0.6, 1.3, n) * rng.lognormal(0, 0.4, n), 2)
    has_amount = (stage > 0) | (rng.random(n) < 0.97)
    profit = np.round(amount * (margin + rng.normal(0, 0.04, n)), 2)
    has_profit = has_amount & (rng.random(n) < 0.9)

    partner_channel = rng.random(n) < 0.25
    partner = np.array(catalog.partners)[rng.integers(0, len(catalog.partners), n)]
    play = rng.random(n) < 0.2
    play_id = np.array(catalog.plays)[rng.integers(0, len(catalog.plays), n)]
    account_of = rng.integers(0, len(accounts), n)
    has_account = rng.random(n) < 0.97
    identified = (rng.random(n) < 0.35) & ~house
    identifier = np.where(rng.random(n) < 0.7, rep, rng.integers(0, len(rep_ids), n))
    teams = list(
        TerritoryAssignment.objects.filter(org=org).values_list("territory_id", flat=True).distinct()
    )
    house_territory = np.array(sorted(teams))[rng.integers(0, len(teams), n)]

    columns = {
        "org_id": np.full(n, org.pk),
        "external_id": np.char.add("B", np.char.zfill(np.arange(n).astype(str), 7)) if n else np.zeros(0),
        "rep_id": (rep_ids[rep], ~house),
        "territory_id": (house_territory, house),
        "account_id": (accounts[account_of], has_account),
        "stage": stage_text,
        "created_date": ("date", created),
        "engage_date": ("date", np.where(has_engage, engage, 0)),
        "close_date": ("date", close_out),
        "amount": (amount, has_amount),
        "profit": (profit, has_profit),
        "channel": np.where(partner_channel, "partner", "direct"),
        "partner_id": (partner, partner_channel),
        "strategic_play_id": (play_id, play),
        "poc": poc,
        "identified_by_id": (rep_ids[identifier], identified),
        "updated_at": np.full(n, STAMP),
    }
    written = insert_rows(Opportunity._meta.db_table, list(columns), _rows(columns, n))
    ids = np.array(
        Opportunity.objects.filter(org=org).order_by("external_id").values_list("pk", flat=True),
        dtype=np.int64,
    )
    products = np.array(catalog.products)
    links = insert_rows(
        Opportunity.products.through._meta.db_table,
        ("opportunity_id", "product_id"),
        _rows({"o": ids[pair_deal], "p": products[pair_product]}, len(pair_deal)),
    )
    with_deliverables = np.flatnonzero(rng.random(n) < 0.4)
    first_d = rng.integers(0, len(catalog.deliverables), len(with_deliverables))
    second_d = (first_d + rng.integers(1, len(catalog.deliverables), len(with_deliverables))) % len(
        catalog.deliverables
    )
    two = rng.random(len(with_deliverables)) < 0.4
    deliverable_deal = np.concatenate([with_deliverables, with_deliverables[two]])
    deliverable = np.array(catalog.deliverables)[np.concatenate([first_d, second_d[two]])]
    deliverable_links = insert_rows(
        Opportunity.deliverables.through._meta.db_table,
        ("opportunity_id", "deliverable_id"),
        _rows({"o": ids[deliverable_deal], "d": deliverable}, len(deliverable)),
    )
    drawn = Drawn(
        stage=stage,
        amount=np.where(has_amount, amount, 0),
        profit=np.where(has_profit, profit, 0),
        play=play,
        multi_line=multi_line,
        account=np.where(has_account, account_of, -1),
    )
    return drawn, {"deals": written, "product links": links, "deliverable links": deliverable_links}


def _certifications(
    org: Organization,
    rng: np.random.Generator,
    rep_ids: np.ndarray,
    hire: np.ndarray,
    first: date,
    last: date,
    catalog: _Catalog,
) -> int:
    """0–5 certifications per rep (about 2), of any type, earned after the hire; expiring by type."""
    per_rep = np.minimum(rng.poisson(2.0, len(rep_ids)), 5)
    rep = np.repeat(np.arange(len(rep_ids)), per_rep)
    kind = rng.integers(0, len(catalog.cert_types), len(rep))
    keep = np.unique(rep * 16 + kind, return_index=True)[1]
    rep, kind = rep[keep], kind[keep]
    # Within the benchmark's years, so the grid of periods stays the simple profile's.
    start = np.maximum(hire[rep], first.toordinal())
    earned = start + (rng.random(len(rep)) * (last.toordinal() - start)).astype(np.int64)
    months = np.array([m or 0 for m in catalog.cert_months])[kind]
    expires = np.where(months > 0, earned + (months * 30.44).astype(np.int64), 0)
    return insert_rows(
        Certification._meta.db_table,
        ("org_id", "rep_id", "type_id", "earned", "expires", "note"),
        zip(
            [org.pk] * len(rep),
            rep_ids[rep].tolist(),
            np.array(catalog.cert_types)[kind].tolist(),
            _iso(earned),
            _iso(expires),
            [""] * len(rep),
            strict=True,
        ),
    )


def _participations(
    org: Organization,
    rng: np.random.Generator,
    rep_ids: np.ndarray,
    first: date,
    last: date,
    catalog: _Catalog,
) -> int:
    """About half the reps in one or two programmes, of every kind; most end within a year."""
    per_rep = np.where(rng.random(len(rep_ids)) < 0.5, rng.integers(1, 3, len(rep_ids)), 0)
    rep = np.repeat(np.arange(len(rep_ids)), per_rep)
    program = rng.integers(0, len(catalog.programs), len(rep))
    keep = np.unique(rep * 16 + program, return_index=True)[1]
    rep, program = rep[keep], program[keep]
    start = first.toordinal() + rng.integers(0, last.toordinal() - first.toordinal(), len(rep))
    end = np.where(rng.random(len(rep)) < 0.7, start + rng.integers(60, 400, len(rep)), 0)
    return insert_rows(
        ProgramParticipation._meta.db_table,
        ("org_id", "rep_id", "program_id", "start", "end"),
        zip(
            [org.pk] * len(rep),
            rep_ids[rep].tolist(),
            np.array(catalog.programs)[program].tolist(),
            _iso(start),
            _iso(end),
            strict=True,
        ),
    )


def _leaves_and_shares(org: Organization) -> tuple[list[int], dict[int, float]]:
    """The leaf territories (teams), and each territory's share of them."""
    from territories.models import Territory

    rows = list(Territory.objects.filter(org=org).values_list("pk", "path", "numchild"))
    leaves = [path for _pk, path, numchild in rows if numchild == 0]
    share = {pk: sum(1 for leaf in leaves if leaf.startswith(path)) / len(leaves) for pk, path, _n in rows}
    return [pk for pk, _path, numchild in rows if numchild == 0], share


def _measurements(org: Organization, rng: np.random.Generator, years: list[int], drawn: Drawn) -> int:
    """Every manual KPI per team and quarter (market size: a yearly figure, pro-rated by the formula),
    and a skill assessment per rep and quarter."""
    kpis = dict(KPI.objects.filter(org=org, source="manual").values_list("slug", "pk"))
    teams, share = _leaves_and_shares(org)
    reps = list(Rep.objects.filter(org=org).values_list("pk", flat=True))
    yearly_won = float(drawn.amount[drawn.stage == 1].sum()) / len(years)
    quarters = [periods.quarter(y, q).key for y in years for q in range(1, 5)]
    rows: list[tuple] = []
    for quarter in quarters:
        for team in teams:
            for slug, (low, high, weights) in MANUAL.items():
                if slug in kpis:
                    weight = int(rng.integers(*weights)) if weights else None
                    rows.append(
                        (kpis[slug], team, None, quarter, round(float(rng.uniform(low, high)), 3), weight)
                    )
            if "market_size" in kpis:
                market = yearly_won * share[team] * float(rng.uniform(7, 13))
                rows.append((kpis["market_size"], team, None, quarter, round(market, 2), None))
        if "skill_assessment" in kpis:
            for rep in reps:
                rows.append(
                    (kpis["skill_assessment"], None, rep, quarter, round(float(rng.uniform(2, 5)), 2), None)
                )
    return insert_rows(
        Measurement._meta.db_table,
        ("org_id", "kpi_id", "territory_id", "rep_id", "period", "value", "weight", "note", "entered_at"),
        ((org.pk, *row, "", STAMP) for row in rows),
    )


def _yearly_sizes(drawn: Drawn, years: int, reps: int, certifications: int) -> dict[str, float]:
    """What the organisation does in a year, for the KPIs whose goal grows with the scope and period."""
    won, lost = drawn.stage == 1, drawn.stage == 2
    won_revenue = float(drawn.amount[won].sum()) / years
    n = len(drawn.stage)
    return {
        "won_revenue": won_revenue,
        "gross_profit": float(drawn.profit[won].sum()) / years,
        "active_customers": len(np.unique(drawn.account[won & (drawn.account >= 0)])) * 0.6,
        "new_customers": len(np.unique(drawn.account[drawn.account >= 0])) / years,
        "open_pipeline_value": won_revenue * 0.8,
        "open_pipeline_count": n / years * 0.35,
        "new_opportunities": n / years,
        "won_deals": float(won.sum()) / years,
        "lost_deals": float(lost.sum()) / years,
        "lost_value": float(drawn.amount[lost].sum()) / years,
        "strategic_play_deals": float(drawn.play.sum()) / years,
        "cross_brand_deals": float((drawn.multi_line & won).sum()) / years,
        "certifications_earned": certifications / years,
        "poc_success_not_won": n / years * 0.02,
        "reps_at_target": reps * 0.6,
        "market_size": won_revenue * 10,
    }


# Goals that do not grow with the scope or the period (money per deal or per rep over a year).
PER_UNIT = {"avg_deal_size", "revenue_per_rep"}


def _targets(
    org: Organization,
    rng: np.random.Generator,
    years: list[int],
    drawn: Drawn,
    reps: int,
    certifications: int,
) -> int:
    """Every KPI at every territory for every year and quarter (a scale-free KPI: its default goal ± a
    little, yearly); every rep: quarterly and yearly quotas and yearly goals for the counts."""
    sizes = _yearly_sizes(drawn, len(years), reps, certifications)
    won = drawn.stage == 1
    sizes["avg_deal_size"] = float(drawn.amount[won].mean()) if won.any() else 1.0
    sizes["revenue_per_rep"] = sizes["won_revenue"] / max(reps, 1)
    _teams, share = _leaves_and_shares(org)
    rep_ids = list(Rep.objects.filter(org=org).values_list("pk", flat=True))
    quarters = {y: [periods.quarter(y, q).key for q in range(1, 5)] for y in years}
    rows: list[tuple] = []
    for kpi in KPI.objects.filter(org=org).order_by("pk"):
        lower = kpi.direction == "lower"
        red_share = 1.25 if lower else 0.8
        if kpi.slug in sizes:
            for territory, part in share.items():
                for year in years:
                    scale = 1.0 if kpi.slug in PER_UNIT else part
                    # Quotas stretch beyond what is won, so the remaining quota (pipeline coverage) exists.
                    stretch = (1.1, 1.35) if kpi.slug == "won_revenue" else (0.9, 1.15)
                    goal = sizes[kpi.slug] * scale * float(rng.uniform(*stretch))
                    rows.append((kpi.pk, territory, None, str(year), goal, goal * red_share))
                    for quarter in quarters[year]:
                        per = 1.0 if kpi.slug in PER_UNIT or kpi.slug == "market_size" else 0.25
                        rows.append((kpi.pk, territory, None, quarter, goal * per, goal * per * red_share))
        else:  # scale-free: a fraction, percentage, score or days
            base = float(kpi.default_goal) if kpi.default_goal is not None else 0.3
            red = float(kpi.default_red_flag) if kpi.default_red_flag is not None else base * red_share
            for territory in share:
                for year in years:
                    nudge = float(rng.uniform(0.95, 1.05))
                    rows.append((kpi.pk, territory, None, str(year), base * nudge, red * nudge))
    rep_kpis = {
        k.slug: k.pk
        for k in KPI.objects.filter(
            org=org, slug__in=["won_revenue", "won_deals", "new_opportunities", "gross_profit"]
        )
    }
    for rep in rep_ids:
        for year in years:
            for slug, pk in rep_kpis.items():
                goal = sizes[slug] / max(reps, 1) * float(rng.uniform(0.7, 1.3))
                rows.append((pk, None, rep, str(year), goal, goal * 0.8))
                if slug == "won_revenue":
                    rows += [(pk, None, rep, q, goal / 4, goal / 5) for q in quarters[year]]
    return insert_rows(
        Target._meta.db_table,
        ("org_id", "kpi_id", "territory_id", "rep_id", "period", "goal", "red_flag", "reason", "set_at"),
        ((org.pk, kpi, t, r, p, round(g, 4), round(rf, 4), "bench", STAMP) for kpi, t, r, p, g, rf in rows),
    )
