"""Presentation of stored numbers: rates are fractions in storage and percentages on screen."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal, InvalidOperation

from django import template

register = template.Library()

CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CHF": "CHF ", "INR": "₹"}
UNIT_LABELS = {
    "count": "Count",
    "fraction": "Percentage",
    "percent": "% points",
    "days": "Days",
    "score": "Score",
    "number": "Number",
}


def _plain(value: Decimal) -> str:
    """Thousands separators, no trailing zeros: 1,250,000 · 0.35 · 12.5."""
    if value == value.to_integral_value():
        return f"{int(value):,}"
    return f"{value:,.6f}".rstrip("0").rstrip(".")


@register.simple_tag
def kpi_value(value, unit: str, currency: str = "") -> str:
    """A KPI value in its unit: ``fraction`` 0.35 → "35%", ``currency`` → "$1,000,000", ``days`` → "60 days"."""
    if value is None or value == "":
        return "—"
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    if unit == "fraction":
        return f"{_plain((number * 100).quantize(Decimal('0.01')))}%"
    if unit == "percent":
        return f"{_plain(number.quantize(Decimal('0.01')))}%"
    if unit == "currency":
        sign = "-" if number < 0 else ""
        amount = _plain(abs(number).quantize(Decimal("0.01")))
        symbol = CURRENCY_SYMBOLS.get(currency)
        return f"{sign}{symbol}{amount}" if symbol else f"{sign}{amount} {currency}".rstrip()
    if unit == "days":
        return f"{_plain(number)} day" if number == 1 else f"{_plain(number)} days"
    return _plain(number)


@register.simple_tag
def unit_label(unit: str, currency: str = "") -> str:
    """Short column label for a KPI unit; money shows the organisation's currency."""
    if unit == "currency":
        return currency or "Currency"
    return UNIT_LABELS.get(unit, unit.capitalize())


@register.filter
def duration_words(value: timedelta | None) -> str:
    """A cool-off as a person says it: "15 minutes", "1 hour 30 minutes", "45 seconds"."""
    if value is None:
        return ""
    seconds = max(0, round(value.total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [(hours, "hour"), (minutes, "minute")] if hours or minutes else [(seconds, "second")]
    return " ".join(f"{n} {unit}{'s' if n != 1 else ''}" for n, unit in parts if n) or "0 seconds"
