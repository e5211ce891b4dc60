"""Period locks: a closed period whose inputs may no longer change.

A lock on a period covers every day of it: a deal closing on such a day, and a target or measurement
for a period lying wholly inside it (locking 2024-Q1 freezes 2024-Q1, 2024-01…03, not the year 2024).
The services that write those inputs call :func:`refuse_locked_days` or :func:`refuse_locked_period`
in their transaction; the message names the lock, who set it and who can lift it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date

from django.core.exceptions import ValidationError
from django.utils.formats import date_format

from . import periods
from .models import Organization, PeriodLock


class PeriodLocked(ValidationError):
    """A write into a locked period."""

    def __init__(self, lock: PeriodLock, what: str) -> None:
        self.lock = lock
        super().__init__(lock_message(lock, what), code="period_locked")


def lock_message(lock: PeriodLock, what: str) -> str:
    who = lock.locked_by.get_full_name() or lock.locked_by.get_username() if lock.locked_by else "an admin"
    when = date_format(lock.locked_at, "j F Y") if lock.locked_at else ""
    return (
        f"{lock.period} is locked (by {who}{' on ' + when if when else ''}): {what}. "
        f"An admin of {lock.org.name} can unlock it, giving a reason."
    )


def _spans(org: Organization) -> list[tuple[periods.Period, PeriodLock]]:
    locks = PeriodLock.objects.filter(org=org).select_related("org", "locked_by")
    return [(org.parse_period(lock.period), lock) for lock in locks]


def day_checker(org: Organization) -> Callable[[date | None], PeriodLock | None]:
    """A function telling which lock covers a day (None: none does), reading the locks once.

    When several locks cover the day, the one on the longest period is named."""
    spans = sorted(_spans(org), key=lambda item: -item[0].days)

    def covering(day: date | None) -> PeriodLock | None:
        if day is None:
            return None
        return next((lock for span, lock in spans if span.contains(day)), None)

    return covering


def lock_covering_day(org: Organization, day: date) -> PeriodLock | None:
    """The lock whose period contains ``day``."""
    return day_checker(org)(day)


def lock_covering_period(org: Organization, key: str) -> PeriodLock | None:
    """The lock whose period contains the whole period ``key``."""
    period = org.parse_period(key)
    covering = [(s, lock) for s, lock in _spans(org) if s.start <= period.start and period.end <= s.end]
    return max(covering, key=lambda item: item[0].days)[1] if covering else None


def refuse_locked_days(org: Organization, days: Iterable[date | None], what: str) -> None:
    """Raise :class:`PeriodLocked` when any of the days (None ignored) lies in a locked period."""
    wanted = [day for day in days if day is not None]
    if not wanted:
        return
    covering = day_checker(org)
    for day in wanted:
        lock = covering(day)
        if lock is not None:
            raise PeriodLocked(lock, what)


def refuse_locked_period(org: Organization, key: str, what: str) -> None:
    """Raise :class:`PeriodLocked` when the period ``key`` lies inside a locked period."""
    lock = lock_covering_period(org, key)
    if lock is not None:
        raise PeriodLocked(lock, what)
