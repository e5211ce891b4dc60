"""Rollup benchmark: a synthetic organisation at scale, our full recompute against one hand-written SQL
GROUP BY over the same rows, in the same run (figures, not tests)."""

from __future__ import annotations

import random
import resource
import time
from datetime import date, timedelta

from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from kpis.models import RecomputeRequest, RollupRun, ScopeRollup
from kpis.rollup import warm
from kpis.services import rollups_recompute, rollups_recompute_pending
from sales.models import Opportunity
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


@transaction.atomic
def build_org(slug: str, deals: int, seed: int = 7) -> Organization:
    """1,000 reps in 200 territories on 4 levels, 3 years, ``deals`` opportunities."""
    rnd = random.Random(seed)
    for old in Organization.objects.filter(slug=slug):
        organization_delete(old)
    org = organization_create(name=f"Bench {deals}", slug=slug)
    teams = _tree_build(org)
    rep_ids, leave_dates = _reps_build(org, teams, rnd)
    _deals_insert(org, deals, rep_ids, leave_dates, rnd)
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


def baseline_sql_seconds(org: Organization) -> tuple[float, int]:
    """One hand-written GROUP BY: won revenue, won and lost deals per leaf territory and month."""
    month = (
        "strftime('%%Y-%%m', o.close_date)"
        if connection.vendor == "sqlite"
        else "to_char(o.close_date, 'YYYY-MM')"
    )
    sql = f"""
        SELECT a.territory_id, {month} AS month,
               SUM(CASE WHEN o.stage = 'won' THEN o.amount ELSE 0 END),
               SUM(CASE WHEN o.stage = 'won' THEN 1 ELSE 0 END),
               SUM(CASE WHEN o.stage = 'lost' THEN 1 ELSE 0 END)
        FROM {Opportunity._meta.db_table} o
        JOIN {TerritoryAssignment._meta.db_table} a
          ON a.rep_id = o.rep_id AND a.start <= o.close_date AND (a."end" IS NULL OR a."end" >= o.close_date)
        WHERE o.org_id = %s AND o.stage IN ('won', 'lost')
        GROUP BY a.territory_id, month
    """
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(sql, [org.pk])
        rows = cursor.fetchall()
    return time.perf_counter() - started, len(rows)


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


def run(deals: int, keep: bool = False) -> dict:
    from django.conf import settings

    # Building the organisation must not trigger the change-driven recompute: the benchmark times it itself.
    previous = settings.SCORECARD_AUTO_RECOMPUTE
    settings.SCORECARD_AUTO_RECOMPUTE = False
    try:
        return _run(deals, keep)
    finally:
        settings.SCORECARD_AUTO_RECOMPUTE = previous


def _run(deals: int, keep: bool) -> dict:
    slug = f"bench-{deals}"
    started = time.perf_counter()
    org = build_org(slug, deals)
    build_seconds = time.perf_counter() - started
    baseline, groups = baseline_sql_seconds(org)
    started = time.perf_counter()
    with CaptureQueriesContext(connection) as queries:
        stored = rollups_recompute(org=org)  # as of today, like the recompute an edit triggers
    rollup_seconds = time.perf_counter() - started
    result = {
        "deals": deals,
        "db": connection.vendor,
        "rollup_seconds": round(rollup_seconds, 3),
        "baseline_sql_seconds": round(baseline, 3),
        "ratio": round(rollup_seconds / baseline, 1) if baseline else None,
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "incremental_seconds": None,
        "figures_stored": stored,  # (scope, period) cells
        "rows_stored": ScopeRollup.objects.filter(org=org).count(),  # one per (scope, fiscal year)
        "kpi_values": stored * len(RollupRun.objects.filter(org=org).latest("pk").kpi_ids),
        "baseline_groups": groups,
        "queries": len(queries),
        "build_seconds": round(build_seconds, 1),
    }
    result["incremental_seconds"] = round(incremental_seconds(org), 3)
    result["incremental_cold_seconds"] = round(incremental_seconds(org, cold=True), 3)
    if not keep:
        ScopeRollup.objects.filter(org=org).delete()
        organization_delete(org)
    return result
