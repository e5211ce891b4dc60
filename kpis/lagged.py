"""Testing the strategy map against data: does the cause KPI's movement go with the effect KPI's movement
one or two periods later? Pure Python: no Django imports.

For every scope (territory) the two KPIs' series are turned into period-over-period changes (so a shared
trend does not pass for a link), the cause's change in period t is paired with the effect's change in
t + lag, the pairs of all scopes are pooled, and their Pearson correlation is reported with the number of
pairs. Correlation is not causation, and few pairs say little: the verdict says so in plain words.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

Scope = TypeVar("Scope")

FEW_PAIRS = 20  # below this, a correlation is a hint at most
CLEAR = 0.5  # |r| from which a relation is called clear (with enough pairs)
WEAK = 0.2  # |r| below which there is no visible relation


@dataclass(frozen=True)
class Lagged:
    lag: int
    pairs: int
    correlation: float | None  # None: fewer than 3 pairs or no variation

    @property
    def verdict(self) -> str:
        if self.correlation is None:
            return "not enough data to tell"
        strength = abs(self.correlation)
        direction = "together" if self.correlation > 0 else "in opposite directions"
        if strength < WEAK:
            words = "no visible relation"
        elif strength < CLEAR:
            words = f"a weak tendency to move {direction}"
        else:
            words = f"they clearly move {direction}"
        if self.pairs < FEW_PAIRS:
            return f"{words}, but only {self.pairs} pairs: a hint, not evidence"
        return words


def changes(series: Sequence[float | None]) -> list[float | None]:
    """Period-over-period differences (None where either value is missing); one shorter than the series."""
    return [None if a is None or b is None else b - a for a, b in zip(series, series[1:], strict=False)]


def pearson(pairs: Sequence[tuple[float, float]]) -> float | None:
    if len(pairs) < 3:
        return None
    n = len(pairs)
    mean_x = sum(x for x, _ in pairs) / n
    mean_y = sum(y for _, y in pairs) / n
    sxx = sum((x - mean_x) ** 2 for x, _ in pairs)
    syy = sum((y - mean_y) ** 2 for _, y in pairs)
    if sxx == 0 or syy == 0:
        return None
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in pairs)
    return sxy / math.sqrt(sxx * syy)


def lagged(
    cause: Mapping[Scope, Sequence[float | None]], effect: Mapping[Scope, Sequence[float | None]], lag: int
) -> Lagged:
    """Pool, over the scopes both series have, the cause's change at t with the effect's at t + lag.
    The series of one scope are aligned on the same periods."""
    pairs: list[tuple[float, float]] = []
    for scope, cause_series in cause.items():
        effect_series = effect.get(scope)
        if effect_series is None:
            continue
        dx, dy = changes(cause_series), changes(effect_series)
        for t in range(len(dx) - lag):
            x, y = dx[t], dy[t + lag]
            if x is not None and y is not None:
                pairs.append((x, y))
    return Lagged(lag, len(pairs), pearson(pairs))
