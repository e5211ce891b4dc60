"""Writes of the manual-entry and targets grids: many cells at once, all or nothing.

Each function checks every cell first and raises one ValidationError keyed by the cells' keys (the
messages to show beside each cell), writing nothing; otherwise it writes the changed cells in one
transaction through ``measurement_set`` / ``target_set``, so the period lock, the history and the
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

from . import units
from .models import KPI, Direction, Measurement, Target, Unit
from .services import measurement_clear, measurement_set, measurement_value, target_set

REASON_MAX: int = Target._meta.get_field("reason").max_length or 500


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


@dataclass(frozen=True)
class TypedTarget:
    """What was typed in one cell of the targets grid: goal, red flag ("" for the KPI's tolerance) and
    the reason for the change."""

    key: str
    kpi: KPI
    goal: str
    red_flag: str
    reason: str
    territory: Territory | None = None
    rep: Rep | None = None


def target_figures(kpi: KPI, goal_text: str, red_text: str) -> tuple[Decimal, Decimal | None]:
    """A goal and optional red flag as numbers: a fraction KPI's between 0 and 1, and the red flag on
    the bad side of the goal (below it when higher is better) so there is a band to score in.
    ValidationError on ``goal`` / ``red_flag`` otherwise."""
    errors: dict[str, str] = {}
    figures: dict[str, Decimal | None] = {"goal": None, "red_flag": None}
    for name, text, label in (("goal", goal_text, "Goal"), ("red_flag", red_text, "Red flag")):
        if not text.strip():
            if name == "goal":
                errors[name] = "Goal: enter a number (a target is changed, not removed)."
            continue
        try:
            number = units.parse_number(text)
            if kpi.unit == Unit.FRACTION:
                number = units.check_range(number, units.UNIT_RANGES[Unit.FRACTION], kpi.name)
            figures[name] = number
        except units.EntryError as exc:
            errors[name] = f"{label}: {exc}"
    goal, red = figures["goal"], figures["red_flag"]
    if goal is not None and red is not None:
        higher = kpi.direction == Direction.HIGHER
        if (higher and red >= goal) or (not higher and red <= goal):
            side = "below" if higher else "above"
            better = "higher" if higher else "lower"
            errors["red_flag"] = (
                f"Red flag: {better} is better for {kpi.name}, so the red flag sits {side} the goal "
                f"({units.plain(goal)})."
            )
    if errors:
        raise ValidationError(errors)
    assert goal is not None
    return goal, red


def _reason(text: str) -> str:
    reason = " ".join(text.split())
    if not reason:
        raise ValidationError({"reason": "Reason: say why the target changes (kept in its history)."})
    if len(reason) > REASON_MAX:
        raise ValidationError({"reason": f"Reason: at most {REASON_MAX} characters."})
    return reason


@transaction.atomic
def targets_change(
    *, org: Organization, period: str, cells: Sequence[TypedTarget], set_by=None
) -> dict[str, Target]:
    """Set the targets of the changed cells, each with its reason; a cell whose goal and red flag equal
    the current target's (or that is empty with no target) is left alone. Returns the new targets."""
    locks.refuse_locked_period(org, period, "its targets cannot change")
    current = {
        (t.kpi_id, t.territory_id, t.rep_id): t
        for t in Target.objects.filter(
            org=org, period=period, superseded_at__isnull=True, kpi_id__in={c.kpi.pk for c in cells}
        )
    }
    errors: dict[str, list[str]] = {}
    planned: list[tuple[TypedTarget, Decimal, Decimal | None, str]] = []
    for cell in cells:
        old = current.get((cell.kpi.pk, _pk(cell.territory), _pk(cell.rep)))
        if old is None and not (cell.goal.strip() or cell.red_flag.strip()):
            continue
        messages: list[str] = []
        figures: tuple[Decimal, Decimal | None] | None = None
        try:
            figures = target_figures(cell.kpi, cell.goal, cell.red_flag)
        except ValidationError as exc:
            messages += exc.messages
        if figures is not None and old is not None and (old.goal, old.red_flag) == figures:
            continue
        reason = ""
        try:
            reason = _reason(cell.reason)
        except ValidationError as exc:
            messages += exc.messages
        if messages or figures is None:
            errors[cell.key] = messages
        else:
            planned.append((cell, *figures, reason))
    if errors:
        raise ValidationError(errors)
    return {
        cell.key: target_set(
            kpi=cell.kpi,
            period=period,
            goal=goal,
            red_flag=red,
            territory=cell.territory,
            rep=cell.rep,
            reason=reason,
            set_by=set_by,
        )
        for cell, goal, red, reason in planned
    }


@dataclass(frozen=True)
class FilledGoal:
    """One goal of a bulk fill (its red flag is left to the KPI's tolerance)."""

    kpi: KPI
    goal: Decimal
    territory: Territory | None = None
    rep: Rep | None = None


@transaction.atomic
def targets_fill(
    *, org: Organization, period: str, goals: Sequence[FilledGoal], reason: str, set_by=None
) -> list[Target]:
    """Apply a bulk fill's goals with one reason for them all."""
    reason = _reason(reason)
    locks.refuse_locked_period(org, period, "its targets cannot change")
    if not goals:
        raise ValidationError("Nothing to fill: no scope has a goal to set.")
    return [
        target_set(
            kpi=g.kpi,
            period=period,
            goal=g.goal,
            territory=g.territory,
            rep=g.rep,
            reason=reason,
            set_by=set_by,
        )
        for g in goals
    ]


def _pk(obj: Territory | Rep | None) -> int | None:
    return None if obj is None else obj.pk
