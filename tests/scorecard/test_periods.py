from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scorecard import periods


def test_calendar_keys():
    q = periods.parse("2017-Q2")
    assert (q.start, q.end, q.kind) == (date(2017, 4, 1), date(2017, 6, 30), "quarter")
    assert periods.parse("2017-05").end == date(2017, 5, 31)
    assert periods.parse("2016-02").end == date(2016, 2, 29)
    assert periods.parse("2017").previous().key == "2016"
    assert periods.parse("2017-01").previous().key == "2016-12"
    assert periods.parse("2017-Q1").previous().key == "2016-Q4"
    assert periods.parse("2017-Q3").last_year().key == "2016-Q3"


def test_fiscal_year_starting_in_july_is_named_after_the_year_it_ends():
    fy = periods.parse("FY2018", 7)
    assert (fy.start, fy.end) == (date(2017, 7, 1), date(2018, 6, 30))
    q1 = periods.parse("FY2018-Q1", 7)
    assert (q1.start, q1.end) == (date(2017, 7, 1), date(2017, 9, 30))
    assert q1.previous().key == "FY2017-Q4"
    assert periods.period_containing(date(2018, 1, 15), "quarter", 7).key == "FY2018-Q3"
    assert periods.parse("2018-01", 7).key == "2018-01"


@pytest.mark.parametrize("key", ["2017-Q5", "FY-17", "2017-13", "17", "", "2017-Q0", "2017/05"])
def test_bad_keys_are_refused(key):
    with pytest.raises(periods.PeriodError):
        periods.parse(key)


def test_fiscal_and_calendar_keys_do_not_mix():
    with pytest.raises(periods.PeriodError, match="FY2018"):
        periods.parse("2018-Q1", 7)
    with pytest.raises(periods.PeriodError):
        periods.parse("FY2018", 1)


def test_the_periods_ending_with_one_are_of_its_kind_oldest_first():
    assert [p.key for p in periods.ending_with(periods.parse("2017-02"), 3)] == [
        "2016-12",
        "2017-01",
        "2017-02",
    ]
    assert [p.key for p in periods.ending_with(periods.parse("FY2018-Q1", 7), 2)] == [
        "FY2017-Q4",
        "FY2018-Q1",
    ]
    assert [p.key for p in periods.ending_with(periods.parse("2017"), 1)] == ["2017"]


def test_elapsed_share():
    q = periods.parse("2017-Q1")
    assert q.elapsed_share(date(2016, 12, 31)) == 0
    assert q.elapsed_share(date(2017, 1, 1)) == pytest.approx(1 / 90)
    assert q.elapsed_share(date(2017, 3, 31)) == 1


@given(
    day=st.dates(date(2000, 1, 1), date(2100, 12, 31)),
    fsm=st.integers(1, 12),
    kind=st.sampled_from(["month", "quarter", "year"]),
)
def test_period_containing_contains_the_day_and_round_trips_its_key(day, fsm, kind):
    p = periods.period_containing(day, kind, fsm)
    assert p.contains(day)
    assert periods.parse(p.key, fsm) == p
    assert p.next().start == p.end + timedelta(days=1)
    assert p.previous().end == p.start - timedelta(days=1)
