"""Writes of the manual-entry grid: many cells at once, all or nothing.

Each function checks every cell first and raises one ValidationError keyed by the cells' keys (the
messages to show beside each cell), writing nothing; otherwise it writes the changed cells in one
transaction through ``measurement_set``, so the period lock, the history and the
change-driven recompute apply exactly as for a single write.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction

from scorecard import locks
from scorecard.models import Organization
from territories.models import Rep, Territory

from .models import KPI, Measurement
from .services import measurement_clear, measurement_set, measurement_value


@dataclass(frozen=True)
class TypedEntry:
    """What was typed in one cell of the manual-entry grid ("" clears the entry)."""

    key: str
    kpi: KPI
    text: str
    territory: Territory | None = None
    rep: Rep | None = None


@transaction.atomic
def measurements_enter(
    *, org: Organization, period: str, cells: Sequence[TypedEntry], entered_by=None
) -> dict[str, Measurement | None]:
    """Save typed manual entries: a number in the KPI's range, or empty to remove the entry. Unchanged
    cells are not written; a replaced entry keeps its weight and note. Returns the changed cells' new
    entries (None: removed)."""
    locks.refuse_locked_period(org, period, "its measurements cannot change")
    kpi_ids = {cell.kpi.pk for cell in cells}
    existing = {
        (m.kpi_id, m.territory_id, m.rep_id): m
        for m in Measurement.objects.filter(org=org, period=period, kpi_id__in=kpi_ids)
    }
    errors: dict[str, list[str]] = {}
    values: dict[str, Decimal | None] = {}
    for cell in cells:
        text = cell.text.strip()
        try:
            values[cell.key] = measurement_value(cell.kpi, text) if text else None
        except ValidationError as exc:
            errors[cell.key] = exc.messages
    if errors:
        raise ValidationError(errors)
    saved: dict[str, Measurement | None] = {}
    for cell in cells:
        value = values[cell.key]
        old = existing.get((cell.kpi.pk, _pk(cell.territory), _pk(cell.rep)))
        if value is None:
            if old is not None:
                measurement_clear(kpi=cell.kpi, period=period, territory=cell.territory, rep=cell.rep)
                saved[cell.key] = None
        elif old is None or old.value != value:
            saved[cell.key] = measurement_set(
                kpi=cell.kpi,
                period=period,
                territory=cell.territory,
                rep=cell.rep,
                value=value,
                weight=old.weight if old else None,
                note=old.note if old else "",
                entered_by=entered_by,
            )
    return saved


def _pk(obj: Territory | Rep | None) -> int | None:
    return None if obj is None else obj.pk
