"""The query parameters the scorecard pages share: the period and the territory in scope."""

from __future__ import annotations

from django.http import Http404, QueryDict
from django.utils import timezone

from scorecard import access, periods
from scorecard.decorators import MembershipRequest
from scorecard.models import Organization, Role
from territories.models import Rep, Territory


def period_param(org: Organization, params: QueryDict) -> periods.Period:
    """``?period=KEY``, else the quarter containing today; an unknown key is a 404."""
    try:
        key = params.get("period", "")
        if key:
            return org.parse_period(str(key))
        return periods.period_containing(timezone.localdate(), periods.QUARTER, org.fiscal_year_start_month)
    except periods.PeriodError:
        raise Http404("unknown period") from None


def territory_param(request: MembershipRequest) -> Territory:
    """``?territory=ID`` (404 outside what the user sees), else the top territory the user sees.

    A rep has no territory scope: a territory's figures and the deals behind them include colleagues'
    (the rep's own territories are visible for the tree on the definitions page, not for figures)."""
    if request.membership.role == Role.REP:
        raise Http404("a rep's figures are their own")
    if request.GET.get("territory"):
        territory, _ = access.get_territory_for(request, request.GET["territory"])
        return territory
    top = access.visible_territories(request.membership).order_by("depth", "path").first()
    if top is None:
        raise Http404("no territory to show")
    return top


def scope_param(request: MembershipRequest, *, own_rep_first: bool = False) -> Territory | Rep:
    """``?rep=ID`` or ``?territory=ID`` (404 outside what the user sees), else (``own_rep_first``) a rep's
    own record, else the top territory the user sees."""
    m = request.membership
    if request.GET.get("rep"):
        if m.role == Role.REP and m.rep is not None and request.GET["rep"] == str(m.rep_id):
            return m.rep  # a rep's own record came with the membership
        rep, _ = access.get_rep_for(request, request.GET["rep"])
        return rep
    if own_rep_first and not request.GET.get("territory") and m.role == Role.REP and m.rep is not None:
        return m.rep
    return territory_param(request)


def territory_choices(
    request: MembershipRequest,
    selected: Territory | None,
    period: periods.Period,
    territories: list[Territory] | None = None,
) -> list[tuple[int, str, bool]]:
    """The territories the user sees, in tree order and indented by depth, for a territory picker:
    (id, label, whether it is ``selected``). A territory retired before the period began has no
    figures in it and is left out (unless it is the one selected); one retired during it says so."""
    if territories is None:
        territories = list(access.visible_territories(request.membership).order_by("path"))
    top = min((t.depth for t in territories), default=1)
    choices = []
    for t in territories:
        chosen = selected is not None and t.pk == selected.pk
        if t.retired_by(period.start) and not chosen:
            continue
        label = "\u00a0\u00a0" * (t.depth - top) + t.name
        if t.retired_on is not None:
            label += f" (retired {t.retired_on:%Y-%m-%d})"
        choices.append((t.pk, label, chosen))
    return choices
