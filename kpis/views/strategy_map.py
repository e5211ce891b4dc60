"""The strategy map: the scorecard's objectives in their perspective bands (financial on top, learning &
growth at the bottom), coloured by their rolled-up status with the score printed, cause→effect arrows,
the customer value proposition in the customer band; each objective opens its KPIs below the map."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone

from kpis import evidence, lagged, selectors
from perspectives.map_layout import BAND_HEIGHT, layout
from perspectives.models import ObjectiveLink
from scorecard.decorators import MembershipRequest, membership_required
from territories.models import Rep

from .params import period_param, scope_param, territory_param


@membership_required
def strategy_map(request: MembershipRequest) -> HttpResponse:
    """``?territory=ID`` or ``?rep=ID``; by default the top territory the user sees, a rep's own record."""
    org = request.membership.org
    period = period_param(org, request.GET)
    scope = scope_param(request, own_rep_first=True)
    card = selectors.scorecard(org, period.key, scope)
    objectives = [o for group in card.perspectives for o in group.objectives]
    placed = layout(
        bands=[
            (g.perspective.pk, g.perspective.name, g.perspective.value_proposition) for g in card.perspectives
        ],
        objectives=[(o.objective.pk, o.objective.perspective_id, o.objective.name) for o in objectives],
        links=list(ObjectiveLink.objects.filter(org=org).values_list("cause_id", "effect_id")),
    )
    context = {
        "period": period,
        "scope": scope,
        "scope_title": scope.name if isinstance(scope, Rep) else scope.full_name,
        "scope_is_rep": isinstance(scope, Rep),
        "card": card,
        "layout": placed,
        "band_height": BAND_HEIGHT,
        "nodes": [(placed.boxes[o.objective.pk], o) for o in objectives if o.objective.pk in placed.boxes],
    }
    return render(request, "kpis/strategy_map.html", context)


@membership_required
def strategy_map_evidence(request: MembershipRequest) -> HttpResponse:
    """Each cause→effect link checked against the data: lagged correlations of its KPIs' quarterly
    changes over the leaf territories of the scope."""
    scope = territory_param(request)
    links, quarters = evidence.strategy_map_evidence(request.membership.org, scope, timezone.localdate())
    context = {"scope": scope, "links": links, "quarters": quarters, "few_pairs": lagged.FEW_PAIRS}
    return render(request, "kpis/strategy_map_evidence.html", context)
