"""Writes for KPIs: stored rollups, targets, measurements and definitions."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from scorecard import periods as P
from scorecard.models import Organization

from . import formula as formula_lang
from .engine import Engine, Scope
from .models import KPI, Measurement, Rollup, Source, Target

ROLLUP_BATCH = 5000


def _periods_for(engine: Engine, org: Organization, period_keys: Iterable[str] | None) -> list[P.Period]:
    if period_keys is None:
        return engine.all_periods()
    return [org.parse_period(k) for k in period_keys]


ROLLUP_COLUMNS = [
    "org_id", "kpi_id", "territory_id", "rep_id", "period", "actual", "goal", "red_flag", "score", "status",
    "status_reason", "coverage", "previous", "change_pct", "last_year", "yoy_pct", "projected", "pace_score",
    "pace_status", "computed_at",
]  # fmt: skip


def _insert_rollups(rows: list[tuple]) -> None:
    """Plain executemany: the ORM's bulk_create is several times slower for millions of narrow rows."""
    if not rows:
        return
    table = connection.ops.quote_name(Rollup._meta.db_table)
    if connection.vendor == "postgresql":
        # COPY is an order of magnitude faster than INSERTs for millions of rows.
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(f"COPY {table} ({', '.join(ROLLUP_COLUMNS)}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
        return
    placeholders = ", ".join(["%s"] * len(ROLLUP_COLUMNS))
    sql = f"INSERT INTO {table} ({', '.join(ROLLUP_COLUMNS)}) VALUES ({placeholders})"
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


@transaction.atomic
def rollups_recompute(
    *,
    org: Organization,
    period_keys: Iterable[str] | None = None,
    today: date | None = None,
    scopes: Iterable[Scope] | None = None,
    engine: Engine | None = None,
    only_periods_with_data: bool = False,
) -> int:
    """Recompute and store the KPI rollups of the given periods (all periods with data when None) and
    scopes (every territory and rep when None).

    Idempotent: the stored rows of those periods and scopes are replaced as a whole. Returns the rows stored.
    With ``only_periods_with_data``, requested periods outside the range with data are cleared, not
    filled, so an incremental recompute stores exactly what a full one would.
    """
    engine = engine or Engine(org, today=today)
    periods = _periods_for(engine, org, period_keys)
    if only_periods_with_data:
        with_data = {p.key for p in engine.all_periods()}
        periods_to_store = [p for p in periods if p.key in with_data]
    else:
        periods_to_store = periods
    stale = Rollup.objects.filter(org=org)
    if period_keys is not None:
        stale = stale.filter(period__in=[p.key for p in periods])
    scope_list = None if scopes is None else list(scopes)
    if scope_list is not None:
        stale = stale.filter(
            Q(territory_id__in=[i for kind, i in scope_list if kind == "t"])
            | Q(rep_id__in=[i for kind, i in scope_list if kind == "r"])
        )
    stale.delete()
    now: object = timezone.now()
    if connection.vendor == "sqlite":
        now = timezone.now().isoformat()  # the sqlite3 module's datetime adapter is deprecated
    stored = 0
    batch: list[tuple] = []
    for row in engine.rows(periods_to_store, scope_list):
        if row.actual is None and row.goal is None:
            continue
        kind, ident = row.scope
        batch.append(
            (
                org.pk, row.kpi.pk, ident if kind == "t" else None, ident if kind == "r" else None, row.period.key,
                row.actual, row.goal, row.red_flag, row.score, row.status, row.status_reason, row.coverage,
                row.previous, row.change_pct, row.last_year, row.yoy_pct, row.projected, row.pace_score,
                row.pace_status, now,
            )
        )  # fmt: skip
        if len(batch) >= ROLLUP_BATCH:
            _insert_rollups(batch)
            stored += len(batch)
            batch = []
    _insert_rollups(batch)
    return stored + len(batch)


def kpi_formula_validate(*, org: Organization, slug: str, formula: str) -> None:
    others = KPI.objects.filter(org=org)
    formulas = {k.slug: k.formula for k in others if k.source == Source.FORMULA and k.slug != slug}
    try:
        formula_lang.validate(slug, formula, formulas, [k.slug for k in others])
    except formula_lang.FormulaError as exc:
        raise ValidationError({"formula": f"{exc}"}) from exc


@transaction.atomic
def target_set(
    *, kpi: KPI, period: str, goal, red_flag=None, territory=None, rep=None, reason: str = "", set_by=None
) -> Target:
    """Set the current target; the previous one stays as history, stamped superseded."""
    kpi.org.parse_period(period)
    if (territory is None) == (rep is None):
        raise ValidationError("A target is for exactly one territory or one rep.")
    now = timezone.now()
    Target.objects.filter(
        kpi=kpi, territory=territory, rep=rep, period=period, superseded_at__isnull=True
    ).update(superseded_at=now)
    return Target.objects.create(
        org_id=kpi.org_id,
        kpi=kpi,
        territory=territory,
        rep=rep,
        period=period,
        goal=goal,
        red_flag=red_flag,
        reason=reason,
        set_by=set_by,
    )


@transaction.atomic
def measurement_set(
    *, kpi: KPI, period: str, value, territory=None, rep=None, weight=None, note: str = "", entered_by=None
) -> Measurement:
    kpi.org.parse_period(period)
    if kpi.source != Source.MANUAL:
        raise ValidationError(f"{kpi.name} is not a manual KPI.")
    if (territory is None) == (rep is None):
        raise ValidationError("A measurement is for exactly one territory or one rep.")
    measurement, _ = Measurement.objects.update_or_create(
        kpi=kpi,
        territory=territory,
        rep=rep,
        period=period,
        defaults={
            "org_id": kpi.org_id,
            "value": value,
            "weight": weight,
            "note": note,
            "entered_by": entered_by,
        },
    )
    return measurement
