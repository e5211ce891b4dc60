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

from scorecard import access, history
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


# --- the admin's territory editor and reps pages ---------------------------------------------------


def editor_tree(org, today: date) -> tuple[list[Territory], list[TreeNode]]:
    """Every territory of the organisation (by path) and the tree of them with today's rep counts."""
    territories = list(Territory.objects.filter(org=org).select_related("owner").order_by("path"))
    rep_counts = dict(
        current_assignments(today)
        .filter(territory__org=org)
        .values("territory")
        .annotate(n=Count("rep", distinct=True))
        .values_list("territory", "n")
    )
    return territories, territory_forest(territories, rep_counts)


def move_targets(org, territory: Territory) -> QuerySet[Territory]:
    """Where ``territory`` may go: any active territory outside its own subtree."""
    return (
        Territory.objects.filter(org=org, retired_on__isnull=True)
        .exclude(path__startswith=territory.path)
        .order_by("path")
    )


def assignable_territories(org) -> QuerySet[Territory]:
    """Territories offered for a new assignment: those not retired (the service checks the date)."""
    return Territory.objects.filter(org=org, retired_on__isnull=True).order_by("path")


def _territory_what(record, previous) -> str:
    if record.history_type == history.CREATED:
        return f"Added {record.full_name}"
    if record.history_type == history.DELETED:
        return f"Deleted {record.full_name}"
    if previous is None:
        return f"Changed {record.full_name}"
    parts = []
    if record.name != previous.name:
        parts.append(f"Renamed {previous.name} → {record.name}")
    elif record.full_name != previous.full_name:
        parts.append(f"Moved {previous.full_name} → {record.full_name}")
    if record.retired_on != previous.retired_on:
        parts.append(f"Retired from {record.retired_on:%Y-%m-%d}" if record.retired_on else "Reinstated")
    if record.owner_id != previous.owner_id or record.owner_name != previous.owner_name:
        parts.append("Owner changed")
    return "; ".join(parts) or f"Saved {record.full_name} unchanged"


def territory_history(org, territory: Territory | None = None) -> list[history.Entry]:
    """Changes to the organisation's territories (or to one of them), newest first."""
    rows = Territory.history.filter(org_id=org.pk)
    if territory is not None:
        rows = rows.filter(id=territory.pk)
    return history.entries(history.newest(rows), _territory_what, lambda r: r.full_name)


def rep_list(org, today: date, *, query: str = "") -> QuerySet[Rep]:
    """The organisation's reps by name (``query``: part of the name or email), each with the territory
    it is assigned to today as ``current`` (a list of at most one)."""
    reps = Rep.objects.filter(org=org)
    if query:
        reps = reps.filter(Q(name__icontains=query) | Q(email__icontains=query))
    return reps.prefetch_related(
        Prefetch(
            "assignments",
            queryset=current_assignments(today).select_related("territory"),
            to_attr="current",
        )
    ).order_by("name")


def rep_assignments(rep: Rep, today: date) -> list[TerritoryAssignment]:
    """The rep's assignments, newest first; the one running ``today`` has ``is_current`` set."""
    rows = list(TerritoryAssignment.objects.filter(rep=rep).select_related("territory").order_by("-start"))
    for a in rows:
        a.is_current = a.start <= today and (a.end is None or a.end >= today)  # type: ignore[attr-defined]
    return rows


def _rep_what(record, previous) -> str:
    if record.history_type == history.CREATED:
        return f"Hired {record.name}" + (f" on {record.hire_date:%Y-%m-%d}" if record.hire_date else "")
    if record.history_type == history.DELETED:
        return f"Deleted {record.name}"
    labels = {"name": "Name", "email": "Email", "hire_date": "Hire date", "leave_date": "Leave date"}
    parts = [
        f"{labels[f]} {history.show(getattr(previous, f))} → {history.show(getattr(record, f))}"
        for f in history.changed(record, previous, labels)
    ]
    return "; ".join(parts) or f"Saved {record.name} unchanged"


def _assignment_what(names: dict[int, str]):
    def what(record, previous) -> str:
        where = names.get(record.territory_id, "a deleted territory")
        span = f"from {record.start:%Y-%m-%d}" + (f" to {record.end:%Y-%m-%d}" if record.end else "")
        if record.history_type == history.CREATED:
            return f"Assigned to {where} {span}"
        if record.history_type == history.DELETED:
            return f"Assignment to {where} {span} removed"
        if previous is not None and previous.territory_id != record.territory_id:
            return f"Assignment {span} moved from {names.get(previous.territory_id, '?')} to {where}"
        if previous is not None and previous.end != record.end:
            return f"Assignment to {where} now ends {history.show(record.end)} (was {history.show(previous.end)})"
        return f"Assignment to {where} {span} saved"

    return what


def rep_history(org, rep: Rep | None = None) -> list[history.Entry]:
    """Changes to reps and their assignments (of one rep, or the whole organisation), newest first."""
    reps = Rep.history.filter(org_id=org.pk)
    assignments = TerritoryAssignment.history.filter(org_id=org.pk)
    if rep is not None:
        reps, assignments = reps.filter(id=rep.pk), assignments.filter(rep_id=rep.pk)
    pairs = history.paired(history.newest(assignments))
    # A corrected assignment names the territory it left too.
    territory_ids = {row.territory_id for pair in pairs for row in pair if row is not None}
    names = dict(Territory.objects.filter(pk__in=territory_ids).values_list("pk", "full_name"))
    rep_names = (
        dict(Rep.objects.filter(pk__in={r.rep_id for r, _ in pairs}).values_list("pk", "name"))
        if rep is None
        else {}
    )
    return history.merged(
        history.entries(history.newest(reps), _rep_what, lambda r: r.name),
        history.from_pairs(
            pairs,
            _assignment_what(names),
            lambda r: rep.name if rep is not None else rep_names.get(r.rep_id, "—"),
        ),
    )
