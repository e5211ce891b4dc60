"""The bulk fills' arithmetic (kpis.bulkfill), every expected figure worked out by hand."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from kpis import bulkfill

D = Decimal


def test_copy_last_year_moves_the_actual_by_the_percentage_and_rounds_to_the_unit():
    assert bulkfill.scaled(1234.5, D(10), 2) == D("1357.95")  # 1234.5 × 1.10
    assert bulkfill.scaled(4000.0, D("-2.5"), 2) == D("3900.00")  # 4000 × 0.975
    assert bulkfill.scaled(7, D(10), 0) == D(8)  # 7.7 deals → 8
    assert bulkfill.scaled(0.3, D(-5), 4) == D("0.2850")  # a fraction: 0.3 × 0.95
    assert bulkfill.scaled(None, D(10), 2) is None


def test_split_by_last_years_share():
    # 3000 and 1000 last year: 3/4 and 1/4 of 10,000.
    assert bulkfill.split(D(10000), [3000.0, 1000.0], 2) == [D("7500.00"), D("2500.00")]


def test_a_child_without_a_figure_counts_as_an_average_child():
    # Known 300 and 100 average 200, so the weights are 300 : 100 : 200 of 600.
    # 1000 × 300/600 = 500, × 100/600 = 166.666…, × 200/600 = 333.333…; rounded to cents and summing
    # to 1000.00: 500.00 + 166.67 + 333.33.
    assert bulkfill.shares([300, 100, None]) == [Fraction(1, 2), Fraction(1, 6), Fraction(1, 3)]
    assert bulkfill.split(D(1000), [300.0, 100.0, None], 2) == [D("500.00"), D("166.67"), D("333.33")]


def test_with_no_figures_or_only_zeros_the_goal_is_split_equally():
    assert bulkfill.split(D(100), [None, None], 2) == [D("50.00"), D("50.00")]
    assert bulkfill.split(D(90), [0.0, 0.0, 0.0], 0) == [D(30), D(30), D(30)]


def test_a_child_at_zero_or_below_gets_no_share():
    # A loss (−5) counts as 0: the other child takes everything.
    assert bulkfill.split(D(100), [-5.0, 5.0], 2) == [D("0.00"), D("100.00")]
    assert bulkfill.split(D(100), [0.0, 20.0, 80.0], 2) == [D("0.00"), D("20.00"), D("80.00")]


def test_rounding_leftovers_go_to_the_largest_remainders_so_the_children_add_up():
    # 10 deals in thirds: 3.33… each, one leftover deal to the first of the equal remainders.
    assert bulkfill.split(D(10), [1.0, 1.0, 1.0], 0) == [D(4), D(3), D(3)]
    # 100 over 1 : 1 : 1 in cents: 33.333… each, one leftover cent.
    parts = bulkfill.split(D(100), [1.0, 1.0, 1.0], 2)
    assert parts == [D("33.34"), D("33.33"), D("33.33")] and sum(parts) == D(100)


def test_places_per_unit():
    assert [bulkfill.places(u) for u in ("currency", "count", "fraction", "days")] == [2, 0, 4, 1]
