from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kpis import scoring


@pytest.mark.parametrize(
    ("goal", "red"),
    [(50.0, 40.0), (60.0, 90.0), (0.5, 0.4), (-5.0, -10.0)],
    ids=["higher", "lower", "fraction", "negative"],
)
def test_score_is_one_third_at_red_flag_and_two_thirds_at_goal_in_both_directions(goal, red):
    assert scoring.score(red, goal, red) == pytest.approx(10 / 3)
    assert scoring.score(goal, goal, red) == pytest.approx(20 / 3)
    assert scoring.score(goal + (goal - red), goal, red) == pytest.approx(10)


def test_status_bands():
    assert scoring.status(None) == "gray"
    assert scoring.status(0) == "red"
    assert scoring.status(3.33) == "red"
    assert scoring.status(10 / 3) == "yellow"
    assert scoring.status(6.66) == "yellow"
    assert scoring.status(20 / 3) == "green"
    assert scoring.status(10) == "green"


def test_score_is_gray_without_actual_or_target():
    assert scoring.score(None, 10, 5) is None
    assert scoring.score(7, None, None) is None


def test_default_red_flag_uses_tolerance_on_the_bad_side():
    assert scoring.default_red_flag(100, "higher", 0.10) == pytest.approx(90)
    assert scoring.default_red_flag(60, "lower", 0.10) == pytest.approx(66)


@given(
    goal=st.floats(-1e6, 1e6),
    spread=st.floats(1e-3, 1e5),
    direction=st.sampled_from(["higher", "lower"]),
    a=st.floats(-1e7, 1e7),
    b=st.floats(-1e7, 1e7),
)
def test_score_is_monotonic_in_the_actual_for_both_directions(goal, spread, direction, a, b):
    red = goal - spread if direction == "higher" else goal + spread
    low, high = sorted((a, b))
    s_low, s_high = scoring.score(low, goal, red), scoring.score(high, goal, red)
    assert 0 <= s_low <= 10 and 0 <= s_high <= 10
    if direction == "higher":
        assert s_low <= s_high + 1e-9
    else:
        assert s_low + 1e-9 >= s_high


def kpis(*pairs):
    """KPI children: (score, weight) → (score, coverage, weight)."""
    return [(score, scoring.kpi_coverage(score), weight) for score, weight in pairs]


def test_roll_up_skips_gray_and_reports_coverage():
    result = scoring.roll_up(kpis((6.0, 2), (None, 1), (9.0, 1)))
    assert result.score == pytest.approx((6 * 2 + 9) / 3)
    assert result.coverage == pytest.approx(3 / 4)
    assert result.status == scoring.GREEN  # 7.0 ≥ 6.67
    all_gray = scoring.roll_up(kpis((None, 1)))
    assert all_gray.score is None
    assert all_gray.coverage == 0
    assert all_gray.status == scoring.GRAY


def test_gray_never_counts_as_zero():
    with_gray = scoring.roll_up(kpis((8.0, 1), (None, 1)))
    assert with_gray.score == pytest.approx(8.0)


def test_weight_zero_is_shown_not_scored():
    result = scoring.roll_up(kpis((1.0, 0), (9.0, 1)))
    assert result.score == 9.0
    assert result.coverage == 1.0
    assert scoring.roll_up(kpis((5.0, 0))) == scoring.WeightedScore(None, None)


def test_a_level_coverage_weighs_its_childrens_coverage():
    # Two objectives: weight 3 fully covered, weight 1 half covered → (3 × 1 + 1 × 0.5) / 4.
    result = scoring.roll_up([(7.0, 1.0, 3), (2.0, 0.5, 1)])
    assert result.coverage == pytest.approx(3.5 / 4)
    assert result.score == pytest.approx((7 * 3 + 2 * 1) / 4)
    # A gray child with no coverage weighs in the coverage, not in the score.
    result = scoring.roll_up([(7.0, 1.0, 3), (None, 0.0, 1)])
    assert result.score == 7.0
    assert result.coverage == pytest.approx(3 / 4)


def test_change_pct_is_null_for_missing_or_zero_base():
    assert scoring.change_pct(110, 100) == pytest.approx(10)
    assert scoring.change_pct(-50, -100) == pytest.approx(50)
    assert scoring.change_pct(5, 0) is None
    assert scoring.change_pct(None, 3) is None
