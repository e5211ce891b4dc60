"""Reads for the KPI detail page: one KPI's figures for a scope over the periods of the same kind, across
the scope's children, the thresholds and score arithmetic behind its colour, its XmR chart (signal or
noise) and its target history.

A constant number of queries whatever the size of the organisation: the stored rows of the scope and
its children for every period shown come in one read (``StoredRows(..., also=...)``), the scope's
longer series for the XmR chart in another (``StoredSeries``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.db.models import Q, QuerySet

from scorecard import periods as P
from scorecard.models import Organization
from territories.models import Rep, Territory

from . import catalog, scoring, xmr
from .models import KPI, Source, Target
from .rollup.targets import PIPELINE_BETTER_BEFORE, PIPELINE_METRICS, PIPELINE_MIN_CLOSED
from .store import StoredRows, StoredSeries

Scope = Territory | Rep

# How many periods of the chosen kind the history chart shows, up to the chosen one.
HISTORY = {P.MONTH: 12, P.QUARTER: 12, P.YEAR: 5}


def scope_key(scope: Scope) -> tuple[str, int]:
    return ("r", scope.pk) if isinstance(scope, Rep) else ("t", scope.pk)


def history_periods(period: P.Period) -> list[P.Period]:
    """The chosen period and the ones of the same kind before it, oldest first."""
    out = [period]
    for _ in range(HISTORY[period.kind] - 1):
        out.append(out[-1].previous())
    return out[::-1]


def children_of(scope: Scope, period: P.Period) -> list[Scope]:
    """A territory's child territories; at a leaf, the reps assigned to it during the period."""
    if isinstance(scope, Rep):
        return []
    if scope.numchild:  # treebeard keeps the count: a leaf asks for its reps straight away
        return list(
            Territory.objects.filter(
                org_id=scope.org_id, depth=scope.depth + 1, path__startswith=scope.path
            ).order_by("name")
        )
    return list(
        Rep.objects.filter(assignments__territory=scope, assignments__start__lte=period.end)
        .filter(Q(assignments__end__isnull=True) | Q(assignments__end__gte=period.start))
        .distinct()
        .order_by("name")
    )


@dataclass
class Point:
    period: P.Period
    figures: dict
    live: bool = False


@dataclass
class Thresholds:
    """Where the goal and red flag come from, in words."""

    goal_source: str  # "explicit" | "children" | "default" | "none"
    red_flag_defaulted: bool
    tolerance: float


@dataclass
class ScoreArithmetic:
    """score = clamp(10·(A − (R − d)) / (3d), 0, 10) with the numbers filled in."""

    actual: float
    goal: float
    red_flag: float
    d: float
    floor: float  # R − d: the actual that scores 0
    raw: float | None  # before clamping (None: degenerate thresholds)
    score: float | None
    status: str


@dataclass
class Projection:
    method: str  # "run_rate" | "pipeline" | a stored method name
    actual: float | None
    projected: float
    elapsed_share: float
    as_of: date
    min_closed: int = PIPELINE_MIN_CLOSED  # closed deals the pipeline-weighted estimate needs


@dataclass
class ProcessChart:
    """The KPI's values over the last ``xmr.WINDOW`` periods of the kind up to the chosen one (from the
    first with a value), judged by an XmR chart; a live period by its projection, since its actual so
    far is not comparable with whole periods."""

    periods: list[P.Period]
    chart: xmr.Chart
    projected: bool  # the last value is the live period's projection

    @property
    def rows(self) -> list[tuple[P.Period, xmr.Point]]:
        return list(zip(self.periods, self.chart.points, strict=True))


@dataclass
class KpiDetail:
    kpi: KPI
    scope: Scope
    period: P.Period
    figures: dict
    history: list[Point]
    breakdown: list[tuple[Scope, dict]]
    thresholds: Thresholds
    arithmetic: ScoreArithmetic | None
    projection: Projection | None
    as_of: date
    process: ProcessChart
    targets: list[Target] = field(default_factory=list)

    @property
    def definition(self) -> str:
        return definition(self.kpi)


def definition(kpi: KPI) -> str:
    """What the KPI measures, in words: the catalog metric and its filter, the manual entry's
    aggregation, or the formula."""
    if kpi.source == Source.METRIC:
        metric = catalog.CATALOG.get(kpi.metric)
        label = metric.label if metric else kpi.metric
        text = f"Built-in metric “{label}” ({kpi.metric})"
        if kpi.metric_filter:
            text += ", filtered on " + ", ".join(f"{k} = {v}" for k, v in sorted(kpi.metric_filter.items()))
        return text
    if kpi.source == Source.MANUAL:
        return (
            f"Manual measurement, entered per territory or rep and period; over time: "
            f"{kpi.get_time_aggregation_display().lower()}, up the tree: "
            f"{kpi.get_tree_aggregation_display().lower()}"
        )
    return f"Formula: {kpi.formula}"


def target_history(kpi: KPI, scope: Scope, period: P.Period) -> QuerySet[Target]:
    """Every target set for the KPI, scope and period, the current one and those it superseded,
    newest first."""
    where = {"rep": scope} if isinstance(scope, Rep) else {"territory": scope}
    return (
        Target.objects.filter(kpi=kpi, period=period.key, **where)
        .select_related("set_by")
        .order_by("-set_at", "-pk")
    )


def _thresholds(kpi: KPI, stored: StoredRows, scope: Scope, targets: list[Target]) -> Thresholds:
    current = next((t for t in targets if t.superseded_at is None), None)
    goal, red = stored.stored_target(kpi, scope_key(scope))
    if current is not None:
        source, defaulted = "explicit", current.red_flag is None
    elif goal is not None:
        source, defaulted = "children", red is None
    elif kpi.default_goal is not None:
        source, defaulted = "default", kpi.default_red_flag is None
    else:
        source, defaulted = "none", False
    return Thresholds(source, defaulted, float(kpi.tolerance))


def _arithmetic(figures: dict) -> ScoreArithmetic | None:
    actual, goal, red = figures["actual"], figures["goal"], figures["red_flag"]
    if actual is None or goal is None or red is None:
        return None
    d = goal - red
    raw = 10 * (actual - (red - d)) / (3 * d) if d else None
    score = scoring.score(actual, goal, red)
    return ScoreArithmetic(actual, goal, red, d, red - d, raw, score, scoring.status(score))


def _projection(kpi: KPI, period: P.Period, figures: dict, as_of: date) -> Projection | None:
    projected = figures.get("projected")
    if projected is None:
        return None
    share = period.elapsed_share(as_of)
    actual = figures["actual"]
    method = figures.get("projection_method") or ""
    if not method:
        run_rate = None if actual is None or not share else actual / share
        pipeline_possible = (
            kpi.source == Source.METRIC and kpi.metric in PIPELINE_METRICS and share < PIPELINE_BETTER_BEFORE
        )
        close = run_rate is not None and abs(projected - run_rate) <= 1e-6 * max(1.0, abs(run_rate))
        method = "pipeline" if pipeline_possible and not close else "run_rate"
    return Projection(method, actual, projected, share, as_of)


def process_chart(org: Organization, kpi: KPI, scope: Scope, last: Point) -> ProcessChart:
    """The XmR chart of the KPI up to the period of ``last`` (its history's last point)."""
    periods = P.ending_with(last.period, xmr.WINDOW)
    values = StoredSeries(org, scope_key(scope), [p.key for p in periods]).actuals(kpi)
    projected = last.live and last.figures["projected"] is not None
    if projected:
        values[-1] = last.figures["projected"]
    first = xmr.history_start(values)
    floor = xmr.floor(kpi.unit, kpi.transform, kpi.source)
    return ProcessChart(periods[first:], xmr.chart(values[first:], floor), projected)


def kpi_detail(org: Organization, kpi: KPI, scope: Scope, period: P.Period, *, today: date) -> KpiDetail:
    """Everything the KPI detail page shows except the rows underneath (``kpis.trace``)."""
    points = history_periods(period)
    children = children_of(scope, period)
    key = scope_key(scope)
    stored = StoredRows(
        org,
        period.key,
        [key, *(scope_key(c) for c in children)],
        also=[p.key for p in points],
    )
    as_of = stored.computed_on or today
    figures = stored.row(kpi, key)
    history = [Point(p, stored.row(kpi, key, p.key), live=p.start <= as_of < p.end) for p in points]
    breakdown = [(child, stored.row(kpi, scope_key(child))) for child in children]
    targets = list(target_history(kpi, scope, period))
    return KpiDetail(
        kpi=kpi,
        scope=scope,
        period=period,
        figures=figures,
        history=history,
        breakdown=breakdown,
        thresholds=_thresholds(kpi, stored, scope, targets),
        arithmetic=_arithmetic(figures),
        projection=_projection(kpi, period, figures, as_of),
        as_of=as_of,
        process=process_chart(org, kpi, scope, history[-1]),
        targets=targets,
    )
