"""The demo plan, drawn in memory without a database: deterministic, complete enough to exercise every
KPI, and telling a story a manager can find."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from demo.choices import CertificationCategory, Channel, Poc, ProgramKind, Stage
from demo.data import DEMO_SEED, PRODUCTS, PROGRAMS, REGIONS
from demo.plan import plan_demo
from demo.plan_records import DemoPlan, PlannedDeal
from kpis.template import KPIS
from scorecard import periods

ROOT = Path(__file__).resolve().parents[2]
TODAY = date(2026, 11, 23)
CURRENT_QUARTER = periods.period_containing(TODAY, periods.QUARTER)
OPEN_STAGES = {Stage.PROSPECTING, Stage.QUALIFYING, Stage.ENGAGING, Stage.PROPOSAL, Stage.NEGOTIATION}


@pytest.fixture(scope="module")
def plan() -> DemoPlan:
    return plan_demo(seed=DEMO_SEED, today=TODAY)


def plan_rows(plan: DemoPlan) -> list[tuple]:
    """Everything a plan holds, as plain tuples (reps and accounts by index)."""

    def index(rep) -> int | None:
        return rep.index if rep is not None else None

    rows: list[tuple] = []
    for rep in plan.roster.reps:
        rows.append(
            (rep.index, rep.name, rep.hire, rep.leave, [(t.name, s, e) for t, s, e in rep.assignments])
        )
        rows += [(rep.index, *vars(c).values()) for c in rep.certifications]
    rows += [(index(p.rep), p.program, p.start, p.end) for p in plan.participations]
    rows += [(a.index, a.name, a.sector, a.country) for a in plan.accounts]
    rows += [
        (index(d.rep), index(d.identified_by), d.account.index, d.products, d.stage, d.created, d.engaged)
        + (d.closed, d.amount, d.profit, d.channel, d.partner, d.play, d.poc, d.deliverables)
        for d in plan.deals
    ]
    rows += [
        (m.kpi, m.scope, index(m.rep), m.period, m.value, m.weight, m.entered_at) for m in plan.measurements
    ]
    rows += [
        (t.kpi, t.scope, index(t.rep), t.period, t.goal, t.red_flag, t.reason, t.set_at, t.superseded_at)
        for t in plan.targets
    ]
    rows += [(n.kind, n.period, n.kpi, index(n.rep), n.scope, n.text, n.created_at) for n in plan.notes]
    return rows


def closed_win_rate(deals: list[PlannedDeal]) -> float:
    closed = [d for d in deals if d.stage in (Stage.WON, Stage.LOST)]
    return sum(1 for d in closed if d.stage == Stage.WON) / len(closed)


# --- determinism ------------------------------------------------------------------------------------


def test_same_seed_and_day_give_the_same_plan():
    first = plan_rows(plan_demo(seed=11, today=TODAY, size="small"))
    assert first == plan_rows(plan_demo(seed=11, today=TODAY, size="small"))


def test_another_seed_or_another_day_gives_another_plan():
    base = plan_rows(plan_demo(seed=11, today=TODAY, size="small"))
    assert plan_rows(plan_demo(seed=12, today=TODAY, size="small")) != base
    assert plan_rows(plan_demo(seed=11, today=date(2026, 11, 24), size="small")) != base


def test_planning_loads_no_django_models_and_no_database():
    script = (
        "import sys; from datetime import date; from demo.plan import plan_demo;"
        "plan_demo(seed=3, today=date(2026, 1, 5), size='small');"
        "loaded = [m for m in sys.modules if m.endswith('.models') or m.startswith('django.db')];"
        "assert not loaded, loaded"
    )
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


# --- the shape of the organisation ----------------------------------------------------------------


def test_four_regions_of_two_or_three_teams(plan):
    per_region = Counter(team.region.name for team in plan.roster.teams)
    assert len(per_region) == 4
    assert all(2 <= n <= 3 for n in per_region.values())


def test_about_forty_reps_with_hires_leavers_and_moves(plan):
    reps = plan.roster.reps
    assert 35 <= len(reps) <= 45
    assert any(r.leave is not None for r in reps)
    assert any(r.leave is not None and CURRENT_QUARTER.start <= r.leave <= TODAY for r in reps)
    assert any(r.hire >= date(2025, 1, 1) for r in reps)
    movers = [r for r in reps if len(r.assignments) >= 2]
    assert movers
    for rep in movers:
        for (before, _start, end), (after, start, _end) in zip(
            rep.assignments, rep.assignments[1:], strict=False
        ):
            assert end is not None and (start - end).days == 1
            assert before is not after


def test_the_demo_rep_stays_and_the_laggard_shares_their_team(plan):
    demo_rep, laggard = plan.roster.demo_rep, plan.roster.laggard
    assert demo_rep.leave is None
    assert demo_rep.team_on(TODAY) is not None and demo_rep.team_on(TODAY).region.name == REGIONS[0].name
    assert laggard.assignments[0][0] is demo_rep.assignments[0][0]


# --- opportunities use every field ----------------------------------------------------------------


def test_every_stage_channel_and_poc_value_appears(plan):
    assert {d.stage for d in plan.deals} == set(Stage)
    assert {d.channel for d in plan.deals} == set(Channel)
    assert {d.poc for d in plan.deals} == set(Poc)


def test_history_spans_two_years_up_to_today(plan):
    closed = [d.closed for d in plan.deals if d.closed]
    assert min(closed) <= date(2024, 1, 31) and max(closed) <= TODAY
    assert max(d.engaged for d in plan.deals if d.engaged) <= TODAY
    assert len(plan.deals) > 2000
    assert [d.created for d in plan.deals] == sorted(d.created for d in plan.deals)


def test_current_quarter_is_live(plan):
    in_quarter = [d for d in plan.deals if d.closed and CURRENT_QUARTER.start <= d.closed <= TODAY]
    assert sum(1 for d in in_quarter if d.stage == Stage.WON) >= 10
    assert any(d.stage == Stage.LOST for d in in_quarter)
    open_deals = [d for d in plan.deals if d.stage in OPEN_STAGES]
    assert len(open_deals) >= 50
    assert all(d.closed is None for d in open_deals)
    assert any(d.amount is None for d in open_deals)  # the list-price fallback matters
    assert any(d.amount is not None for d in open_deals)


def test_multi_product_deals_span_product_lines(plan):
    lines = [{PRODUCTS[i][0] for i in d.products} for d in plan.deals]
    assert all(lines)
    assert sum(1 for ls in lines if len(ls) >= 2) >= 50
    assert len(set().union(*lines)) >= 4


def test_partners_plays_identification_and_profit(plan):
    deals = plan.deals
    assert all((d.partner is not None) == (d.channel == Channel.PARTNER) for d in deals)
    assert any(d.play is not None and d.stage == Stage.WON for d in deals)
    assert any(d.play is not None and d.stage == Stage.LOST for d in deals)
    assert any(d.identified_by is not None and d.identified_by is not d.rep for d in deals)
    assert any(d.identified_by is not None and d.identified_by is d.rep for d in deals)
    assert any(d.rep is None for d in deals)  # house accounts
    assert all((d.profit is not None) == (d.stage == Stage.WON) for d in deals)


def test_poc_outcomes_are_realistic(plan):
    success = [d for d in plan.deals if d.poc == Poc.SUCCESS]
    failure = [d for d in plan.deals if d.poc == Poc.FAILURE]
    assert closed_win_rate(success) > closed_win_rate(plan.deals) > closed_win_rate(failure)
    assert any(d.stage == Stage.LOST for d in success)
    assert any(d.stage in OPEN_STAGES for d in success)
    assert not any(d.poc == Poc.RUNNING and d.stage in (Stage.WON, Stage.LOST) for d in plan.deals)


def test_technical_deliverables_are_used_more_in_wins(plan):
    def share(stage: str) -> float:
        closed = [d for d in plan.deals if d.stage == stage]
        return sum(1 for d in closed if d.deliverables) / len(closed)

    assert share(Stage.WON) > share(Stage.LOST) + 0.05


# --- people -----------------------------------------------------------------------------------------


def test_certifications_of_every_category_some_expired(plan):
    certifications = [c for _rep, c in plan.certifications()]
    assert {c.category for c in certifications} == set(CertificationCategory)
    assert any(c.expires is not None and c.expires < TODAY for c in certifications)
    assert any(c.expires is not None and c.expires >= TODAY for c in certifications)
    assert any(c.expires is None for c in certifications)
    assert all(c.earned <= TODAY for c in certifications)


def test_programme_participation_of_every_kind(plan):
    assert {PROGRAMS[p.program][1] for p in plan.participations} == set(ProgramKind)


# --- targets, measurements, notes -----------------------------------------------------------------


def test_every_template_kpi_has_a_target(plan):
    assert {spec["slug"] for spec in KPIS} <= {t.kpi for t in plan.targets}


def test_targets_use_the_kpi_default_goal(plan):
    current = {(t.kpi, t.scope, t.period): t for t in plan.targets if t.superseded_at is None}
    for spec in KPIS:
        if spec["default_goal"] is None or spec["unit"] == "count":
            continue
        if spec["slug"] == "rep_turnover":
            continue  # scaled per period length
        target = current[(spec["slug"], "", CURRENT_QUARTER.key)]
        assert target.goal == spec["default_goal"]
        assert target.reason and target.set_by


def test_quotas_for_every_rep_and_team_per_quarter_and_year(plan):
    quota = [t for t in plan.targets if t.kpi == "won_revenue" and t.superseded_at is None]
    active = {r.index for r in plan.roster.reps if r.leave is None}
    teams = {t.name for t in plan.roster.teams}
    for key in (CURRENT_QUARTER.key, str(TODAY.year)):
        assert {t.rep.index for t in quota if t.period == key and t.rep} >= active
        assert sorted(t.scope for t in quota if t.period == key and t.scope in teams) == sorted(teams)
    for key in ("2024", "2024-Q1", "2025-Q4"):
        assert any(t.period == key and t.scope in teams for t in quota)


def test_some_target_has_history(plan):
    old = [t for t in plan.targets if t.superseded_at is not None]
    assert len(old) == 3
    for target in old:
        (current,) = [
            t
            for t in plan.targets
            if (t.kpi, t.scope, t.rep, t.period) == (target.kpi, target.scope, target.rep, target.period)
            and t.superseded_at is None
        ]
        assert current.goal != target.goal
        assert target.set_at < target.superseded_at <= current.set_at


def test_every_manual_kpi_has_measurements_per_team_and_quarter(plan):
    teams = {t.name for t in plan.roster.teams}
    regions = {r.name for r in REGIONS}
    previous = CURRENT_QUARTER.previous().key
    in_previous = [m for m in plan.measurements if m.period == previous]
    for slug in (spec["slug"] for spec in KPIS if spec["source"] == "manual"):
        assert {m.scope for m in in_previous if m.kpi == slug and m.scope in teams} == teams, slug
    for slug in ("employee_engagement", "skill_assessment"):
        assert {m.scope for m in in_previous if m.kpi == slug and m.scope in regions} == regions
    assert any(m.kpi == "skill_assessment" and m.rep is not None for m in plan.measurements)
    assert any(m.kpi == "nps" and m.period == CURRENT_QUARTER.key for m in plan.measurements)


def test_coaching_notes_and_action_items(plan):
    kinds = Counter(n.kind for n in plan.notes)
    assert kinds["coaching"] >= 1 and kinds["action"] >= 1
    assert any(n.kind == "action" and not n.done and n.due_date and n.due_date > TODAY for n in plan.notes)


# --- a manager has something to find ----------------------------------------------------------------


def test_some_teams_and_reps_underperform_and_revenue_grows(plan):
    def won(year: int, rep=None) -> float:
        return sum(
            d.value
            for d in plan.deals
            if d.stage == Stage.WON and d.closed.year == year and (rep is None or d.rep is rep)
        )

    assert won(2025) > won(2024) * 1.03
    attainment = [
        won(2025, t.rep) / float(t.goal)
        for t in plan.targets
        if t.kpi == "won_revenue" and t.period == "2025" and t.rep and t.superseded_at is None
    ]
    assert sum(1 for a in attainment if a < 0.6) >= 3
    assert sum(1 for a in attainment if a >= 1) >= len(attainment) // 3
