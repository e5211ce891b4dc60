"""The scorecard page, everyone's home: one scope's scorecard in a period.

``/?period=KEY&compare=previous|last_year&territory=ID`` (or ``&rep=ID``): the overall score, the four
perspectives with their objectives and KPIs (actual, target, score, status, change against the chosen
comparison and whether it is a signal or routine variation, pace in the live period, a sparkline of the
last periods), and the drill-down to the territories below and the reps in scope. A rep's scorecard adds
quota attainment, certifications and the open pipeline, and the coaching notes and action items on the
rep; a territory's has the review comments on its KPIs and objectives (``notes.notes_panel``). A rep's
home is their own scorecard, and the only one they see. An htmx request swaps the ``scorecard``
fragment; every state is a plain URL, so the page works as links and GET forms without JavaScript.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers

from kpis import selectors, selectors_rep, xmr
from kpis.attention import rep_attention
from kpis.models import KPI
from kpis.store import StoredSeries
from scorecard import access, periods
from scorecard.decorators import MembershipRequest, membership_required
from scorecard.models import Membership, Organization, Role
from scorecard.templatetags.scorecard_format import kpi_value
from territories.models import Rep, Territory, TerritoryAssignment

from .notes import notes_panel, subject_for
from .params import period_param, scope_param, territory_choices

COMPARISONS = {"previous": "previous period", "last_year": "same period last year"}
SPARK_PERIODS = 8
# Above a leaf, reps are listed with their scores only up to this many (the benchmark's root has 1,000:
# their scorecards would cost more than the page); the territories below lead to them.
REPS_LISTED = 40
SPARK_WIDTH, SPARK_HEIGHT, SPARK_PAD = 96, 28, 3


@membership_required
def home(request: MembershipRequest) -> HttpResponse:
    """``/``: the scorecard of the scope asked for; a rep's is their own."""
    context = scorecard_context(request, today=timezone.localdate())
    if request.htmx and not request.htmx.boosted and not request.htmx.history_restore_request:
        response = render(request, "kpis/scorecard.html#scorecard", context)
    else:
        response = render(request, "kpis/scorecard.html", context)
    # The same URL answers with a fragment or a page: caches must keep them apart.
    patch_vary_headers(response, ("HX-Request",))
    return response


# --- the parts of the page ------------------------------------------------------------------------


@dataclass
class Spark:
    """A server-rendered sparkline: polyline segments (gaps where nothing is stored) and its label."""

    segments: list[str]
    dots: list[tuple[str, str, str]]  # cx, cy, r as the SVG writes them (the current period's dot is larger)
    label: str
    width: str = str(SPARK_WIDTH)
    height: str = str(SPARK_HEIGHT)


# Decimals shown per unit: enough to tell periods apart, no more (stored figures are float64).
DECIMALS = {"fraction": 3, "percent": 1, "days": 1, "score": 1, "number": 1, "count": 0}


def shown(value: float | None, unit: str, currency: str) -> str:
    """A figure as the page writes it: in its unit and rounded for reading ("—" when missing)."""
    if value is None:
        return "—"
    decimals = (0 if abs(value) >= 1000 else 2) if unit == "currency" else DECIMALS.get(unit, 2)
    return kpi_value(round(value, decimals), unit, currency)


@dataclass
class KpiLine:
    kpi: KPI
    row: dict
    text: dict[str, str]  # actual, goal, red_flag, projected, compared as shown
    change: str  # "+12.5%", or "+3.0 pts" for rates
    arrow: str  # ↑ ↓ → or "" when there is no change to show
    tone: str  # good | bad | flat | ""
    spark: Spark | None
    detail_query: str
    signal: xmr.Reading | None  # signal or routine variation (None without an actual)


@dataclass
class Drill:
    """A territory below the scope or a rep in it, with its overall score and the link to its card."""

    name: str
    query: str
    rolled: Any  # scoring.WeightedScore


def _query(**params: Any) -> str:
    return "?" + urlencode({k: v for k, v in params.items() if v not in (None, "")})


def spark(
    values: Sequence[float | None], labels: Sequence[str], name: str, unit: str, currency: str
) -> Spark:
    """The sparkline of ``values`` (oldest first) scaled into a small box; the label lists them all."""
    known = [v for v in values if v is not None]
    lo, hi = (min(known), max(known)) if known else (0.0, 0.0)
    span = (hi - lo) or 1.0
    step = (SPARK_WIDTH - 2 * SPARK_PAD) / max(len(values) - 1, 1)
    segments: list[str] = []
    dots: list[tuple[str, str, str]] = []
    current: list[str] = []
    for i, value in enumerate(values):
        if value is None:
            if current:
                segments.append(" ".join(current))
            current = []
            continue
        x = round(SPARK_PAD + i * step, 1)
        y = round(SPARK_HEIGHT - SPARK_PAD - (value - lo) / span * (SPARK_HEIGHT - 2 * SPARK_PAD), 1)
        if not (hi - lo):
            y = SPARK_HEIGHT / 2
        current.append(f"{x},{y}")
        dots.append((str(x), str(y), "1.5"))
    if current:
        segments.append(" ".join(current))
    if dots:  # the newest dot drawn is larger
        dots[-1] = (*dots[-1][:2], "2.5")
    listed = "; ".join(
        f"{label} {shown(value, unit, currency) if value is not None else 'no data'}"
        for label, value in zip(labels, values, strict=True)
    )
    return Spark([s for s in segments if " " in s], dots, f"{name}, last {len(values)} periods: {listed}")


# Rates change in percentage points: a win rate going from 40 % to 50 % is "+10.0 pts", not "+25 %".
POINTS = {"fraction": 100.0, "percent": 1.0}


def change(kpi: KPI, row: dict, compare: str) -> tuple[float | None, str, str, str]:
    """(the compared actual, the change as text, its arrow, good | bad | flat) against the chosen
    comparison; no text and no arrow when there is nothing to compare with."""
    compared = row["previous"] if compare == "previous" else row["last_year"]
    if kpi.unit in POINTS:
        if row["actual"] is None or compared is None:
            return compared, "", "", ""
        delta = (row["actual"] - compared) * POINTS[kpi.unit]
        text = f"{delta:+.1f} pts"
    else:
        delta = row["change_pct"] if compare == "previous" else row["yoy_pct"]
        if delta is None:
            return compared, "", "", ""
        text = f"{delta:+.1f}%"
    if abs(delta) < 0.05:
        return compared, text.replace("+", "±").replace("-", "±"), "→", "flat"
    up = delta > 0
    good = up if kpi.direction == "higher" else not up
    return compared, text, "↑" if up else "↓", "good" if good else "bad"


def signal_or_noise(
    values: Sequence[float | None],
    row: dict,
    live: bool,
    unit: str,
    currency: str,
    floor: float | None = None,
) -> xmr.Reading | None:
    """Whether the period's value is a signal or routine variation, judged by an XmR chart of the KPI's
    ``values`` over the last periods of the kind (oldest first, the period's own last). A live period
    is judged on its projection where it has one: its actual so far is not comparable with whole
    periods."""
    if row["actual"] is None:
        return None
    projected = live and row["projected"] is not None
    judged = [*values[:-1], row["projected"]] if projected else list(values)
    judged = judged[xmr.history_start(judged) :]
    return xmr.reading(xmr.chart(judged, floor), lambda v: shown(v, unit, currency), projected=projected)


def _line(
    kpi: KPI,
    row: dict,
    compare: str,
    series: StoredSeries,
    labels: list[str],
    currency: str,
    detail_query: str,
    live: bool,
) -> KpiLine:
    compared, change_text, arrow, tone = change(kpi, row, compare)
    every = series.actuals(kpi)
    values = every[-len(labels) :]
    has_history = any(v is not None for v in values)
    names = ("actual", "goal", "red_flag", "projected")
    return KpiLine(
        kpi=kpi,
        row=row,
        text={
            **{name: shown(row[name], kpi.unit, currency) for name in names},
            "compared": shown(compared, kpi.unit, currency),
        },
        change=change_text,
        arrow=arrow,
        tone=tone,
        spark=spark(values, labels, kpi.name, kpi.unit, currency) if has_history else None,
        detail_query=detail_query,
        signal=signal_or_noise(
            every, row, live, kpi.unit, currency, xmr.floor(kpi.unit, kpi.transform, kpi.source)
        ),
    )


def _reps_in(m: Membership, territory: Territory, period: periods.Period) -> list[Rep]:
    """The visible reps assigned somewhere in the territory's subtree during the period."""
    during = Q(
        assignments__territory__org=m.org,
        assignments__territory__path__startswith=territory.path,
        assignments__start__lte=period.end,
    ) & (Q(assignments__end__isnull=True) | Q(assignments__end__gte=period.start))
    return list(access.visible_reps(m).filter(during).distinct().order_by("name"))


def _rep_territory(rep: Rep, period: periods.Period, visible: dict[int, Territory]) -> Territory | None:
    """The visible territory the rep sat in at the end of the period (else the nearest one in time)."""
    seen = [
        a for a in TerritoryAssignment.objects.filter(rep=rep).order_by("start") if a.territory_id in visible
    ]
    before = [a for a in seen if a.start <= period.end]
    chosen = before[-1] if before else seen[0] if seen else None
    return visible[chosen.territory_id] if chosen else None


def scorecard_context(request: MembershipRequest, *, today: date) -> dict[str, Any]:
    m = request.membership
    org = m.org
    period = period_param(org, request.GET)
    compare = request.GET.get("compare", "")
    if compare not in COMPARISONS:
        compare = "previous"
    scope = scope_param(request, own_rep_first=True)
    if m.role == Role.REP and scope != m.rep:
        raise Http404("a rep's scorecard is their own")
    territories = list(access.visible_territories(m).order_by("path"))
    by_id = {t.pk: t for t in territories}
    is_rep = isinstance(scope, Rep)
    home_territory = _rep_territory(scope, period, by_id) if isinstance(scope, Rep) else scope

    def link(**where: Any) -> str:
        return _query(period=period.key, compare=compare, **where)

    # Breadcrumbs: the visible ancestors from the top down to the scope.
    crumbs: list[tuple[str, str]] = []
    if home_territory is not None:
        crumbs = [
            (t.name, link(territory=t.pk))
            for t in territories
            if home_territory.path.startswith(t.path) and t.pk != home_territory.pk
        ]
        crumbs.append((home_territory.name, link(territory=home_territory.pk)))
    if is_rep:
        crumbs.append((scope.name, link(rep=scope.pk)))

    children: list[Territory] = []
    reps: list[Rep] = []
    reps_unlisted = 0
    if isinstance(scope, Territory):
        children = [
            t
            for t in territories
            if t.depth == scope.depth + 1
            and t.path.startswith(scope.path)
            and not t.retired_by(period.start)  # else no figures in the period
        ]
        reps = _reps_in(m, scope, period)
        if children and len(reps) > REPS_LISTED:
            reps, reps_unlisted = [], len(reps)
    cards = selectors.scorecards(org, period.key, [scope, *children, *reps])
    card = cards[0]

    # One read for the sparklines and the XmR charts judging each change: the sparkline shows the last
    # few of the periods.
    judged_periods = periods.ending_with(period, xmr.WINDOW)
    series = StoredSeries(org, ("r" if is_rep else "t", scope.pk), [p.key for p in judged_periods])
    spark_labels = [_short(p) for p in judged_periods[-SPARK_PERIODS:]]
    live = period.contains(today)
    where = {"rep": scope.pk} if is_rep else {"territory": scope.pk}
    detail_query = _query(period=period.key, **where)
    sections = [
        (
            group,
            [
                (
                    o,
                    [
                        _line(kpi, row, compare, series, spark_labels, org.currency, detail_query, live)
                        for kpi, row in o.kpis
                    ],
                )
                for o in group.objectives
            ],
        )
        for group in card.perspectives
    ]
    compared_period = period.previous() if compare == "previous" else period.last_year()
    outline = [(o.objective, [kpi for kpi, _row in o.kpis]) for g in card.perspectives for o in g.objectives]
    extra = _rep_parts(m.org, scope, period, card, today, detail_query) if isinstance(scope, Rep) else {}
    if m.role == Role.REP and m.rep is not None:  # a rep's own home: what needs their attention
        held = [line.certification for line in extra["certifications"]]
        extra["attention"] = rep_attention(m, m.rep, today, certifications=held)
    return {
        **extra,
        "notes_panel": notes_panel(
            request, subject_for(period.key, scope), outline=outline, next_url=request.get_full_path()
        ),
        "sees_others": m.role != Role.REP,
        "org": org,
        "period": period,
        "period_label": _long(period),
        "live": live,
        "not_started": period.start > today,
        "elapsed_pct": round(period.elapsed_share(today) * 100),
        "compare": compare,
        "compare_choices": [
            (key, f"vs {label}", _query(period=period.key, compare=key, **where))
            for key, label in COMPARISONS.items()
        ],
        "compared_period": _long(compared_period),
        "scope": scope,
        "is_rep_scope": is_rep,
        "scope_title": scope.name if isinstance(scope, Rep) else scope.full_name,
        "card": card,
        "sections": sections,
        "crumbs": crumbs,
        "home_territory": home_territory,
        "territory_choices": territory_choices(request, home_territory, period, territories),
        "children": [
            Drill(t.name, link(territory=t.pk), c.rolled)
            for t, c in zip(children, cards[1 : 1 + len(children)], strict=True)
        ],
        "reps": [
            Drill(r.name, link(rep=r.pk), c.rolled)
            for r, c in zip(reps, cards[1 + len(children) :], strict=True)
        ],
        "reps_unlisted": reps_unlisted,
        "compare_query": link(territory=scope.pk),
        "spark_labels": spark_labels,
        "judged_periods": f"{len(judged_periods)} {period.kind}s",
    }


def _rep_parts(
    org: Organization,
    rep: Rep,
    period: periods.Period,
    card: selectors.Scorecard,
    today: date,
    detail_query: str,
) -> dict[str, Any]:
    """Quota attainment, open pipeline and certifications beside a rep's KPIs, written as shown."""
    currency = org.currency
    quota = selectors_rep.quota(card)
    quota_text = {}
    if quota is not None:
        quota_text = {
            "won": shown(quota.won, "currency", currency),
            "quota": shown(quota.quota, "currency", currency),
            "remaining": shown(quota.remaining, "currency", currency),
            "attainment": shown(quota.attainment, "fraction", currency),
            "projected": shown(quota.projected, "currency", currency),
            "projected_attainment": shown(quota.projected_attainment, "fraction", currency),
        }
    # The live period's pipeline is taken on the day the stored figures are as of, as its KPI was.
    pipeline = selectors_rep.open_pipeline(org, rep, period, today=card.computed_on or today)
    pipeline_kpi = selectors_rep.kpi_of(card, "open_pipeline_value") or selectors_rep.kpi_of(
        card, "open_pipeline_count"
    )
    return {
        "quota": quota,
        "quota_text": quota_text,
        "quota_width": min(100, round((quota.attainment or 0) * 100)) if quota else 0,
        "pipeline": pipeline,
        "pipeline_value": shown(float(pipeline.value), "currency", currency),
        "pipeline_deals": [
            (
                open_deal.deal,
                shown(None if open_deal.value is None else float(open_deal.value), "currency", currency),
            )
            for open_deal in pipeline.largest
        ],
        "pipeline_url": f"{reverse('kpi_detail', args=[pipeline_kpi[0].slug])}{detail_query}#rows"
        if pipeline_kpi
        else "",
        "quota_url": f"{reverse('kpi_detail', args=[quota.kpi.slug])}{detail_query}" if quota else "",
        "certifications": selectors_rep.certifications(rep, today=today),
    }


def _short(period: periods.Period) -> str:
    if period.kind == periods.MONTH:
        return period.start.strftime("%b %Y")
    return period.key


def _long(period: periods.Period) -> str:
    return period.start.strftime("%B %Y") if period.kind == periods.MONTH else period.key
