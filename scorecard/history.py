"""Reading the change history kept by django-simple-history, for the pages that show it.

A page lists history rows as :class:`Entry` (when, who, what, why). Saying *what* changed needs the row
before each one of the same object; :func:`paired` finds them for any number of rows in one query, so a
history table costs two queries whatever its length (simple-history's ``prev_record`` costs one per row).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db.models import QuerySet

SHOWN = 50  # rows of history a page lists

CREATED, CHANGED, DELETED = "+", "~", "-"


@dataclass(frozen=True)
class Entry:
    when: datetime
    who: str
    what: str
    why: str
    subject: str = ""
    history_id: int = 0


def who(record: Any) -> str:
    """The name of the user who made the change (select ``history_user`` with the rows)."""
    user = record.history_user
    if user is None:
        return "—"
    return user.get_full_name() or user.get_username()


def newest(history: QuerySet, limit: int = SHOWN) -> list[Any]:
    """The ``limit`` newest rows of a history queryset, with their users."""
    return list(history.select_related("history_user").order_by("-history_date", "-history_id")[:limit])


def paired(records: Sequence[Any]) -> list[tuple[Any, Any | None]]:
    """Each history row with the row before it of the same object (None for the first), in one query."""
    if not records:
        return []
    model = type(records[0])
    ids = {r.id for r in records}
    chains: dict[Any, list[Any]] = defaultdict(list)
    for row in model.objects.filter(id__in=ids).order_by("history_date", "history_id"):
        chains[row.id].append(row)
    out = []
    for record in records:
        chain = chains[record.id]
        index = next(i for i, row in enumerate(chain) if row.history_id == record.history_id)
        out.append((record, chain[index - 1] if index else None))
    return out


def changed(record: Any, previous: Any | None, fields: Iterable[str]) -> list[str]:
    """The fields (attribute names) whose values differ from the previous row."""
    if previous is None:
        return []
    return [f for f in fields if getattr(record, f) != getattr(previous, f)]


def show(value: Any) -> str:
    """A field value as a history table shows it."""
    if value is None or value == "":
        return "—"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def entries(
    records: Sequence[Any],
    describe: Callable[[Any, Any | None], str],
    subject: Callable[[Any], str] = lambda record: "",
) -> list[Entry]:
    """History rows (newest first) as entries: ``describe(record, previous)`` says what changed."""
    return from_pairs(paired(records), describe, subject)


def from_pairs(
    pairs: Sequence[tuple[Any, Any | None]],
    describe: Callable[[Any, Any | None], str],
    subject: Callable[[Any], str] = lambda record: "",
) -> list[Entry]:
    """Entries of rows already paired with their previous ones (see :func:`paired`)."""
    return [
        Entry(
            when=record.history_date,
            who=who(record),
            what=describe(record, previous),
            why=record.history_change_reason or "",
            subject=subject(record),
            history_id=record.history_id,
        )
        for record, previous in pairs
    ]


def merged(*lists: list[Entry], limit: int = SHOWN) -> list[Entry]:
    """Several entry lists as one, newest first."""
    rows = [e for entries_ in lists for e in entries_]
    return sorted(rows, key=lambda e: (e.when, e.history_id), reverse=True)[:limit]
