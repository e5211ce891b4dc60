"""The arithmetic of the targets grid's bulk fills. Pure Python: no Django.

- **Copy last year ± x %**: goal = last year's actual × (1 + x / 100); a scope without a last-year
  actual gets no goal from it.
- **Split a parent's goal by last year's share**: each child gets parent goal × its last-year actual ÷
  the children's total. A child without a last-year actual (a new territory, a new rep) counts as an
  average child: the mean of the others' actuals. A negative actual counts as 0 (a loss earns no share).
  When no child has a usable actual (none, or all 0), the goal is split equally.

Goals are rounded to the unit's places (cents, whole counts, …); a split hands the rounding leftovers to
the largest remainders, so the children always add up to exactly the parent's goal.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

GOAL_PLACES = {"currency": 2, "count": 0, "fraction": 4, "percent": 2, "days": 1, "score": 2, "number": 2}


def places(unit: str) -> int:
    return GOAL_PLACES.get(unit, 2)


def _rounded(value: Fraction, digits: int) -> Decimal:
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return exact.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)


def scaled(last_year: float | None, pct: Decimal, digits: int) -> Decimal | None:
    """Last year's actual moved by ``pct`` per cent (None when there is no actual)."""
    if last_year is None:
        return None
    return _rounded(Fraction(Decimal(str(last_year))) * (1 + Fraction(pct) / 100), digits)


def shares(last_years: Sequence[float | None]) -> list[Fraction]:
    """Each child's share of the parent's goal (they add up to 1), by the rules above."""
    if not last_years:
        return []
    known = [max(Fraction(Decimal(str(v))), Fraction(0)) for v in last_years if v is not None]
    average = sum(known, Fraction(0)) / len(known) if known else Fraction(0)
    weights = [average if v is None else max(Fraction(Decimal(str(v))), Fraction(0)) for v in last_years]
    total = sum(weights, Fraction(0))
    if total == 0:
        return [Fraction(1, len(last_years))] * len(last_years)
    return [w / total for w in weights]


def split(goal: Decimal, last_years: Sequence[float | None], digits: int) -> list[Decimal]:
    """The parent's ``goal`` over the children by their ``shares``, rounded so they sum to ``goal``."""
    parts = shares(last_years)
    if not parts:
        return []
    quantum = Fraction(1, 10**digits)
    units = Fraction(_rounded(Fraction(goal), digits)) / quantum  # whole quanta to hand out
    sign = -1 if units < 0 else 1
    units = abs(units)
    raw = [units * share for share in parts]
    whole = [r.numerator // r.denominator for r in raw]
    left = int(units) - sum(whole)
    # Largest remainders first; ties go to the earlier child.
    order = sorted(range(len(raw)), key=lambda i: (-(raw[i] - whole[i]), i))
    for i in order[:left]:
        whole[i] += 1
    return [_rounded(Fraction(sign * w) * quantum, digits) for w in whole]
