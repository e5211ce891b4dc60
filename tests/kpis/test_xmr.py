"""XmR charts worked out by hand: limits, points beyond them, runs of eight on one side."""

from __future__ import annotations

import pytest

from kpis import xmr


def test_limits_are_the_mean_plus_minus_2_66_mean_moving_ranges():
    values = [10, 12, 11, 13, 12, 10, 11, 12, 13, 11, 12, 11]
    found = xmr.limits(values)
    assert found is not None
    # mean = 138 / 12 = 11.5; moving ranges 2,1,2,1,2,1,1,1,2,1,1 → 15 / 11
    assert found.mean == pytest.approx(11.5)
    assert found.moving_range == pytest.approx(15 / 11)
    assert found.upper == pytest.approx(11.5 + 2.66 * 15 / 11)
    assert found.lower == pytest.approx(11.5 - 2.66 * 15 / 11)


def test_fewer_than_twelve_values_give_no_limits_and_no_signals():
    chart = xmr.chart([1, 2, 100, 3])
    assert chart.limits is None
    assert all(p.signal == "" for p in chart.points)
    assert chart.latest_is_signal is None


def test_a_value_beyond_the_limits_is_a_signal_and_routine_variation_is_not():
    values = [10, 12, 11, 13, 12, 10, 11, 12, 13, 11, 12, 11, 30]
    chart = xmr.chart(values)
    # With 30 included: mean = 168 / 13 ≈ 12.92, moving ranges sum 15 + 19 = 34 over 12 → 2.83,
    # upper ≈ 12.92 + 7.54 = 20.46: 30 is beyond it, 13 is not.
    assert chart.limits is not None
    assert chart.limits.upper == pytest.approx(168 / 13 + 2.66 * 34 / 12)
    assert chart.points[-1].signal == xmr.BEYOND_UPPER
    assert chart.points[3].signal == ""
    assert chart.latest_is_signal is True
    low = xmr.chart([*values[:12], -5])
    assert low.points[-1].signal == xmr.BEYOND_LOWER


def test_the_eighth_value_in_a_row_on_one_side_of_the_mean_is_a_signal():
    # Four low, then eight just above the mean: all within the limits, but the eighth is a run.
    values = [8, 9, 8, 9] + [12, 12.5, 12, 12.5, 12, 12.5, 12, 12.5]
    chart = xmr.chart(values)
    assert chart.limits is not None
    assert chart.limits.mean == pytest.approx(sum(values) / 12)
    assert [p.signal for p in chart.points[4:11]] == [""] * 7
    assert chart.points[11].signal == xmr.RUN_ABOVE
    below = xmr.chart([12, 11, 12, 11] + [8, 8.5, 8, 8.5, 8, 8.5, 8, 8.5])
    assert below.points[11].signal == xmr.RUN_BELOW


def test_missing_values_neither_count_nor_break_a_run():
    values = [8, 9, 8, 9, 12, 12.5, None, 12, 12.5, 12, 12.5, 12, 12.5]
    chart = xmr.chart(values)
    assert chart.limits is not None
    assert chart.limits.mean == pytest.approx(sum(v for v in values if v is not None) / 12)
    assert chart.points[6] == xmr.Point(None, "")
    assert chart.points[12].signal == xmr.RUN_ABOVE


def _two(value: float) -> str:
    return f"{value:.2f}"


def test_routine_variation_reads_as_within_the_limits_with_no_run():
    reading = xmr.reading(xmr.chart([10, 12, 11, 13, 12, 10, 11, 12, 13, 11, 12, 11]), _two)
    # 11.5 ± 2.66 × 15/11 = 11.5 ± 3.627: 7.87 to 15.13.
    assert reading.kind == xmr.ROUTINE
    assert reading.label == "routine variation"
    assert reading.sentence == "The last value is routine variation: within 7.87–15.13, no run of 8."
    assert reading.basis == (
        "Natural process limits 7.87–15.13: the mean 11.50 ± 2.66 × the mean moving range 1.36, "
        "from 12 periods."
    )


def test_a_signal_names_the_rule_it_broke_and_the_number_behind_it():
    beyond = xmr.reading(xmr.chart([10, 12, 11, 13, 12, 10, 11, 12, 13, 11, 12, 11, 30]), _two)
    # upper = 168/13 + 2.66 × 34/12 = 12.923 + 7.537 = 20.46
    assert beyond.kind == xmr.SIGNAL
    assert beyond.label == "signal: above the upper limit"
    assert beyond.sentence == "The last value is a signal: 30.00 is above the upper limit of 20.46."
    run = xmr.reading(xmr.chart([8, 9, 8, 9] + [12, 12.5] * 4), _two)
    # mean = (34 + 98) / 12 = 11
    assert run.label == "signal: 8 in a row above the mean"
    assert run.sentence == "The last value is a signal: 8 or more values in a row above the mean of 11.00."


def test_too_little_history_says_how_much_there_is_and_a_missing_last_value_is_not_judged():
    short = xmr.reading(xmr.chart([1, None, 3, 4, 5]), _two)
    assert (short.kind, short.label) == (xmr.SHORT, "too little history: 4 of 12 periods")
    assert short.basis == ""
    missing = xmr.reading(xmr.chart([*range(12), None]), _two)
    assert (missing.kind, missing.label) == (xmr.MISSING, "")


def test_a_projection_is_named_and_a_negative_lower_limit_is_written_in_words():
    # Counts swinging between 0 and 3: mean 1.5, moving range 3, limits 1.5 ± 7.98.
    reading = xmr.reading(xmr.chart([0, 3] * 6), _two, projected=True)
    assert reading.label == "routine variation (projected)"
    assert reading.sentence == (
        "The projection for the period is routine variation: within -6.48 to 9.48, no run of 8."
    )


def test_history_starts_at_the_first_value_that_is_neither_missing_nor_zero():
    assert xmr.history_start([None, 0, 0.0, None, 5, 0, 3]) == 4
    assert xmr.history_start([0, 0]) == 2
    assert xmr.history_start([7]) == 0


def test_a_lower_limit_below_a_natural_boundary_stops_at_it():
    """Counts 1, 9, 1, 9, …: mean 5, mean moving range 8, limits 5 ± 21.28 → −16.28 and 26.28; a count
    cannot go below 0, so the lower limit is 0 and a 0 is not a signal."""
    values = [1.0, 9.0] * 6
    assert xmr.limits(values).lower == pytest.approx(5 - 2.66 * 8)
    bounded = xmr.limits(values, floor=0.0)
    assert (bounded.lower, bounded.upper) == (0.0, pytest.approx(5 + 2.66 * 8))
    assert xmr.chart([*values, 0.0], floor=0.0).points[-1].signal == ""
    reading = xmr.reading(xmr.chart(values, floor=0.0), lambda v: f"{v:.0f}")
    assert reading.basis == (
        "Natural process limits 0–26: the mean 5 ± 2.66 × the mean moving range 8, from 12 periods; "
        "the lower limit stops at 0, below which the values cannot go."
    )


@pytest.mark.parametrize(
    ("unit", "transform", "source", "expected"),
    [
        ("currency", "value", "metric", 0.0),
        ("count", "value", "manual", 0.0),
        ("fraction", "value", "metric", 0.0),
        ("days", "value", "metric", 0.0),
        ("currency", "pct_previous", "metric", None),  # a % change goes negative
        ("currency", "value", "formula", None),  # so may a formula (a difference)
        ("number", "value", "manual", None),
        ("score", "value", "manual", None),
    ],
)
def test_which_kpis_have_a_floor_of_zero(unit, transform, source, expected):
    assert xmr.floor(unit, transform, source) == expected
