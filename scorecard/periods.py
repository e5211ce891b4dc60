"""Period keys and calendar arithmetic. Pure Python: no Django imports.

Keys: ``2017`` (year), ``2017-Q2`` (quarter), ``2017-05`` (month). When the fiscal year does not
start in January, years and quarters are fiscal and written ``FY2018`` / ``FY2018-Q1``; a fiscal
year is named after the calendar year in which it ends. Months are always calendar months.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

YEAR, QUARTER, MONTH = "year", "quarter", "month"

_YEAR_RE = re.compile(r"^(?P<fy>FY)?(?P<y>\d{4})$")
_QUARTER_RE = re.compile(r"^(?P<fy>FY)?(?P<y>\d{4})-Q(?P<q>[1-4])$")
_MONTH_RE = re.compile(r"^(?P<y>\d{4})-(?P<m>0[1-9]|1[0-2])$")


class PeriodError(ValueError):
    """A period key that cannot be parsed or does not fit the organisation's calendar."""


def _add_months(year: int, month: int, delta: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + delta
    return index // 12, index % 12 + 1


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


@dataclass(frozen=True, order=True)
class Period:
    start: date
    end: date
    kind: str
    key: str
    fiscal_start_month: int = 1

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    def previous(self) -> Period:
        return period_containing(self.start - timedelta(days=1), self.kind, self.fiscal_start_month)

    def next(self) -> Period:
        return period_containing(self.end + timedelta(days=1), self.kind, self.fiscal_start_month)

    def last_year(self) -> Period:
        y, m = _add_months(self.start.year, self.start.month, -12)
        return period_containing(date(y, m, 1), self.kind, self.fiscal_start_month)

    def elapsed_share(self, today: date) -> float:
        """Share of the period elapsed by the end of ``today`` (0 before it starts, 1 after it ends)."""
        if today < self.start:
            return 0.0
        if today >= self.end:
            return 1.0
        return ((today - self.start).days + 1) / self.days

    def months(self) -> list[Period]:
        out = []
        y, m = self.start.year, self.start.month
        while date(y, m, 1) <= self.end:
            out.append(month(y, m))
            y, m = _add_months(y, m, 1)
        return out

    def __str__(self) -> str:
        return self.key


@lru_cache(maxsize=65536)
def month(year: int, month_: int) -> Period:
    return Period(date(year, month_, 1), _month_end(year, month_), MONTH, f"{year:04d}-{month_:02d}")


def _fiscal_year_start(fiscal_year: int, fiscal_start_month: int) -> date:
    # FY N ends in calendar year N; with a January start it is just calendar year N.
    if fiscal_start_month == 1:
        return date(fiscal_year, 1, 1)
    return date(fiscal_year - 1, fiscal_start_month, 1)


@lru_cache(maxsize=65536)
def year(fiscal_year: int, fiscal_start_month: int = 1) -> Period:
    start = _fiscal_year_start(fiscal_year, fiscal_start_month)
    ey, em = _add_months(start.year, start.month, 11)
    key = f"FY{fiscal_year:04d}" if fiscal_start_month != 1 else f"{fiscal_year:04d}"
    return Period(start, _month_end(ey, em), YEAR, key, fiscal_start_month)


@lru_cache(maxsize=65536)
def quarter(fiscal_year: int, q: int, fiscal_start_month: int = 1) -> Period:
    fy_start = _fiscal_year_start(fiscal_year, fiscal_start_month)
    sy, sm = _add_months(fy_start.year, fy_start.month, 3 * (q - 1))
    ey, em = _add_months(sy, sm, 2)
    prefix = "FY" if fiscal_start_month != 1 else ""
    return Period(
        date(sy, sm, 1), _month_end(ey, em), QUARTER, f"{prefix}{fiscal_year:04d}-Q{q}", fiscal_start_month
    )


def fiscal_year_of(day: date, fiscal_start_month: int = 1) -> int:
    if fiscal_start_month == 1 or day.month < fiscal_start_month:
        return day.year
    return day.year + 1


@lru_cache(maxsize=65536)
def period_containing(day: date, kind: str, fiscal_start_month: int = 1) -> Period:
    if kind == MONTH:
        return month(day.year, day.month)
    fy = fiscal_year_of(day, fiscal_start_month)
    if kind == YEAR:
        return year(fy, fiscal_start_month)
    if kind == QUARTER:
        fy_start = _fiscal_year_start(fy, fiscal_start_month)
        months_in = (day.year - fy_start.year) * 12 + day.month - fy_start.month
        return quarter(fy, months_in // 3 + 1, fiscal_start_month)
    raise PeriodError(f"unknown period kind {kind!r}")


def parse(key: str, fiscal_start_month: int = 1) -> Period:
    """Parse a period key for an organisation whose fiscal year starts in ``fiscal_start_month``."""
    text = (key or "").strip()
    fiscal = fiscal_start_month != 1
    if m := _MONTH_RE.match(text):
        return month(int(m["y"]), int(m["m"]))
    for regex in (_YEAR_RE, _QUARTER_RE):
        if m := regex.match(text):
            if bool(m["fy"]) != fiscal:
                expected = "FY2018 / FY2018-Q1" if fiscal else "2018 / 2018-Q1"
                raise PeriodError(
                    f"period {text!r} does not match this organisation's calendar (write years and quarters as {expected})"
                )
            if regex is _YEAR_RE:
                return year(int(m["y"]), fiscal_start_month)
            return quarter(int(m["y"]), int(m["q"]), fiscal_start_month)
    raise PeriodError(
        f"invalid period key {text!r}: use a year (2017), a quarter (2017-Q2) or a month (2017-05)"
        + (", with FY for fiscal years (FY2018, FY2018-Q1)" if fiscal else "")
    )


def periods_between(first: date, last: date, kind: str, fiscal_start_month: int = 1) -> list[Period]:
    """Every period of ``kind`` that overlaps [first, last], in order."""
    out: list[Period] = []
    current = period_containing(first, kind, fiscal_start_month)
    while current.start <= last:
        out.append(current)
        current = current.next()
    return out


def ending_with(period: Period, count: int) -> list[Period]:
    """The ``count`` periods of the period's kind up to and including it, oldest first."""
    out = [period]
    while len(out) < count:
        out.append(out[-1].previous())
    return out[::-1]
