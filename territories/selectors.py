"""Reads for the territory tree: what a membership may see of it, and a rep's own place in it.

Every function takes the membership and starts from ``scorecard.access`` so that a page never shows more
than the role may see. Each runs a fixed number of queries whatever the size of the tree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone

from scorecard import access
from scorecard.models import Membership, Role

from .models import PATH_SEPARATOR, Rep, Territory, TerritoryAssignment


@dataclass
class TreeNode:
    territory: Territory
    rep_count: int = 0  # reps assigned today to this territory or any below it
    children: list[TreeNode] = field(default_factory=list)
    context_path: str = ""  # where a top node sits in the whole tree, when its ancestors are not shown


def current_assignments(today: date) -> QuerySet[TerritoryAssignment]:
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


def territory_context(
    m: Membership, *, selected: Territory | None = None, today: date | None = None
) -> dict[str, Any]:
    """The territory tree the membership may see, and the selected territory with its current reps."""
    today = today or timezone.localdate()
    territories = list(access.visible_territories(m).select_related("owner").order_by("path"))
    rep_counts = dict(
        current_assignments(today)
        .filter(territory__in=access.visible_territories(m), rep__in=access.visible_reps(m))
        .values("territory")
        .annotate(n=Count("rep", distinct=True))
        .values_list("territory", "n")
    )
    forest = territory_forest(territories, rep_counts)
    if selected is None and m.role != Role.REP and forest:
        selected = forest[0].territory
    context: dict[str, Any] = {
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
                pk__in=current_assignments(today)
                .filter(territory__org=m.org, territory__path__startswith=selected.path)
                .values("rep")
            )
            .prefetch_related(
                Prefetch(
                    "assignments",
                    queryset=current_assignments(today).select_related("territory"),
                    to_attr="current_assignments",
                )
            )
            .annotate(opportunity_count=Count("opportunities", distinct=True))
            .order_by("name")
        )
    return context


def own_rep_context(m: Membership, *, today: date | None = None) -> dict[str, Any]:
    """A rep's own record and the territory they are assigned to today (empty for other roles)."""
    if m.role != Role.REP or m.rep is None:
        return {}
    today = today or timezone.localdate()
    rep: Rep = m.rep
    current = current_assignments(today).filter(rep=rep).select_related("territory").first()
    return {"own_rep": rep, "own_territory": current.territory if current else None}
