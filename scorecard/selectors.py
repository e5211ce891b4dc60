"""Reads for the organisation core pages."""

from __future__ import annotations

from kpis.models import KPI
from perspectives.models import ObjectiveLink, Perspective

from . import access
from .models import Membership, Role


def home_context(m: Membership) -> dict:
    territories = list(access.visible_territories(m).order_by("path"))
    base_depth = min((t.depth for t in territories), default=1)
    for t in territories:
        t.indent = t.depth - base_depth
    perspectives = list(Perspective.objects.filter(org=m.org).order_by("order"))
    kpis = (
        KPI.objects.filter(org=m.org, active=True)
        .select_related("objective__perspective")
        .order_by("objective__order", "order")
    )
    by_perspective: dict[int, dict] = {p.pk: {"perspective": p, "objectives": {}} for p in perspectives}
    for kpi in kpis:
        objective = kpi.objective
        block = by_perspective[objective.perspective_id]["objectives"].setdefault(
            objective.pk, {"objective": objective, "kpis": []}
        )
        block["kpis"].append(kpi)
    sections = [
        {"perspective": b["perspective"], "objectives": list(b["objectives"].values())}
        for b in by_perspective.values()
    ]
    links = ObjectiveLink.objects.filter(org=m.org).select_related("cause", "effect")
    reps = access.visible_reps(m)
    return {
        "org": m.org,
        "role": m.role,
        "is_admin": m.role == Role.ADMIN,
        "territories": territories,
        "sections": sections,
        "links": links,
        "kpi_count": kpis.count(),
        "rep_count": reps.count(),
        "own_rep": m.rep if m.role == Role.REP else None,
        "opportunity_count": access.visible_opportunities(m).count(),
    }
