"""Rollup benchmark: a synthetic organisation at scale, our full recompute against hand-written SQL
GROUP BYs over the same rows, in the same run (figures, not tests).

Two profiles: ``realistic`` (the default) fills every input the engine reads at a realistic density
(``kpis.bench_org``); ``simple`` is the first benchmark's organisation: deals with a rep, stage, dates,
amount, channel and POC only, and nothing else (no products, accounts, certifications, targets, …)."""

from __future__ import annotations

import os
import random
import resource
import time
from datetime import date, timedelta

from django.db import connection, reset_queries, transaction
from django.test.utils import CaptureQueriesContext

from kpis import bench_org
from kpis.models import RecomputeRequest, RollupRun, ScopeRollup
from kpis.rollup import warm
from kpis.services import rollups_recompute, rollups_recompute_pending
from sales.models import Opportunity, Product
from scorecard.models import Organization
from scorecard.services import organization_create, organization_delete
from territories.models import Rep, Territory, TerritoryAssignment
from territories.services import territory_child_create

FIRST_DAY = date(2021, 1, 1)
LAST_DAY = date(2023, 12, 31)
LEVELS = (4, 5)  # regions under the root, areas per region; teams fill up to 200 territories
TERRITORIES = 200
REPS = 1000
UPDATED_AT = "2024-01-01T00:00:00+00:00"


def peak_rss_mb() -> float:
    # ru_maxrss is in kilobytes on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _executemany(sql: str, rows: list[tuple]) -> None:
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


PROFILES = ("realistic", "simple")


def org_slug(deals: int, profile: str = "realistic") -> str:
    return f"bench-{deals}" if profile == "realistic" else f"bench-{profile}-{deals}"


@transaction.atomic
def build_org(slug: str, deals: int, seed: int = 7, profile: str = "realistic") -> Organization:
    """1,000 reps in 200 territories on 4 levels, 3 years, ``deals`` opportunities; with every other
    input of the engine filled (``realistic``) or none (``simple``)."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}: {', '.join(PROFILES)}")
    rnd = random.Random(seed)
    for old in Organization.objects.filter(slug=slug):
        organization_delete(old)
    org = organization_create(name=f"Bench {deals}", slug=slug)
    teams = _tree_build(org)
    rep_ids, leave_dates = _reps_build(org, teams, rnd)
    if profile == "simple":
        _deals_insert(org, deals, rep_ids, leave_dates, rnd)
    else:
        bench_org.fill(org, deals, FIRST_DAY, LAST_DAY, seed)
    return org


def _tree_build(org: Organization) -> list[Territory]:
    """Regions under the root, areas under the regions, teams round-robin under the areas; the teams."""
    root = Territory.objects.get(org=org, depth=1)
    regions = [territory_child_create(parent=root, name=f"Region {i + 1}") for i in range(LEVELS[0])]
    areas: list[Territory] = []
    for region in regions:
        for _ in range(LEVELS[1]):
            region.refresh_from_db()
            areas.append(territory_child_create(parent=region, name=f"Area {len(areas) + 1}"))
    teams = []
    team_count = TERRITORIES - 1 - len(regions) - len(areas)
    for k in range(team_count):
        area = areas[k % len(areas)]
        area.refresh_from_db()
        teams.append(territory_child_create(parent=area, name=f"Team {k + 1}"))
    return teams


def _reps_build(
    org: Organization, teams: list[Territory], rnd: random.Random
) -> tuple[list[int], dict[int, date]]:
    """The reps, each in a team (one in ten moving once), one in twenty leaving; their ids and leave dates."""
    Rep.objects.bulk_create(
        Rep(org=org, name=f"Rep {i + 1:04d}", hire_date=FIRST_DAY - timedelta(days=rnd.randint(0, 900)))
        for i in range(REPS)
    )
    reps = list(Rep.objects.filter(org=org).order_by("id"))
    assignments = []
    leavers = []
    for rep in reps:
        team = rnd.choice(teams)
        hired = rep.hire_date or FIRST_DAY
        if rnd.random() < 0.1:
            move = FIRST_DAY + timedelta(days=rnd.randint(60, 1000))
            assignments.append(
                TerritoryAssignment(
                    org=org, rep=rep, territory=team, start=hired, end=move - timedelta(days=1)
                )
            )
            assignments.append(TerritoryAssignment(org=org, rep=rep, territory=rnd.choice(teams), start=move))
        else:
            assignments.append(TerritoryAssignment(org=org, rep=rep, territory=team, start=hired))
        if rnd.random() < 0.05:
            leavers.append((rep.pk, LAST_DAY - timedelta(days=rnd.randint(0, 300))))
    TerritoryAssignment.objects.bulk_create(assignments)
    for rep_id, leave in leavers:
        # Close the assignment at the leave date so no deal of a leaver lands after it.
        Rep.objects.filter(pk=rep_id).update(leave_date=leave)
        TerritoryAssignment.objects.filter(rep_id=rep_id, end__isnull=True, start__lte=leave).update(
            end=leave
        )
        TerritoryAssignment.objects.filter(rep_id=rep_id, start__gt=leave).delete()
    return [r.pk for r in reps], dict(leavers)


def _deals_insert(
    org: Organization, deals: int, rep_ids: list[int], leave_dates: dict[int, date], rnd: random.Random
) -> None:
    """``deals`` opportunities over the three years, inserted by plain SQL in batches of 20,000."""
    table = Opportunity._meta.db_table
    columns = "org_id, external_id, rep_id, stage, created_date, engage_date, close_date, amount, channel, poc, updated_at"
    sql = f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * 11)})"
    batch = []
    for i in range(deals):
        batch.append(_deal_row(org, i, rep_ids, leave_dates, rnd))
        if len(batch) >= 20_000:
            _executemany(sql, batch)
            batch = []
    _executemany(sql, batch)


def _deal_row(
    org: Organization, i: int, rep_ids: list[int], leave_dates: dict[int, date], rnd: random.Random
) -> tuple:
    """Deal ``i``: a random rep, engage date and length; open past the last day or one time in five."""
    span = (LAST_DAY - FIRST_DAY).days
    rep_id = rnd.choice(rep_ids)
    engage = FIRST_DAY + timedelta(days=rnd.randint(0, span))
    close = engage + timedelta(days=rnd.randint(5, 150))
    leaver_on = leave_dates.get(rep_id)
    if leaver_on and engage > leaver_on:
        engage = close = leaver_on
    roll = rnd.random()
    if close > LAST_DAY or roll > 0.8:
        stage, close_value = "engaging", None
    else:
        stage, close_value = ("won" if roll < 0.45 else "lost"), close.isoformat()
    amount = round(rnd.uniform(1_000, 120_000), 2)
    channel = "partner" if rnd.random() < 0.25 else "direct"
    poc = rnd.choice(("none", "none", "success", "failure"))
    engaged = engage.isoformat()
    return (
        org.pk,
        f"B{i:07d}",
        rep_id,
        stage,
        engaged,
        engaged,
        close_value,
        amount,
        channel,
        poc,
        UPDATED_AT,
    )


def _month_sql() -> str:
    if connection.vendor == "sqlite":
        return "strftime('%%Y-%%m', o.close_date)"
    return "to_char(o.close_date, 'YYYY-MM')"


def _credited_sql() -> str:
    """Deals joined to the assignment covering their close date (house deals left out)."""
    return f"""FROM {Opportunity._meta.db_table} o
        JOIN {TerritoryAssignment._meta.db_table} a
          ON a.rep_id = o.rep_id AND a.start <= o.close_date AND (a."end" IS NULL OR a."end" >= o.close_date)"""


def _timed(statements: list[str], org: Organization) -> tuple[float, int]:
    started = time.perf_counter()
    groups = 0
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql, [org.pk] * sql.count("%s"))
            groups += len(cursor.fetchall())
    return time.perf_counter() - started, groups


def baseline_sql_seconds(org: Organization) -> tuple[float, int]:
    """One hand-written GROUP BY: won revenue, won and lost deals per leaf territory and month."""
    sql = f"""
        SELECT a.territory_id, {_month_sql()} AS month,
               SUM(CASE WHEN o.stage = 'won' THEN o.amount ELSE 0 END),
               SUM(CASE WHEN o.stage = 'won' THEN 1 ELSE 0 END),
               SUM(CASE WHEN o.stage = 'lost' THEN 1 ELSE 0 END)
        {_credited_sql()}
        WHERE o.org_id = %s AND o.stage IN ('won', 'lost')
        GROUP BY a.territory_id, month
    """
    return _timed([sql], org)


def baseline_realistic_sql_seconds(org: Organization) -> tuple[float, int]:
    """Hand-written GROUP BYs over what the realistic data adds, per leaf territory and close month: money
    (won, lost, profit, partner-led), counts (plays, POCs), cycle days, distinct customers; deals spanning
    two or more product lines (products and their lines joined); won deals with technical deliverables.
    Still far less than the rollup does (no ancestors, reps, quarters and years, open pipeline, people
    KPIs, targets or scores), so a ratio near 1 means the rollup costs about as much as reading the rows."""
    days = (
        "julianday(o.close_date) - julianday(COALESCE(o.engage_date, o.created_date))"
        if connection.vendor == "sqlite"
        else "o.close_date - COALESCE(o.engage_date, o.created_date)"
    )
    month = _month_sql()
    won = "o.stage = 'won'"
    deals = f"""
        SELECT a.territory_id, {month} AS month,
               SUM(CASE WHEN {won} THEN o.amount ELSE 0 END),
               SUM(CASE WHEN {won} THEN o.profit ELSE 0 END),
               SUM(CASE WHEN o.stage = 'lost' THEN o.amount ELSE 0 END),
               SUM(CASE WHEN {won} AND o.channel = 'partner' THEN o.amount ELSE 0 END),
               SUM(CASE WHEN {won} THEN 1 ELSE 0 END),
               SUM(CASE WHEN o.stage = 'lost' THEN 1 ELSE 0 END),
               SUM(CASE WHEN o.strategic_play_id IS NOT NULL THEN 1 ELSE 0 END),
               SUM(CASE WHEN o.strategic_play_id IS NOT NULL AND {won} THEN 1 ELSE 0 END),
               SUM(CASE WHEN o.poc = 'success' THEN 1 ELSE 0 END),
               SUM(CASE WHEN o.poc = 'success' AND {won} THEN 1 ELSE 0 END),
               AVG(CASE WHEN {won} THEN {days} END),
               COUNT(DISTINCT CASE WHEN {won} THEN o.account_id END)
        {_credited_sql()}
        WHERE o.org_id = %s AND o.stage IN ('won', 'lost')
        GROUP BY a.territory_id, month
    """
    links = Opportunity.products.through._meta.db_table
    cross_brand = f"""
        SELECT a.territory_id, {month} AS month, COUNT(*)
        {_credited_sql()}
        JOIN (SELECT l.opportunity_id FROM {links} l JOIN {Product._meta.db_table} p ON p.id = l.product_id
              WHERE p.org_id = %s
              GROUP BY l.opportunity_id HAVING COUNT(DISTINCT p.line) >= 2) x ON x.opportunity_id = o.id
        WHERE o.org_id = %s AND {won}
        GROUP BY a.territory_id, month
    """
    used = Opportunity.deliverables.through._meta.db_table
    deliverables = f"""
        SELECT a.territory_id, {month} AS month, COUNT(*)
        {_credited_sql()}
        WHERE o.org_id = %s AND {won} AND EXISTS (SELECT 1 FROM {used} d WHERE d.opportunity_id = o.id)
        GROUP BY a.territory_id, month
    """
    return _timed([deals, cross_brand, deliverables], org)


def incremental_seconds(org: Organization, cold: bool = False) -> float:
    """From saving one edited deal to its rollups being stored: the change marks its periods stale and
    the pending recompute runs at once (the debounce that lets a burst of edits settle is left out).
    Warm: in the process that ran the previous recompute (a long-running worker keeps the deals in
    memory); ``cold``: in a process that has nothing kept (a worker's first recompute of the org)."""
    from django.conf import settings

    RecomputeRequest.objects.filter(org=org).delete()  # left by building the organisation
    if cold:
        warm.forget()
    opp = Opportunity.objects.filter(org=org, stage="won").order_by("pk").first()
    if opp is None:
        return 0.0
    settle = settings.SCORECARD_RECOMPUTE_SETTLE_SECONDS
    settings.SCORECARD_RECOMPUTE_SETTLE_SECONDS = 0
    try:
        started = time.perf_counter()
        with transaction.atomic():
            opp.amount = (opp.amount or 0) + 1
            opp.save()
        stored = rollups_recompute_pending(org.pk)
        elapsed = time.perf_counter() - started
    finally:
        settings.SCORECARD_RECOMPUTE_SETTLE_SECONDS = settle
    if not isinstance(stored, int) or not stored:  # not a Later (lock taken, settling)
        raise RuntimeError("the edit stored no rollups: the incremental figure would be meaningless")
    return elapsed


def run(deals: int, keep: bool = False, profile: str = "realistic", reuse: bool = False) -> dict:
    from django.conf import settings

    # Building the organisation must not trigger the change-driven recompute: the benchmark times it itself.
    previous = settings.SCORECARD_AUTO_RECOMPUTE
    settings.SCORECARD_AUTO_RECOMPUTE = False
    try:
        return _run(deals, keep, profile, reuse)
    finally:
        settings.SCORECARD_AUTO_RECOMPUTE = previous


def organization(deals: int, profile: str = "realistic", reuse: bool = False) -> tuple[Organization, float]:
    """The benchmark organisation, built (or, with ``reuse``, the one a previous run kept, its stored
    rollups dropped so the recompute starts from nothing) and the seconds building it took."""
    slug = org_slug(deals, profile)
    existing = Organization.objects.filter(slug=slug).first() if reuse else None
    if existing is not None:
        ScopeRollup.objects.filter(org=existing).delete()
        RollupRun.objects.filter(org=existing).delete()
        RecomputeRequest.objects.filter(org=existing).delete()
        return existing, 0.0
    started = time.perf_counter()
    org = build_org(slug, deals, profile=profile)
    return org, time.perf_counter() - started


def _run(deals: int, keep: bool, profile: str, reuse: bool) -> dict:
    org, build_seconds = organization(deals, profile, reuse)
    load_before = os.getloadavg()  # the machine is shared: every figure says how busy it was
    baseline, groups = baseline_sql_seconds(org)
    realistic, realistic_groups = baseline_realistic_sql_seconds(org)
    started = time.perf_counter()
    reset_queries()  # building may have filled the query log (DEBUG) beyond what the capture can count
    with CaptureQueriesContext(connection) as queries:
        stored = rollups_recompute(org=org)  # as of today, like the recompute an edit triggers
    rollup_seconds = time.perf_counter() - started
    result = {
        "deals": deals,
        "profile": profile,
        "db": connection.vendor,
        "rollup_seconds": round(rollup_seconds, 3),
        "baseline_sql_seconds": round(baseline, 3),
        "ratio": round(rollup_seconds / baseline, 1) if baseline else None,
        "baseline_realistic_sql_seconds": round(realistic, 3),
        "ratio_realistic": round(rollup_seconds / realistic, 1) if realistic else None,
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "incremental_seconds": None,
        "figures_stored": stored,  # (scope, period) cells
        "rows_stored": ScopeRollup.objects.filter(org=org).count(),  # one per (scope, fiscal year)
        "kpi_values": stored * len(RollupRun.objects.filter(org=org).latest("pk").kpi_ids),
        "baseline_groups": groups,
        "baseline_realistic_groups": realistic_groups,
        "queries": len(queries),
        "build_seconds": round(build_seconds, 1),
        "built": build_seconds > 0,
    }
    result["incremental_seconds"] = round(incremental_seconds(org), 3)
    result["incremental_cold_seconds"] = round(incremental_seconds(org, cold=True), 3)
    result["load_average"] = [
        round(x, 2) for x in (*load_before, *os.getloadavg())
    ]  # 1/5/15 min, before/after
    if not keep:
        ScopeRollup.objects.filter(org=org).delete()
        organization_delete(org)
    return result
