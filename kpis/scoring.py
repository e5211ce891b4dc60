"""Scores, statuses and weighted score rollups (DESIGN §4). Pure Python: no Django imports.

Score (0–10, linear): with goal G and red flag R, d = G − R,
``score = clamp(10·(A − (R − d)) / (3d), 0, 10)``: A = R scores 3.33, A = G scores 6.67,
A = G + d scores 10. Lower-is-better KPIs have d < 0 and the same formula works.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

RED, YELLOW, GREEN, GRAY = "red", "yellow", "green", "gray"
RED_BELOW = 10 / 3
GREEN_FROM = 20 / 3


def default_red_flag(goal: float, direction: str, tolerance: float) -> float:
    """When only a goal is set, the red flag sits ``tolerance`` (a fraction of |G|) on the bad side."""
    delta = abs(goal) * tolerance
    return goal - delta if direction == "higher" else goal + delta


def score(actual: float | None, goal: float | None, red_flag: float | None) -> float | None:
    if actual is None or goal is None or red_flag is None:
        return None
    d = goal - red_flag
    if d == 0:
        # Degenerate thresholds: no band, so meeting the goal is full marks.
        return 10.0 if actual == goal else None
    value = 10 * (actual - (red_flag - d)) / (3 * d)
    return min(10.0, max(0.0, value))


def status(score_value: float | None) -> str:
    if score_value is None:
        return GRAY
    if score_value < RED_BELOW:
        return RED
    if score_value < GREEN_FROM:
        return YELLOW
    return GREEN


@dataclass(frozen=True)
class WeightedScore:
    score: float | None
    coverage: float | None  # Σ weight × child coverage ÷ Σ weight (None: nothing weighs)

    @property
    def status(self) -> str:
        return status(self.score)


def kpi_coverage(score_value: float | None) -> float:
    """A KPI counts as covered when it has a score, and not when it is gray."""
    return 0.0 if score_value is None else 1.0


def roll_up(children: Iterable[tuple[float | None, float | None, float]]) -> WeightedScore:
    """A level's score and coverage from its children's (score, coverage, weight) (DESIGN §4).

    The score is the weighted mean of the children that have one (gray children are skipped; a level
    whose children are all gray is gray); a child of weight 0 is shown, not scored. The coverage is
    Σ(weight × child coverage) ÷ Σ weight over the children of weight > 0.
    """
    total_weight = 0.0
    covered = 0.0
    scored_weight = 0.0
    weighted_sum = 0.0
    for child_score, child_coverage, weight in children:
        weight = float(weight)
        if weight <= 0:
            continue
        total_weight += weight
        covered += weight * (child_coverage or 0.0)
        if child_score is not None:
            scored_weight += weight
            weighted_sum += child_score * weight
    if total_weight == 0:
        return WeightedScore(None, None)
    score_value = weighted_sum / scored_weight if scored_weight else None
    return WeightedScore(score_value, covered / total_weight)


def change_pct(value: float | None, base: float | None) -> float | None:
    """(v − b) ÷ |b| × 100; null when either is missing or the base is 0."""
    if value is None or base is None or base == 0:
        return None
    return (value - base) / abs(base) * 100
