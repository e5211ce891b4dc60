"""Reads for KPIs: report rows in the stable row shape of DESIGN §5."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Q, QuerySet

from perspectives.models import Objective, Perspective
from scorecard import access
from scorecard.models import Membership, Organization, Role
from territories.models import Rep, Territory

from . import scoring
from .models import KPI, Note, NoteKind, ScopeRollup
from .store import StoredRows, row_of

# The row of DESIGN §5: what and where, then the figures (a stable interface: order matters).
REPORT_FIELDS = [
    *("org", "period", "territory", "rep", "kpi", "perspective", "objective", "unit", "actual", "goal"),
    *("red_flag", "score", "status", "coverage", "previous", "change_pct", "last_year", "yoy_pct"),
    "projected",
    "weight",
]
SCORE_FIELDS = [
    *("org", "period", "territory", "rep", "level", "perspective", "objective", "weight", "score"),
    *("status", "coverage"),
]


class ReportError(ValueError):
    """A report argument that names nothing in the organisation."""


def report_scopes(
    org: Organization,
    *,
    territory_path: str | None = None,
    rep_name: str | None = None,
    all_reps: bool = False,
) -> list[Territory | Rep]:
    if territory_path:
        try:
            return [Territory.objects.get(org=org, full_name=territory_path.strip().strip("/"))]
        except ObjectDoesNotExist:
            raise ReportError(f"unknown territory {territory_path!r} in {org.slug}") from None
    if rep_name:
        try:
            return [Rep.objects.get(org=org, name=rep_name.strip())]
        except ObjectDoesNotExist:
            raise ReportError(f"unknown rep {rep_name!r} in {org.slug}") from None
    if all_reps:
        return list(Rep.objects.filter(org=org).order_by("name"))
    return list(Territory.objects.filter(org=org).order_by("path"))


def report_kpis(org: Organization, kpi_slug: str | None = None) -> list[KPI]:
    kpis = KPI.objects.filter(org=org, active=True).select_related("objective__perspective")
    if kpi_slug:
        kpis = kpis.filter(slug=kpi_slug)
        if not kpis:
            raise ReportError(f"unknown KPI {kpi_slug!r} in {org.slug}")
    return list(kpis.order_by("objective__perspective__order", "objective__order", "order"))


def report_rows(
    org: Organization, period_key: str, scopes: list[Territory | Rep], kpis: list[KPI]
) -> list[dict]:
    """One row per KPI and scope from the stored rollups; a KPI with nothing stored is all nulls."""
    is_rep = bool(scopes) and isinstance(scopes[0], Rep)
    kind = "r" if is_rep else "t"
    stored = StoredRows(org, period_key, [(kind, s.pk) for s in scopes])
    rows = []
    for scope in scopes:
        for kpi in kpis:
            figures = stored.row(kpi, (kind, scope.pk))
            row = {
                "org": org.slug,
                "period": period_key,
                "territory": scope.full_name if isinstance(scope, Territory) else None,
                "rep": scope.name if is_rep else None,
                "kpi": kpi.slug,
                "perspective": kpi.objective.perspective.name,
                "objective": kpi.objective.name,
                "unit": kpi.unit,
                **figures,
                "weight": float(kpi.weight),  # within its objective
            }
            rows.append({name: row[name] for name in REPORT_FIELDS})
    return rows


def has_rollups(org: Organization, period_key: str) -> bool:
    """Whether rollups of the period's fiscal year are stored."""
    year, _slot = row_of(org, period_key)
    return ScopeRollup.objects.filter(org=org, year=year).exists()


@dataclass
class ObjectiveScore:
    objective: Objective
    kpis: list[tuple[KPI, dict]]  # each KPI with its §5 figures
    rolled: scoring.WeightedScore


@dataclass
class PerspectiveScore:
    perspective: Perspective
    objectives: list[ObjectiveScore] = field(default_factory=list)
    rolled: scoring.WeightedScore = scoring.WeightedScore(None, None)


@dataclass
class Scorecard:
    """One scope's scorecard in a period: KPI figures rolled up into objective, perspective and overall
    scores with their coverage (DESIGN §4: scores roll up within a scope, values up the tree)."""

    perspectives: list[PerspectiveScore]
    rolled: scoring.WeightedScore
    computed_on: date | None = None  # the day the stored figures are as of (the live period's snapshot)


def scorecard(org: Organization, period_key: str, scope: Territory | Rep) -> Scorecard:
    """The scorecard of a territory or rep from the stored rollups (a constant number of queries)."""
    return scorecards(org, period_key, [scope])[0]


Definitions = tuple[list[Objective], dict[int, list[KPI]]]  # objectives in order, active KPIs by objective


def scorecard_definitions(org: Organization) -> Definitions:
    by_objective: dict[int, list[KPI]] = {}
    for kpi in report_kpis(org):
        by_objective.setdefault(kpi.objective_id, []).append(kpi)
    objectives = list(
        Objective.objects.filter(org=org)
        .select_related("perspective")
        .order_by("perspective__order", "order", "pk")
    )
    return objectives, by_objective


def scorecards(
    org: Organization, period_key: str, scopes: list[Territory | Rep], definitions: Definitions | None = None
) -> list[Scorecard]:
    """The scorecards of several territories or reps in a period, in the same few queries (two, given
    the ``definitions``)."""
    keys: list[tuple[str, int]] = [("r" if isinstance(s, Rep) else "t", s.pk) for s in scopes]
    stored = StoredRows(org, period_key, keys)
    objectives, by_objective = definitions or scorecard_definitions(org)
    return [_scorecard(stored, key, objectives, by_objective) for key in keys]


def _scorecard(
    stored: StoredRows, key: tuple[str, int], objectives: list[Objective], by_objective: dict[int, list[KPI]]
) -> Scorecard:
    perspectives: dict[int, PerspectiveScore] = {}
    for objective in objectives:
        kpis = [(kpi, stored.row(kpi, key)) for kpi in by_objective.get(objective.pk, [])]
        rolled = scoring.roll_up(
            (row["score"], scoring.kpi_coverage(row["score"]), float(kpi.weight)) for kpi, row in kpis
        )
        group = perspectives.setdefault(objective.perspective_id, PerspectiveScore(objective.perspective))
        group.objectives.append(ObjectiveScore(objective, kpis, rolled))
    for group in perspectives.values():
        group.rolled = scoring.roll_up(
            (o.rolled.score, o.rolled.coverage, float(o.objective.weight)) for o in group.objectives
        )
    overall = scoring.roll_up(
        (p.rolled.score, p.rolled.coverage, float(p.perspective.weight)) for p in perspectives.values()
    )
    return Scorecard(list(perspectives.values()), overall, stored.computed_on)


def score_rows(org: Organization, period_key: str, scope: Territory | Rep) -> list[dict]:
    """The rolled-up scores of one scope (DESIGN §5 ``score_report``): a row per objective, then its
    perspective's, and one for the whole scorecard."""
    card = scorecard(org, period_key, scope)
    where = {
        "org": org.slug,
        "period": period_key,
        "territory": scope.full_name if isinstance(scope, Territory) else None,
        "rep": scope.name if isinstance(scope, Rep) else None,
    }

    def row(level: str, perspective: str | None, objective: str | None, weight, rolled) -> dict:
        return {
            **where,
            "level": level,
            "perspective": perspective,
            "objective": objective,
            "weight": float(weight),
            "score": rolled.score,
            "status": rolled.status,
            "coverage": rolled.coverage,
        }

    rows = []
    for group in card.perspectives:
        name = group.perspective.name
        for o in group.objectives:
            rows.append(row("objective", name, o.objective.name, o.objective.weight, o.rolled))
        rows.append(row("perspective", name, None, group.perspective.weight, group.rolled))
    rows.append(row("scorecard", None, None, 1, card.rolled))
    return rows


def visible_notes(m: Membership) -> QuerySet[Note]:
    """Notes a membership may read: admins and viewers all; a manager the notes on territories of the
    own subtree (review comments are for the managers of that territory and above) and on its reps; a
    rep the coaching notes and action items about themselves."""
    notes = Note.objects.filter(org=m.org)
    if m.role in (Role.ADMIN, Role.VIEWER):
        return notes
    if m.role == Role.MANAGER and m.territory is not None:
        return notes.filter(
            Q(territory__path__startswith=m.territory.path) | Q(rep__in=access.visible_reps(m))
        ).distinct()
    if m.role == Role.REP and m.rep_id is not None:
        return notes.filter(rep_id=m.rep_id).exclude(kind=NoteKind.COMMENT)
    return notes.none()


def notes_about(
    m: Membership,
    *,
    period: str,
    territory: Territory | None = None,
    rep: Rep | None = None,
    kpi: KPI | None = None,
    objective: Objective | None = None,
) -> list[Note]:
    """The visible notes on one subject in a period, newest first, with authors and owners."""
    notes = visible_notes(m).filter(period=period).select_related("author", "owner", "kpi", "objective")
    if rep is not None:
        notes = notes.filter(rep=rep)
    elif territory is not None:
        notes = notes.filter(territory=territory, rep__isnull=True)
    if kpi is not None:
        notes = notes.filter(kpi=kpi)
    if objective is not None:
        notes = notes.filter(objective=objective)
    return list(notes.order_by("-created_at", "-pk"))
