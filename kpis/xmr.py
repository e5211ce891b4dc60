"""Signal or noise: XmR (process behaviour) charts. Pure Python: no Django imports.

From a series of values (one per period, oldest first) the natural process limits are the mean of the
values ± 2.66 × the mean moving range (the mean absolute difference between consecutive values). A
value beyond a limit, or the eighth of eight consecutive values on the same side of the mean, is a
signal: something changed. Anything else is routine variation, not worth chasing. Limits need enough
history to mean anything: at least ``MIN_PERIODS`` values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

SCALING = 2.66  # 3 / d2, d2 = 1.128 for moving ranges of two
MIN_PERIODS = 12
RUN_LENGTH = 8

BEYOND_UPPER, BEYOND_LOWER, RUN_ABOVE, RUN_BELOW = (
    "above the upper limit",
    "below the lower limit",
    "run above",
    "run below",
)


@dataclass(frozen=True)
class Limits:
    mean: float
    moving_range: float  # mean moving range
    lower: float
    upper: float


@dataclass(frozen=True)
class Point:
    value: float | None
    signal: str  # "" for routine variation (or no value)


@dataclass(frozen=True)
class Chart:
    limits: Limits | None  # None: not enough history
    points: list[Point]

    @property
    def latest_is_signal(self) -> bool | None:
        """Whether the last value is a signal (None when there are no limits or no last value)."""
        if self.limits is None or not self.points or self.points[-1].value is None:
            return None
        return bool(self.points[-1].signal)


def limits(values: Sequence[float]) -> Limits | None:
    """Natural process limits of the values (None with fewer than ``MIN_PERIODS``)."""
    if len(values) < MIN_PERIODS:
        return None
    mean = sum(values) / len(values)
    ranges = [abs(b - a) for a, b in zip(values, values[1:], strict=False)]
    moving_range = sum(ranges) / len(ranges)
    return Limits(mean, moving_range, mean - SCALING * moving_range, mean + SCALING * moving_range)


def chart(series: Sequence[float | None]) -> Chart:
    """Each value of the series with its signal, against limits computed from the values present (a
    missing value neither counts in the limits nor breaks a run)."""
    present = [v for v in series if v is not None]
    found = limits(present)
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
