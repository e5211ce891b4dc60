"""The engine against figures worked out by hand on small organisations."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from kpis.services import measurement_set, target_set
from people.models import Certification, CertificationType, Program, ProgramParticipation
from scorecard import periods

Q2 = periods.parse("2017-Q2")


def T(engine, path):
    return ("t", engine.org.territories.get(full_name=path).pk)


@pytest.fixture
def two_regions(build):
    b = build()
    b.east = b.territory("Acme/East/Boston")
    b.territory("Acme/West/Denver")
    b.ann = b.rep(
        "Ann",
        ("Acme/East/Boston", date(2017, 1, 1), date(2017, 5, 31)),
        ("Acme/West/Denver", date(2017, 6, 1), None),
    )
    b.bob = b.rep("Bob", ("Acme/West/Denver", date(2017, 1, 1), None))
    b.cat = b.rep("Cat", ("Acme/East/Boston", date(2017, 1, 1), None))
    # East: 1 won of 1 closed; West: 1 won (Ann after her move) + 3 lost of 4 closed
    b.deal(b.ann, "won", engage=date(2017, 2, 1), close=date(2017, 4, 10), amount=100)
    b.deal(b.ann, "won", engage=date(2017, 5, 1), close=date(2017, 6, 10), amount=50)
    for day in (5, 6, 7):
        b.deal(b.bob, "lost", engage=date(2017, 3, 1), close=date(2017, 6, day), amount=0)
    b.deal(b.cat, "engaging", engage=date(2017, 3, 1), amount=70)
    return b


def test_deal_is_credited_to_the_territory_of_its_rep_on_the_close_date(two_regions):
    e = two_regions.engine()
    won = two_regions.kpi("won_revenue")
    assert e.value(won, T(e, "Acme/East"), Q2).actual == 100
    assert e.value(won, T(e, "Acme/West"), Q2).actual == 50
    assert e.value(won, T(e, "Acme"), Q2).actual == 150
    assert e.value(won, ("r", two_regions.ann.pk), Q2).actual == 150


def test_region_win_rate_is_ratio_of_sums_not_mean_of_team_rates(two_regions):
    e = two_regions.engine()
    win_rate = two_regions.kpi("win_rate")
    assert e.value(win_rate, T(e, "Acme/East"), Q2).actual == 1.0
    assert e.value(win_rate, T(e, "Acme/West"), Q2).actual == pytest.approx(1 / 4)
    root = e.value(win_rate, T(e, "Acme"), Q2).actual
    assert root == pytest.approx(2 / 5)
    assert root != pytest.approx((1.0 + 0.25) / 2)


def test_sales_cycle_is_mean_over_closed_deals(two_regions):
    e = two_regions.engine()
    expected = [(date(2017, 4, 10) - date(2017, 2, 1)).days, (date(2017, 6, 10) - date(2017, 5, 1)).days] + [
        (date(2017, 6, d) - date(2017, 3, 1)).days for d in (5, 6, 7)
    ]
    assert e.value(two_regions.kpi("sales_cycle_days"), T(e, "Acme"), Q2).actual == pytest.approx(
        sum(expected) / 5
    )


def test_no_rows_means_zero_counts_and_null_ratios(two_regions):
    e = two_regions.engine()
    empty = periods.parse("2019-Q1")
    scope = T(e, "Acme")
    assert e.value(two_regions.kpi("won_deals"), scope, empty).actual == 0
    assert e.value(two_regions.kpi("won_revenue"), scope, empty).actual == 0
    assert e.value(two_regions.kpi("win_rate"), scope, empty).actual is None
    assert e.value(two_regions.kpi("avg_deal_size"), scope, empty).actual is None
    assert e.value(two_regions.kpi("nps"), scope, empty).actual is None


def test_open_pipeline_at_period_end_uses_amount_else_list_price(two_regions):
    b = two_regions
    gadget = b.product("Gadget", "Hardware", price=30)
    gizmo = b.product("Gizmo", "Software", price=12)
    b.deal(b.cat, "prospecting", engage=date(2017, 6, 15), products=[gadget, gizmo])
    e = b.engine()
    value, count = b.kpi("open_pipeline_value"), b.kpi("open_pipeline_count")
    # At 2017-03-31: Ann's first deal (100), Bob's three (0 each), Cat's engaging deal (70).
    q1 = periods.parse("2017-Q1")
    assert e.value(count, T(e, "Acme"), q1).actual == 5
    assert e.value(value, T(e, "Acme"), q1).actual == 170
    # At 2017-06-30: Cat's engaging deal (70) and the new one valued at list prices (42).
    assert e.value(count, T(e, "Acme"), Q2).actual == 2
    assert e.value(value, T(e, "Acme/East"), Q2).actual == 112


def test_moving_a_rep_moves_exactly_the_later_deals(two_regions):
    e = two_regions.engine()
    deals = two_regions.kpi("won_deals")
    year = periods.parse("2017")
    assert e.value(deals, T(e, "Acme/East/Boston"), year).actual == 1
    assert e.value(deals, T(e, "Acme/West/Denver"), year).actual == 1


def test_targets_add_up_the_tree_and_explicit_targets_win(two_regions):
    b = two_regions
    won = b.kpi("won_revenue")
    target_set(kpi=won, territory=b.territory("Acme/East/Boston"), period="2017-Q2", goal=120)
    target_set(kpi=won, territory=b.territory("Acme/West/Denver"), period="2017-Q2", goal=30, red_flag=20)
    e = b.engine()
    assert e.target(won, T(e, "Acme/East"), Q2)[:2] == (120, pytest.approx(108))
    assert e.target(won, T(e, "Acme"), Q2)[0] == 150
    row = e.row(won, T(e, "Acme"), Q2)
    assert (row.goal, row.score, row.status) == (150, pytest.approx(20 / 3), "green")
    target_set(kpi=won, territory=b.territory("Acme"), period="2017-Q2", goal=200, reason="stretch")
    assert b.engine().target(won, T(e, "Acme"), Q2)[0] == 200


def test_sum_inheritance_needs_every_child(two_regions):
    b = two_regions
    won = b.kpi("won_revenue")
    target_set(kpi=won, territory=b.territory("Acme/East/Boston"), period="2017-Q2", goal=120)
    e = b.engine()
    row = e.row(won, T(e, "Acme"), Q2)
    assert row.goal is None and row.status == "gray" and row.status_reason == "no target"


def test_changing_a_target_keeps_history(two_regions):
    b = two_regions
    won = b.kpi("won_revenue")
    boston = b.territory("Acme/East/Boston")
    first = target_set(kpi=won, territory=boston, period="2017-Q2", goal=120)
    second = target_set(kpi=won, territory=boston, period="2017-Q2", goal=130, reason="new hire")
    first.refresh_from_db()
    assert first.superseded_at is not None and second.superseded_at is None
    assert b.engine().target(won, ("t", boston.pk), Q2)[0] == 130


def test_default_goal_applies_when_no_target_and_red_flag_defaults_to_tolerance(two_regions):
    e = two_regions.engine()
    row = e.row(two_regions.kpi("win_rate"), T(e, "Acme"), Q2)
    assert (row.goal, row.red_flag) == (0.5, 0.4)
    assert row.score == pytest.approx(10 * (0.4 - (0.4 - 0.1)) / 0.3)


def test_manual_values_aggregate_up_the_tree_with_coverage(build):
    b = build()
    for path in ("Acme/East/Boston", "Acme/East/NYC", "Acme/West/Denver"):
        b.territory(path)
    nps, market = b.kpi("nps"), b.kpi("market_size")
    measurement_set(
        kpi=nps, territory=b.territory("Acme/East/Boston"), period="2017-Q2", value=40, weight=300
    )
    measurement_set(kpi=nps, territory=b.territory("Acme/East/NYC"), period="2017-Q2", value=10, weight=100)
    measurement_set(kpi=market, territory=b.territory("Acme/East/Boston"), period="2017-Q2", value=1000)
    e = b.engine()
    east = e.value(nps, T(e, "Acme/East"), Q2)
    assert east.actual == pytest.approx((40 * 300 + 10 * 100) / 400) and east.coverage == 1
    root = e.value(nps, T(e, "Acme"), Q2)
    assert root.actual == pytest.approx(32.5) and root.coverage == pytest.approx(0.5)
    assert e.value(market, T(e, "Acme/East"), Q2).actual == 1000
    assert e.value(market, T(e, "Acme/East"), Q2).coverage == pytest.approx(0.5)
    assert e.value(nps, T(e, "Acme/West"), Q2).actual is None


def test_manual_values_aggregate_over_time(build):
    b = build()
    boston = b.territory("Acme/East/Boston")
    csat, market = b.kpi("csat"), b.kpi("market_size")
    for month, value in (("2017-04", 80), ("2017-05", 90)):
        measurement_set(kpi=csat, territory=boston, period=month, value=value)
        measurement_set(kpi=market, territory=boston, period=month, value=value * 10)
    e = b.engine()
    average = e.value(csat, ("t", boston.pk), Q2)
    assert average.actual == 85 and average.coverage == pytest.approx(2 / 3)
    assert e.value(market, ("t", boston.pk), Q2).actual == 900  # "last"


def test_formula_kpi_and_division_by_zero(two_regions):
    b = two_regions
    measurement_set(kpi=b.kpi("market_size"), territory=b.territory("Acme"), period="2017-Q2", value=600)
    e = b.engine()
    assert e.value(b.kpi("market_share"), T(e, "Acme"), Q2).actual == pytest.approx(150 / 600)
    measurement_set(kpi=b.kpi("market_size"), territory=b.territory("Acme"), period="2017-Q3", value=0)
    assert b.engine().value(b.kpi("market_share"), T(e, "Acme"), periods.parse("2017-Q3")).actual is None


def test_growth_transforms_and_comparisons(two_regions):
    e = two_regions.engine()
    qoq = two_regions.kpi("revenue_growth_qoq")
    q3 = periods.parse("2017-Q3")
    assert e.value(qoq, T(e, "Acme"), Q2).actual is None  # Q1 had no won revenue: base 0
    assert e.value(qoq, T(e, "Acme"), q3).actual == pytest.approx(-100)
    row = e.row(two_regions.kpi("won_revenue"), T(e, "Acme"), q3)
    assert (row.actual, row.previous, row.change_pct) == (0, 150, pytest.approx(-100))


def test_projection_for_the_current_period(two_regions):
    today = date(2017, 6, 10)
    row = two_regions.engine(today=today).row(
        two_regions.kpi("won_revenue"), ("t", two_regions.territory("Acme").pk), Q2
    )
    assert row.actual == 150
    assert row.projected == pytest.approx(150 / Q2.elapsed_share(today))
    future = two_regions.engine(today=today).row(
        two_regions.kpi("won_revenue"), ("t", two_regions.territory("Acme").pk), periods.parse("2017-Q4")
    )
    assert future.actual is None and future.status_reason == "period not started"


def test_rep_based_metrics(two_regions):
    b = two_regions
    b.dan = b.rep(
        "Dan", ("Acme/East/Boston", date(2017, 1, 1), None), hire=date(2016, 1, 1), leave=date(2017, 5, 15)
    )
    cert = CertificationType.objects.create(org=b.org, name="Gadget Pro", category="product")
    Certification.objects.create(
        org=b.org, rep=b.cat, type=cert, earned=date(2017, 1, 10), expires=date(2018, 1, 9)
    )
    Certification.objects.create(
        org=b.org, rep=b.bob, type=cert, earned=date(2015, 1, 10), expires=date(2016, 1, 9)
    )
    program = Program.objects.create(org=b.org, name="Rising stars", kind="high_potential")
    ProgramParticipation.objects.create(org=b.org, rep=b.cat, program=program, start=date(2017, 6, 1))
    won = b.kpi("won_revenue")
    target_set(kpi=won, rep=b.ann, period="2017-Q2", goal=150)
    target_set(kpi=won, rep=b.bob, period="2017-Q2", goal=10)
    e = b.engine()
    root = T(e, "Acme")
    # Active in Q2: Ann, Bob, Cat, and Dan until his leave date.
    assert e.value(b.kpi("revenue_per_rep"), root, Q2).actual == pytest.approx(150 / 4)
    assert e.value(b.kpi("reps_at_target"), root, Q2).actual == 1
    assert e.value(b.kpi("reps_at_target_pct"), root, Q2).actual == pytest.approx(1 / 2)
    # Headcount 4 on 2017-04-01 and 3 on 2017-06-30; Dan left in the quarter.
    assert e.value(b.kpi("rep_turnover"), root, Q2).actual == pytest.approx(1 / 3.5)
    # Certified at period end: Cat (valid), Bob's expired; of Ann, Bob, Cat.
    assert e.value(b.kpi("product_certified_reps"), root, Q2).actual == pytest.approx(1 / 3)
    assert e.value(b.kpi("certifications_earned"), root, periods.parse("2017")).actual == 1
    assert e.value(b.kpi("high_potential"), root, Q2).actual == pytest.approx(1 / 4)
    assert e.value(b.kpi("high_potential"), T(e, "Acme/East"), Q2).actual == pytest.approx(1 / 3)


def test_fiscal_year_periods(build):
    b = build(slug="fy", fiscal_year_start_month=7)
    rep = b.rep("Eve", ("Acme/North", date(2017, 1, 1), None))
    b.deal(rep, "won", engage=date(2017, 6, 1), close=date(2017, 7, 3), amount=10)
    b.deal(rep, "won", engage=date(2017, 6, 1), close=date(2017, 6, 30), amount=5)
    e = b.engine()
    won = b.kpi("won_revenue")
    assert e.value(won, T(e, "Acme"), b.org.parse_period("FY2018")).actual == 10
    assert e.value(won, T(e, "Acme"), b.org.parse_period("FY2018-Q1")).actual == 10
    assert e.value(won, T(e, "Acme"), b.org.parse_period("FY2017-Q4")).actual == 5


def test_no_rep_rows_outside_employment(build):
    b = build()
    rep = b.rep(
        "Lea",
        ("Acme/East", date(2017, 1, 1), date(2017, 3, 31)),
        hire=date(2017, 1, 1),
        leave=date(2017, 3, 31),
    )
    b.deal(rep, "won", engage=date(2017, 1, 5), close=date(2017, 2, 1), amount=10)
    e = b.engine()
    scopes = [("r", rep.pk)]
    assert {r.period.key for r in e.rows([periods.parse("2017-Q1"), Q2], scopes)} == {"2017-Q1"}


def test_early_in_a_period_projection_uses_pipeline_weighted_by_trailing_win_rate(build):
    b = build()
    rep = b.rep("Pia", ("Acme/East", date(2016, 1, 1), None))
    for i in range(12):  # trailing four quarters: 9 won, 3 lost → win rate 0.75
        day = date(2016, 4, 1) + timedelta(days=20 * i)
        b.deal(rep, "won" if i % 4 else "lost", engage=day - timedelta(days=10), close=day, amount=100)
    b.deal(rep, "won", engage=date(2017, 1, 2), close=date(2017, 1, 10), amount=50)
    b.deal(rep, "engaging", engage=date(2017, 1, 5), amount=400)
    today = date(2017, 1, 20)
    q1 = periods.parse("2017-Q1")
    row = b.engine(today=today).row(b.kpi("won_revenue"), ("t", b.territory("Acme").pk), q1)
    assert row.projected == pytest.approx(50 + 400 * 0.75)
    later = b.engine(today=date(2017, 3, 1)).row(b.kpi("won_revenue"), ("t", b.territory("Acme").pk), q1)
    assert later.projected == pytest.approx(
        50 / q1.elapsed_share(date(2017, 3, 1))
    )  # run rate once past half
