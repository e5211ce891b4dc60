"""What a typed figure may be: a plain number, and for a manual entry one in its KPI's range.

Pure Python (no Django), so the rules read as a table and test without a database. A KPI's range is
its own ``min_value`` / ``max_value`` where set (NPS −100..100, a currency KPI that may go negative),
else its unit's:

    fraction   0 – 1 (0.35 is 35 %)      percent    0 – 100
    count      whole numbers, 0 or more  currency   0 or more
    days       0 or more                 score, number: any

Numbers are written with digits, an optional sign and an optional decimal point; commas may group
thousands (1,250,000). Anything else ("12abc", "1e3", "NaN", "35 %") is refused with a message saying
what to write, never guessed at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

# Storage: DecimalField(max_digits=20, decimal_places=6).
PLACES = 6
MAX_INTEGER_DIGITS = 20 - PLACES
_QUANTUM = Decimal(1).scaleb(-PLACES)

_NUMBER = re.compile(r"^[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?$")


class EntryError(ValueError):
    """A figure that is not a number, or not one its KPI may take; the message says what to write."""


@dataclass(frozen=True)
class Range:
    low: Decimal | None
    high: Decimal | None
    whole: bool = False  # whole numbers only (counts)
    hint: str = ""  # how the unit is written, added to a refusal


UNIT_RANGES: dict[str, Range] = {
    "fraction": Range(Decimal(0), Decimal(1), hint="a fraction: 0.35 is 35 %"),
    "percent": Range(Decimal(0), Decimal(100)),
    "count": Range(Decimal(0), None, whole=True),
    "currency": Range(Decimal(0), None),
    "days": Range(Decimal(0), None),
    "score": Range(None, None),
    "number": Range(None, None),
}


def entry_range(unit: str, low: Decimal | None = None, high: Decimal | None = None) -> Range:
    """The range of a manual entry: the KPI's own bounds where set, else the unit's."""
    base = UNIT_RANGES.get(unit, Range(None, None))
    return Range(base.low if low is None else low, base.high if high is None else high, base.whole, base.hint)


def parse_number(value: object) -> Decimal:
    """A typed figure as a Decimal rounded to the stored places; text that is not a number is refused.

    Decimals, ints and finite floats pass as they are (callers in code); strings must be plain numbers.
    """
    if isinstance(value, bool):
        raise EntryError(f"Enter a number, like 42 or 3.5: “{value}” is not one.")
    if isinstance(value, Decimal | int | float):
        number = Decimal(str(value))
        if not number.is_finite():
            raise EntryError("Enter a number, like 42 or 3.5.")
    else:
        text = str(value).strip().replace("\u2212", "-")  # a typographic minus is still a minus
        if not text or not _NUMBER.match(text) or not any(c.isdigit() for c in text):
            shown = text if len(text) <= 40 else text[:39] + "…"
            raise EntryError(
                f"Enter a number, like 42 or 3.5: “{shown}” is not one."
                if text
                else "Enter a number, like 42 or 3.5."
            )
        try:
            number = Decimal(text.replace(",", ""))
        except InvalidOperation:  # the pattern lets through only what Decimal reads; kept as a guard
            raise EntryError(f"Enter a number, like 42 or 3.5: “{text}” is not one.") from None
    rounded = number.quantize(_QUANTUM, rounding=ROUND_HALF_UP)
    if rounded.adjusted() >= MAX_INTEGER_DIGITS:
        raise EntryError(
            f"{plain(number)} is too large: at most {MAX_INTEGER_DIGITS} digits before the point."
        )
    return rounded


def check_range(number: Decimal, allowed: Range, name: str) -> Decimal:
    """``number`` when it lies in ``allowed``; otherwise EntryError naming the KPI and its range."""
    if allowed.whole and number != number.to_integral_value():
        raise EntryError(f"{name} is a count: enter a whole number, not {plain(number)}.")
    low, high = allowed.low, allowed.high
    if (low is not None and number < low) or (high is not None and number > high):
        hint = f" ({allowed.hint})" if allowed.hint else ""
        raise EntryError(f"{name} is {_range_words(allowed)}{hint}: {plain(number)} is outside it.")
    return number


def parse_entry(value: object, unit: str, name: str, *, low=None, high=None) -> Decimal:
    """A manual entry for a KPI called ``name``: a number (``parse_number``) within its range."""
    bounds = [None if b is None else parse_number(b) for b in (low, high)]
    return check_range(parse_number(value), entry_range(unit, *bounds), name)


def _range_words(allowed: Range) -> str:
    low, high = allowed.low, allowed.high
    what = "a whole number" if allowed.whole else "a number"
    if low is not None and high is not None:
        return f"between {plain(low)} and {plain(high)}"
    if low is not None:
        return f"{what} of {plain(low)} or more"
    if high is not None:
        return f"{what} of {plain(high)} or less"
    return what


def describe(allowed: Range) -> str:
    """A range in a few words for a column heading: "−100 to 100", "whole number, 0 or more"."""
    low, high = allowed.low, allowed.high
    if low is not None and high is not None:
        words = f"{_signed(low)} to {_signed(high)}"
    elif low is not None:
        words = f"{_signed(low)} or more"
    elif high is not None:
        words = f"{_signed(high)} or less"
    else:
        words = "any number"
    if allowed.whole:
        words = f"whole number, {words}"
    return f"{words} ({allowed.hint})" if allowed.hint else words


def _signed(number: Decimal) -> str:
    return plain(number).replace("-", "\u2212")


def plain(number: Decimal) -> str:
    """A Decimal as typed: no exponent, no trailing zeros (40.000000 → "40", 1E+2 → "100")."""
    text = format(number.normalize(), "f")
    return "0" if text in ("-0", "+0") else text
