"""Lagged correlation of KPI changes, worked out by hand."""

from __future__ import annotations

import math

import pytest

from kpis import lagged


def test_changes_are_differences_and_a_gap_breaks_the_two_around_it():
    assert lagged.changes([1, 3, 6, None, 10]) == [2, 3, None, None]


def test_pearson_by_hand():
    # x = 1, 2, 3; y = 2, 4, 7: means 2 and 13/3; sxy = 5, sxx = 2, syy = 38/3 → 5 / sqrt(76/3)
    assert lagged.pearson([(1, 2), (2, 4), (3, 7)]) == pytest.approx(5 / math.sqrt(76 / 3))
    assert lagged.pearson([(1, 1), (2, 1), (3, 1)]) is None  # no variation
    assert lagged.pearson([(1, 1), (2, 2)]) is None  # too few pairs


def test_an_effect_following_its_cause_one_period_later_is_found_at_lag_one():
    # The effect repeats the cause's change one period later, in two territories.
    cause = {"north": [0, 1, 3, 2, 5, 4], "south": [10, 8, 9, 12, 11, 15]}
    effect = {scope: [0, *series[:-1]] for scope, series in cause.items()}
    one = lagged.lagged(cause, effect, 1)
    assert one.correlation == pytest.approx(1.0)
    # Changes: 5 per territory; lag 1 pairs the first 4 of each with the effect's next: 8 pairs.
    assert one.pairs == 8
    assert one.verdict == "they clearly move together, but only 8 pairs: a hint, not evidence"
    assert lagged.lagged(cause, effect, 2).correlation != pytest.approx(1.0)


def test_the_verdict_speaks_plainly():
    assert lagged.Lagged(1, 40, 0.1).verdict == "no visible relation"
    assert lagged.Lagged(1, 40, -0.3).verdict == "a weak tendency to move in opposite directions"
    assert lagged.Lagged(2, 40, 0.8).verdict == "they clearly move together"
    assert lagged.Lagged(1, 2, None).verdict == "not enough data to tell"


def test_scopes_missing_from_either_side_are_skipped():
    found = lagged.lagged({"a": [1, 2, 3, 4], "b": [1, 2]}, {"a": [1, 2, 4, 7], "c": [1, 2, 3]}, 1)
    assert found.pairs == 2
