"""Property-based checks of the engine on generated organisations."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scorecard import periods
from tests.examples import examples

_slugs = itertools.count()
YEAR_START = date(2017, 1, 1)

deal_strategy = st.tuples(
    st.integers(0, 5),  # rep index (modulo the number of reps)
    st.sampled_from(["won", "lost", "engaging"]),
    st.integers(0, 364),  # engage day of 2017
    st.integers(0, 200),  # days to close
    st.integers(0, 50_000),  # amount
)
org_strategy = st.fixed_dictionaries(
    {
        "teams": st.lists(st.integers(1, 3), min_size=1, max_size=3),  # teams per region
        "reps": st.lists(
            st.tuples(st.integers(0, 8), st.integers(0, 8), st.integers(30, 330)), min_size=1, max_size=6
        ),
        "deals": st.lists(deal_strategy, min_size=0, max_size=30),
    }
)


def _build(build, spec):
    b = build(slug=f"gen{next(_slugs)}")
    leaves = [f"Acme/R{r}/T{t}" for r, n in enumerate(spec["teams"]) for t in range(n)]
    for path in leaves:
        b.territory(path)
    reps = []
    for i, (first, second, move_day) in enumerate(spec["reps"]):
        move = YEAR_START + timedelta(days=move_day)
        a, c = leaves[first % len(leaves)], leaves[second % len(leaves)]
        reps.append(
            (b.rep(f"Rep{i}", (a, date(2016, 1, 1), move - timedelta(days=1)), (c, move, None)), a, c, move)
        )
    deals = []
    for rep_index, stage, engage_day, cycle, amount in spec["deals"]:
        rep, a, c, move = reps[rep_index % len(reps)]
        engage = YEAR_START + timedelta(days=engage_day)
        close = engage + timedelta(days=cycle) if stage != "engaging" else None
        b.deal(rep, stage, engage=engage, close=close, amount=amount)
        if close:
            deals.append((stage, close, amount, a if close < move else c))
    return b, leaves, deals


@pytest.mark.django_db
@settings(
    max_examples=examples(25), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    spec=org_strategy,
    quarter=st.sampled_from(["2017-Q1", "2017-Q2", "2017-Q3", "2017-Q4", "2017", "2018-Q1"]),
)
def test_root_equals_sums_and_ratio_of_sums_over_leaves(build, spec, quarter):
    b, leaves, deals = _build(build, spec)
    period = periods.parse(quarter)
    e = b.engine()
    won_kpi, count_kpi, lost_kpi, rate_kpi = (
        b.kpi(s) for s in ("won_revenue", "won_deals", "lost_deals", "win_rate")
    )
    root = ("t", b.territory("Acme").pk)
    leaf_scopes = [("t", b.territory(p).pk) for p in leaves]

    leaf_won = sum(e.value(won_kpi, s, period).actual for s in leaf_scopes)
    leaf_count = sum(e.value(count_kpi, s, period).actual for s in leaf_scopes)
    leaf_lost = sum(e.value(lost_kpi, s, period).actual for s in leaf_scopes)
    assert e.value(won_kpi, root, period).actual == pytest.approx(leaf_won)
    assert e.value(count_kpi, root, period).actual == leaf_count
    root_rate = e.value(rate_kpi, root, period).actual
    assert root_rate == (
        None if leaf_count + leaf_lost == 0 else pytest.approx(leaf_count / (leaf_count + leaf_lost))
    )

    # Independently: attribute each closed deal by the rep's assignment on its close date.
    in_period = [d for d in deals if period.contains(d[1])]
    for path, scope in zip(leaves, leaf_scopes, strict=True):
        expected = sum(amount for stage, _, amount, leaf in in_period if stage == "won" and leaf == path)
        assert e.value(won_kpi, scope, period).actual == pytest.approx(expected)
    assert e.value(lost_kpi, root, period).actual == sum(1 for d in in_period if d[0] == "lost")


@pytest.mark.django_db
@settings(
    max_examples=examples(15), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(move_day=st.integers(1, 360), close_days=st.lists(st.integers(0, 364), min_size=1, max_size=12))
def test_moving_a_rep_from_a_date_moves_exactly_the_later_deals(build, move_day, close_days):
    b = build(slug=f"mv{next(_slugs)}")
    move = YEAR_START + timedelta(days=move_day)
    rep = b.rep("Mover", ("Acme/East", date(2016, 1, 1), move - timedelta(days=1)), ("Acme/West", move, None))
    for day in close_days:
        close = YEAR_START + timedelta(days=day)
        b.deal(rep, "won", engage=close, close=close, amount=1)
    e = b.engine()
    year = periods.parse("2017")
    won = b.kpi("won_deals")
    later = sum(1 for d in close_days if YEAR_START + timedelta(days=d) >= move)
    assert e.value(won, ("t", b.territory("Acme/West").pk), year).actual == later
    assert e.value(won, ("t", b.territory("Acme/East").pk), year).actual == len(close_days) - later
