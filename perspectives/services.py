"""Writes for perspectives, objectives and their cause→effect links (the scorecard designer).

Each write keeps a history record (django-simple-history) with the user of the request and, when
given, the reason for the change.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Model

from .models import Objective, ObjectiveLink, Perspective

PERSPECTIVE_FIELDS = {"name", "description", "value_proposition", "weight", "order"}
OBJECTIVE_FIELDS = {"name", "slug", "description", "weight", "owner", "order", "perspective"}


def save_with_reason(instance: Model, reason: str = "") -> None:
    """Validate and save ``instance``; its history record carries ``reason``."""
    instance.full_clean()
    instance._change_reason = reason.strip() or None  # type: ignore[attr-defined]  # read by simple-history
    instance.save()


def _assign(instance: Model, fields: dict, allowed: set[str]) -> None:
    unknown = set(fields) - allowed
    if unknown:
        raise ValueError(f"not editable here: {', '.join(sorted(unknown))}")
    for name, value in fields.items():
        setattr(instance, name, value)


@transaction.atomic
def perspective_update(*, perspective: Perspective, reason: str = "", **fields) -> Perspective:
    _assign(perspective, fields, PERSPECTIVE_FIELDS)
    save_with_reason(perspective, reason)
    return perspective


@transaction.atomic
def objective_create(
    *, perspective: Perspective, slug: str, name: str, reason: str = "", **fields
) -> Objective:
    objective = Objective(org=perspective.org, perspective=perspective, slug=slug, name=name)
    _assign(objective, fields, OBJECTIVE_FIELDS)
    save_with_reason(objective, reason)
    return objective


@transaction.atomic
def objective_update(*, objective: Objective, reason: str = "", **fields) -> Objective:
    _assign(objective, fields, OBJECTIVE_FIELDS)
    if objective.perspective.org_id != objective.org_id:
        raise ValidationError({"perspective": "Choose one of this organisation's perspectives."})
    save_with_reason(objective, reason)
    return objective


@transaction.atomic
def objective_links_set(
    *, objective: Objective, causes: Iterable[Objective], effects: Iterable[Objective]
) -> None:
    """Make ``objective``'s cause→effect links exactly these (other objectives of its organisation)."""
    causes, effects = set(causes), set(effects)
    for other in causes | effects:
        if other.org_id != objective.org_id:
            raise ValidationError("Links join objectives of the same organisation.")
        if other.pk == objective.pk:
            raise ValidationError("An objective cannot drive itself.")
    both = causes & effects
    if both:
        names = ", ".join(sorted(o.name for o in both))
        raise ValidationError(f"{names} cannot be both a cause and an effect of {objective.name}.")
    wanted = {(c.pk, objective.pk) for c in causes} | {(objective.pk, e.pk) for e in effects}
    stored = {
        (link.cause_id, link.effect_id): link
        for link in ObjectiveLink.objects.filter(org_id=objective.org_id).filter(cause=objective)
        | ObjectiveLink.objects.filter(org_id=objective.org_id).filter(effect=objective)
    }
    for pair, link in stored.items():
        if pair not in wanted:
            link.delete()
    for cause_id, effect_id in wanted - stored.keys():
        ObjectiveLink.objects.create(org_id=objective.org_id, cause_id=cause_id, effect_id=effect_id)
