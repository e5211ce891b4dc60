"""Reads for the scorecard definition: perspectives → objectives → KPIs, and the strategy map.

The KPIs are passed in by the caller: they are defined in ``kpis``, which sits above this app, so this
module groups whatever measures it is given under their objectives without importing them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from scorecard.models import Membership

from .models import Objective, ObjectiveLink, Perspective


class ObjectiveMeasure(Protocol):
    """Anything measured under an objective (a KPI)."""

    @property
    def objective_id(self) -> int: ...


@dataclass
class ObjectiveBlock:
    objective: Objective
    share: Decimal | None  # of its perspective's objective weights
    kpis: list[ObjectiveMeasure]


@dataclass
class PerspectiveBlock:
    perspective: Perspective
    share: Decimal | None  # of the scorecard's perspective weights
    objectives: list[ObjectiveBlock]


@dataclass
class StrategyMapRow:
    cause: Objective
    links: list[ObjectiveLink]


def _share(weight: Decimal, total: Decimal) -> Decimal | None:
    return weight / total if total else None


def definition_blocks(m: Membership, kpis: Iterable[ObjectiveMeasure]) -> list[PerspectiveBlock]:
    """The organisation's perspectives in order, each with its objectives and their ``kpis`` (in the
    order given), and every weight as a share of its level."""
    objectives_by_perspective: dict[int, list[Objective]] = {}
    kpis_by_objective: dict[int, list[ObjectiveMeasure]] = {}
    for kpi in kpis:
        kpis_by_objective.setdefault(kpi.objective_id, []).append(kpi)
    for objective in Objective.objects.filter(org=m.org).select_related("owner").order_by("order", "pk"):
        objectives_by_perspective.setdefault(objective.perspective_id, []).append(objective)
    perspectives = list(Perspective.objects.filter(org=m.org).order_by("order", "pk"))
    total = sum((p.weight for p in perspectives), Decimal(0))
    blocks = []
    for p in perspectives:
        objectives = objectives_by_perspective.get(p.pk, [])
        objective_total = sum((o.weight for o in objectives), Decimal(0))
        blocks.append(
            PerspectiveBlock(
                perspective=p,
                share=_share(p.weight, total),
                objectives=[
                    ObjectiveBlock(
                        objective=o,
                        share=_share(o.weight, objective_total),
                        kpis=kpis_by_objective.get(o.pk, []),
                    )
                    for o in objectives
                ],
            )
        )
    return blocks


def strategy_map(m: Membership) -> list[StrategyMapRow]:
    """Cause → effect links grouped by cause, drivers first (learning before internal before customer)."""
    links = (
        ObjectiveLink.objects.filter(org=m.org)
        .select_related("cause__perspective", "effect__perspective")
        .order_by(
            "-cause__perspective__order",
            "cause__order",
            "cause_id",
            "effect__perspective__order",
            "effect__order",
        )
    )
    rows: list[StrategyMapRow] = []
    for link in links:
        if not rows or rows[-1].cause.pk != link.cause_id:
            rows.append(StrategyMapRow(cause=link.cause, links=[]))
        rows[-1].links.append(link)
    return rows


def definitions_context(m: Membership, *, kpis: Iterable[ObjectiveMeasure]) -> dict[str, Any]:
    """KPI definitions grouped perspective → objective → KPI, and the strategy-map links by cause."""
    blocks = definition_blocks(m, kpis)
    kpi_count = sum(len(o.kpis) for block in blocks for o in block.objectives)
    return {"perspectives": blocks, "strategy_map": strategy_map(m), "kpi_count": kpi_count}
