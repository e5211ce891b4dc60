"""The project's own pages: the home page, the organisation switcher and the health checks.

The home page composes selectors of several apps (territory tree, a rep's deals, the scorecard
definition with its KPIs), so it lives here beside the root URLconf, which sees every app, rather than
in any one of them: no app below ``kpis`` may import the others.
"""

from __future__ import annotations

import calendar
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_POST

from kpis.models import KPI
from perspectives import selectors as perspective_selectors
from sales import selectors as sales_selectors
from territories import selectors as territory_selectors
from territories.models import Territory

from . import access
from .decorators import MembershipRequest, membership_required
from .models import Membership, Role


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
def home(request: MembershipRequest) -> HttpResponse:
    """The organisation, its territory tree and the KPI definitions, as the user's role may see them.

    ``?territory=<id>`` selects a territory; an htmx request for it gets only the territory fragment.
    """
    selected = None
    if request.GET.get("territory"):
        selected, _ = access.get_territory_for(request, request.GET["territory"])
    if request.htmx and not request.htmx.boosted:
        context = territory_selectors.territory_context(request.membership, selected=selected)
        response = render(request, "scorecard/home.html#territories", context)
    else:
        context = home_context(request.membership, selected=selected)
        response = render(request, "scorecard/home.html", context)
    # The same URL answers with a fragment or a page: caches must keep them apart.
    patch_vary_headers(response, ("HX-Request",))
    return response


@login_required
@require_POST
def org_switch(request: HttpRequest) -> HttpResponse:
    try:
        org_id = int(request.POST.get("org", ""))
    except ValueError:
        org_id = -1
    membership = access.switch_org(request, org_id)
    messages.info(request, f"You are now working in {membership.org.name}.")
    return redirect("home")


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> JsonResponse:
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # readiness reports any failure rather than raising
        checks["database"] = f"error: {exc.__class__.__name__}"
    try:
        cache.set("readyz", "1", 5)
        checks["cache"] = "ok" if cache.get("readyz") == "1" else "error: cache did not return the value"
    except Exception as exc:
        checks["cache"] = f"error: {exc.__class__.__name__}"
    checks["broker"] = _broker_check()
    ok = all(v == "ok" or v == "eager" for v in checks.values())
    return JsonResponse(
        {"status": "ok" if ok else "unavailable", "checks": checks}, status=200 if ok else 503
    )


def _broker_check() -> str:
    from django.conf import settings

    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "eager"
    from scorecard.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return "ok"
    except Exception as exc:
        return f"error: {exc.__class__.__name__}"
