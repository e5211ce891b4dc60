"""Reads for the organisation core pages: the home page of each role.

Every function takes the membership and starts from ``access`` so that a page never shows more than the
role may see. Each one runs a fixed number of queries whatever the size of the tree or the KPI catalog.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone

from kpis.models import KPI
from perspectives.models import Objective, ObjectiveLink, Perspective
from sales.models import CLOSED_STAGES, Stage
from territories.models import PATH_SEPARATOR, Rep, Territory, TerritoryAssignment

from . import access
from .models import Membership, Role


@dataclass
class TreeNode:
    territory: Territory
    rep_count: int = 0  # reps assigned today to this territory or any below it
    children: list[TreeNode] = field(default_factory=list)
    context_path: str = ""  # where a top node sits in the whole tree, when its ancestors are not shown


def _current_assignments(today: date) -> QuerySet[TerritoryAssignment]:
    return TerritoryAssignment.objects.filter(Q(end__isnull=True) | Q(end__gte=today), start__lte=today)


def territory_forest(territories: list[Territory], rep_counts: dict[int, int]) -> list[TreeNode]:
    """Nest territories (ordered by path) under their nearest visible ancestor.

    A manager's subtree comes out as one tree; a rep who moved between territories gets one root per
    territory, since the nodes between them are not theirs to see.
    """
    nodes: dict[str, TreeNode] = {}
    roots: list[TreeNode] = []
    for t in territories:
        node = TreeNode(territory=t, rep_count=rep_counts.get(t.pk, 0))
        nodes[t.path] = node
        parent = None
        for cut in range(len(t.path) - Territory.steplen, 0, -Territory.steplen):
            parent = nodes.get(t.path[:cut])
            if parent is not None:
                break
        if parent is not None:
            parent.children.append(node)
        else:
            node.context_path = t.full_name.rpartition(PATH_SEPARATOR)[0]
            roots.append(node)
    for node in reversed(nodes.values()):  # children come after their parents in path order
        node.rep_count += sum(child.rep_count for child in node.children)
    return roots


def territory_context(m: Membership, *, selected: Territory | None = None, today: date | None = None) -> dict:
    """The territory tree the membership may see, and the selected territory with its current reps."""
    today = today or timezone.localdate()
    territories = list(access.visible_territories(m).select_related("owner").order_by("path"))
    rep_counts = dict(
        _current_assignments(today)
        .filter(territory__in=access.visible_territories(m), rep__in=access.visible_reps(m))
        .values("territory")
        .annotate(n=Count("rep", distinct=True))
        .values_list("territory", "n")
    )
    forest = territory_forest(territories, rep_counts)
    if selected is None and m.role != Role.REP and forest:
        selected = forest[0].territory
    context = {
        "org": m.org,
        "is_rep": m.role == Role.REP,
        "forest": forest,
        "territory_count": len(territories),
        "selected": selected,
        "selected_reps": [],
        "selected_children": 0,
    }
    if selected is not None and m.role != Role.REP:
        in_subtree = [t for t in territories if t.path.startswith(selected.path)]
        context["selected_children"] = len(in_subtree) - 1
        context["selected_reps"] = list(
            access.visible_reps(m)
            .filter(
                pk__in=_current_assignments(today)
                .filter(territory__org=m.org, territory__path__startswith=selected.path)
                .values("rep")
            )
            .prefetch_related(
                Prefetch(
                    "assignments",
                    queryset=_current_assignments(today).select_related("territory"),
                    to_attr="current_assignments",
                )
            )
            .annotate(opportunity_count=Count("opportunities", distinct=True))
            .order_by("name")
        )
    return context


def own_rep_context(m: Membership, *, today: date | None = None) -> dict:
    """A rep's own record: current territory and a count of their opportunities by state."""
    if m.role != Role.REP or m.rep is None:
        return {}
    today = today or timezone.localdate()
    rep: Rep = m.rep
    current = _current_assignments(today).filter(rep=rep).select_related("territory").first()
    counts = (
        access.visible_opportunities(m)
        .filter(rep=rep)
        .aggregate(
            total=Count("pk"),
            open=Count("pk", filter=~Q(stage__in=CLOSED_STAGES)),
            won=Count("pk", filter=Q(stage=Stage.WON)),
            lost=Count("pk", filter=Q(stage=Stage.LOST)),
        )
    )
    return {
        "own_rep": rep,
        "own_territory": current.territory if current else None,
        "own_opportunities": counts,
    }


@dataclass
class ObjectiveBlock:
    objective: Objective
    share: Decimal | None  # of its perspective's objective weights
    kpis: list[KPI]


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


def definitions_context(m: Membership) -> dict:
    """KPI definitions grouped perspective → objective → KPI, and the strategy-map links by cause."""
    objectives_by_perspective: dict[int, list[Objective]] = {}
    kpis_by_objective: dict[int, list[KPI]] = {}
    for kpi in KPI.objects.filter(org=m.org, active=True).order_by("order", "pk"):
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
    strategy_map: list[StrategyMapRow] = []
    for link in links:
        if not strategy_map or strategy_map[-1].cause.pk != link.cause_id:
            strategy_map.append(StrategyMapRow(cause=link.cause, links=[]))
        strategy_map[-1].links.append(link)
    kpi_count = sum(len(o.kpis) for block in blocks for o in block.objectives)
    return {"perspectives": blocks, "strategy_map": strategy_map, "kpi_count": kpi_count}


def home_context(m: Membership, *, selected: Territory | None = None, today: date | None = None) -> dict:
    context = {
        "role": m.role,
        "fiscal_year_start": calendar.month_name[m.org.fiscal_year_start_month],
        "is_admin": access.is_admin(m),
        "may_edit_definitions": access.can_edit_definitions(m),
    }
    if m.role != Role.REP:  # a rep's own counts come with own_rep_context
        context["rep_count"] = access.visible_reps(m).count()
        context["opportunity_count"] = access.visible_opportunities(m).count()
    context.update(territory_context(m, selected=selected, today=today))
    context.update(own_rep_context(m, today=today))
    context.update(definitions_context(m))
    return context
