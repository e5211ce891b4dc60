"""The KPI detail page: one KPI for a scope (a territory subtree or a rep) and period — its history
against goal and red flag with the live period's projection, the KPI across the scope's children, its
XmR chart (is the last value a signal or routine variation?), why it has its colour (definition,
thresholds, score arithmetic, projection method), the rows underneath (deals, certifications,
participations or measurements), the target history, and the notes on the KPI for the scope and period
(review comments on a territory's, coaching notes on a rep's).

``/kpi/<slug>/?period=KEY&territory=ID`` (or ``&rep=ID``); ``&page=N`` pages the rows, and an htmx
request for another page gets only the rows fragment.
"""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.cache import patch_vary_headers

from kpis import charts, selectors_detail, trace, xmr
from kpis.models import KPI
from kpis.selectors_detail import KpiDetail
from scorecard.decorators import MembershipRequest, membership_required
from scorecard.templatetags.scorecard_format import CURRENCY_SYMBOLS
from territories.models import Rep

from .notes import notes_panel, subject_for
from .params import period_param, scope_param
from .scorecard import shown

ROWS_PER_PAGE = 25


def _rows(kind: str, qs: QuerySet, kpi: KPI) -> QuerySet:
    if kind == "deals":
        return qs.select_related("rep", "account").order_by(*trace.deal_order(kpi))
    if kind == "certifications":
        return qs.select_related("rep", "type").order_by("-earned", "rep__name", "pk")
    if kind == "participations":
        return qs.select_related("rep", "program").order_by("-start", "rep__name", "pk")
    return qs.select_related("territory", "rep", "entered_by").order_by(
        "territory__path", "rep__name", "period"
    )


def _rows_behind(request: MembershipRequest, detail: KpiDetail) -> dict[str, Any]:
    """The rows underneath the figure, a page of them, and (deals) their count and total amount."""
    org, kpi, scope, period = request.membership.org, detail.kpi, detail.scope, detail.period
    kind = trace.rows_kind(kpi)
    if not kind:
        return {"rows_kind": ""}
    qs: QuerySet[Any]
    if kind == "deals":
        deals = trace.deals_behind(org, kpi, scope, period, today=detail.as_of)
        qs = trace.with_value(deals)
    elif kind == "certifications":
        qs = trace.certifications_behind(org, kpi, scope, period, today=detail.as_of)
    elif kind == "participations":
        qs = trace.participations_behind(org, kpi, scope, period)
    else:
        qs = trace.measurements_behind(org, kpi, scope, period)
    context: dict[str, Any] = {"rows_kind": kind, "rows_description": trace.rows_description(kpi)}
    paginator = Paginator(_rows(kind, qs, kpi), ROWS_PER_PAGE)
    if kind == "deals":
        count, context["rows_total"] = trace.totals(deals)
        paginator.__dict__["count"] = count  # already counted: spares the paginator's query
    context["rows_page"] = paginator.get_page(request.GET.get("page"))
    return context


def _symbol(currency: str) -> str:
    return CURRENCY_SYMBOLS.get(currency, "")


def _charts(detail: KpiDetail, currency: str) -> dict[str, Any]:
    kpi = detail.kpi
    axis = charts.axis_format(kpi.unit, _symbol(currency))
    points = detail.history
    history = charts.history_figure(
        [p.period.key for p in points],
        [p.figures["actual"] for p in points],
        [p.figures["goal"] for p in points],
        [p.figures["red_flag"] for p in points],
        [p.figures["projected"] if p.live else None for p in points],
        axis,
    )
    out: dict[str, Any] = {"history_chart": history, **_process(detail, currency, axis)}
    if any(row["actual"] is not None for _child, row in detail.breakdown):
        out["breakdown_chart"] = charts.breakdown_figure(
            [child.name for child, _row in detail.breakdown],
            [row["actual"] for _child, row in detail.breakdown],
            [row["status"] for _child, row in detail.breakdown],
            [row["goal"] for _child, row in detail.breakdown],
            axis,
        )
    return out


def _process(detail: KpiDetail, currency: str, axis: charts.AxisFormat) -> dict[str, Any]:
    """The XmR chart and its reading in words (numbers rounded as the scorecard writes them)."""
    process, unit = detail.process, detail.kpi.unit
    out: dict[str, Any] = {
        "xmr_reading": xmr.reading(
            process.chart, lambda v: shown(v, unit, currency), projected=process.projected
        ),
        "run_length": xmr.RUN_LENGTH,
    }
    found = process.chart.limits
    if found is not None:
        labels = [p.key for p in process.periods]
        if process.projected:
            labels[-1] += " (projected)"
        out["xmr_chart"] = charts.xmr_figure(
            labels,
            [p.value for p in process.chart.points],
            [p.signal for p in process.chart.points],
            found.mean,
            found.lower,
            found.upper,
            axis,
        )
    return out


def _are_reps(detail: KpiDetail) -> bool:
    return bool(detail.breakdown) and isinstance(detail.breakdown[0][0], Rep)


@membership_required
def kpi_detail(request: MembershipRequest, slug: str) -> HttpResponse:
    m = request.membership
    org = m.org
    kpi = get_object_or_404(KPI.objects.select_related("objective__perspective"), org=org, slug=slug)
    period = period_param(request.membership.org, request.GET)
    scope = scope_param(request, own_rep_first=True)
    detail = selectors_detail.kpi_detail(org, kpi, scope, period, today=timezone.localdate())
    context: dict[str, Any] = {
        "detail": detail,
        "f": detail.figures,
        "kpi": kpi,
        "unit": kpi.unit,
        "scope": scope,
        "scope_is_rep": isinstance(scope, Rep),
        "scope_param": "rep" if isinstance(scope, Rep) else "territory",
        "period": period,
        "currency": org.currency,
        "children_are_reps": _are_reps(detail),
        **_rows_behind(request, detail),
    }
    if request.htmx and not request.htmx.boosted:
        response = render(request, "kpis/kpi_detail.html#rows", context)
    else:
        context.update(_charts(detail, org.currency))
        subject = subject_for(period.key, scope, kpi=kpi)
        context["notes_panel"] = notes_panel(request, subject, next_url=request.get_full_path())
        response = render(request, "kpis/kpi_detail.html", context)
    # The same URL answers with a fragment or a page: caches must keep them apart.
    patch_vary_headers(response, ("HX-Request",))
    return response
