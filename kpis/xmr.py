"""Signal or noise: XmR (process behaviour) charts. Pure Python: no Django imports.

From a series of values (one per period, oldest first) the natural process limits are the mean of the
values ± 2.66 × the mean moving range (the mean absolute difference between consecutive values). A
value beyond a limit, or the eighth of eight consecutive values on the same side of the mean, is a
signal: something changed. Anything else is routine variation, not worth chasing. Limits need enough
history to mean anything: at least ``MIN_PERIODS`` values. ``reading`` says what a chart makes of its
last value, in the words the pages show.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

SCALING = 2.66  # 3 / d2, d2 = 1.128 for moving ranges of two
MIN_PERIODS = 12
RUN_LENGTH = 8
# The pages judge a KPI by its last WINDOW periods of one kind: twice the minimum, so the limits settle,
# while two years of months let an old way of working age out.
WINDOW = 24

# A point's signal is the rule it broke, in the words the pages show.
BEYOND_UPPER, BEYOND_LOWER, RUN_ABOVE, RUN_BELOW = (
    "above the upper limit",
    "below the lower limit",
    f"{RUN_LENGTH} in a row above the mean",
    f"{RUN_LENGTH} in a row below the mean",
)


@dataclass(frozen=True)
class Limits:
    mean: float
    moving_range: float  # mean moving range
    lower: float
    upper: float
    floored: bool = False  # the lower limit stopped at the values' natural boundary


@dataclass(frozen=True)
class Point:
    value: float | None
    signal: str  # "" for routine variation (or no value)


@dataclass(frozen=True)
class Chart:
    limits: Limits | None  # None: not enough history
    points: list[Point]

    @property
    def count(self) -> int:
        """How many of the points have a value."""
        return sum(1 for p in self.points if p.value is not None)

    @property
    def latest_is_signal(self) -> bool | None:
        """Whether the last value is a signal (None when there are no limits or no last value)."""
        if self.limits is None or not self.points or self.points[-1].value is None:
            return None
        return bool(self.points[-1].signal)


# Units whose plain values cannot go below zero (money won, counts, rates, days): their lower limit
# stops at zero, a natural boundary, instead of reading "−$3,706".
NON_NEGATIVE_UNITS = frozenset({"currency", "count", "fraction", "days"})


def floor(unit: str, transform: str, source: str) -> float | None:
    """The natural lower boundary of a KPI's values: 0 for a plain value of a non-negative unit from a
    metric or manual entry; None (no boundary) for a % change or a formula, which may go negative."""
    if transform == "value" and source != "formula" and unit in NON_NEGATIVE_UNITS:
        return 0.0
    return None


def limits(values: Sequence[float], floor: float | None = None) -> Limits | None:
    """Natural process limits of the values (None with fewer than ``MIN_PERIODS``); the lower one no
    lower than ``floor`` when the values have a natural boundary."""
    if len(values) < MIN_PERIODS:
        return None
    mean = sum(values) / len(values)
    ranges = [abs(b - a) for a, b in zip(values, values[1:], strict=False)]
    moving_range = sum(ranges) / len(ranges)
    lower = mean - SCALING * moving_range
    floored = floor is not None and lower < floor
    if floor is not None and floored:
        lower = floor
    return Limits(mean, moving_range, lower, mean + SCALING * moving_range, floored)


def history_start(series: Sequence[float | None]) -> int:
    """Index of the first value of the KPI's history: leading missing values and zeros are not history
    (a count or sum over no rows is 0, also in the periods before the organisation had any data, and
    judging by them would make every later value a signal)."""
    return next((i for i, v in enumerate(series) if v), len(series))


def chart(series: Sequence[float | None], floor: float | None = None) -> Chart:
    """Each value of the series with its signal, against limits computed from the values present (a
    missing value neither counts in the limits nor breaks a run); ``floor`` as for ``limits``."""
    present = [v for v in series if v is not None]
    found = limits(present, floor)
    if found is None:
        return Chart(None, [Point(v, "") for v in series])
    points = []
    side_run = 0  # consecutive present values on one side of the mean: > 0 above, < 0 below
    for value in series:
        if value is None:
            points.append(Point(None, ""))
            continue
        if value > found.mean:
            side_run = side_run + 1 if side_run > 0 else 1
        elif value < found.mean:
            side_run = side_run - 1 if side_run < 0 else -1
        else:
            side_run = 0
        if value > found.upper:
            signal = BEYOND_UPPER
        elif value < found.lower:
            signal = BEYOND_LOWER
        elif side_run >= RUN_LENGTH:
            signal = RUN_ABOVE
        elif side_run <= -RUN_LENGTH:
            signal = RUN_BELOW
        else:
            signal = ""
        points.append(Point(value, signal))
    return Chart(found, points)


SIGNAL, ROUTINE, SHORT, MISSING = "signal", "routine", "short", "missing"


@dataclass(frozen=True)
class Reading:
    """What a chart says about its last value, in words."""

    kind: str  # SIGNAL | ROUTINE | SHORT (fewer than MIN_PERIODS values) | MISSING (no last value)
    label: str  # a few words beside a change: "signal: above the upper limit", "routine variation"
    sentence: str  # the plain-words reading
    basis: str = ""  # where the limits come from ("" without limits)


def reading(chart: Chart, fmt: Callable[[float], str], *, projected: bool = False) -> Reading:
    """The chart's verdict on its last value, numbers written by ``fmt``; ``projected``: the last value
    is the projection of a period still under way."""
    found = chart.limits
    if found is None:
        n = chart.count
        return Reading(
            SHORT,
            f"too little history: {n} of {MIN_PERIODS} periods",
            f"Too little history to tell a signal from routine variation: {n} periods with a value, "
            f"natural process limits need {MIN_PERIODS}.",
        )
    # "−12–40" would read as a subtraction: a negative lower limit takes words.
    joint = "–" if found.lower >= 0 else " to "
    span = f"{fmt(found.lower)}{joint}{fmt(found.upper)}"
    basis = (
        f"Natural process limits {span}: the mean {fmt(found.mean)} ± {SCALING} × the mean moving "
        f"range {fmt(found.moving_range)}, from {chart.count} periods"
        + (
            f"; the lower limit stops at {fmt(found.lower)}, below which the values cannot go."
            if found.floored
            else "."
        )
    )
    last = chart.points[-1]
    if last.value is None:
        return Reading(MISSING, "", f"No value in the last period to judge; the limits are {span}.", basis)
    subject, suffix = (
        ("The projection for the period", " (projected)") if projected else ("The last value", "")
    )
    if not last.signal:
        sentence = f"{subject} is routine variation: within {span}, no run of {RUN_LENGTH}."
        return Reading(ROUTINE, f"routine variation{suffix}", sentence, basis)
    if last.signal in (BEYOND_UPPER, BEYOND_LOWER):
        limit = found.upper if last.signal == BEYOND_UPPER else found.lower
        why = f"{fmt(last.value)} is {last.signal} of {fmt(limit)}"
    else:
        side = "above" if last.signal == RUN_ABOVE else "below"
        why = f"{RUN_LENGTH} or more values in a row {side} the mean of {fmt(found.mean)}"
    return Reading(SIGNAL, f"signal: {last.signal}{suffix}", f"{subject} is a signal: {why}.", basis)
