"""The definitions page: the organisation, its territory tree and the scorecard definition (and a rep's
own record).

It composes the selectors of the apps below (territory tree, a rep's deals, the perspectives and
objectives with their KPIs), which is why it lives in ``kpis``, the first app that may see them all.
"""

from __future__ import annotations

import calendar
from typing import Any

from django.http import HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers

from kpis.models import KPI
from perspectives import selectors as perspective_selectors
from sales import selectors as sales_selectors
from scorecard import access
from scorecard.decorators import MembershipRequest, membership_required
from scorecard.models import Membership, Role
from territories import selectors as territory_selectors
from territories.models import Territory


def home_context(m: Membership, *, selected: Territory | None = None) -> dict[str, Any]:
    context: dict[str, Any] = {
        "role": m.role,
        "fiscal_year_start": calendar.month_name[m.org.fiscal_year_start_month],
        "is_admin": access.is_admin(m),
        "may_edit_definitions": access.can_edit_definitions(m),
    }
    if m.role != Role.REP:  # a rep sees their own counts in their record
        context["rep_count"] = access.visible_reps(m).count()
        context["opportunity_count"] = access.visible_opportunities(m).count()
    context.update(territory_selectors.territory_context(m, selected=selected))
    own = territory_selectors.own_rep_context(m)
    if own:
        own["own_opportunities"] = sales_selectors.rep_opportunity_counts(m, own["own_rep"])
    context.update(own)
    kpis = KPI.objects.filter(org=m.org, active=True).order_by("order", "pk")
    context.update(perspective_selectors.definitions_context(m, kpis=kpis))
    return context


@membership_required
def definitions(request: MembershipRequest) -> HttpResponse:
    """``/definitions/``: the page for every role, linked from the navigation."""
    return definitions_page(request)


def definitions_page(request: MembershipRequest) -> HttpResponse:
    """The organisation, its territory tree and the KPI definitions, as the user's role may see them.

    ``?territory=<id>`` selects a territory; an htmx request for it gets only the territory fragment.
    """
    selected = None
    if request.GET.get("territory"):
        selected, _ = access.get_territory_for(request, request.GET["territory"])
    if request.htmx and not request.htmx.boosted:
        context = territory_selectors.territory_context(request.membership, selected=selected)
        response = render(request, "kpis/home.html#territories", context)
    else:
        context = home_context(request.membership, selected=selected)
        response = render(request, "kpis/home.html", context)
    # The same URL answers with a fragment or a page: caches must keep them apart.
    patch_vary_headers(response, ("HX-Request",))
    return response
