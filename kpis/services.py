"""Writes for KPIs: stored rollups, targets, measurements and definitions."""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from scorecard.models import Organization

from . import formula as formula_lang
from . import store
from .batch import BatchEngine
from .models import KPI, Measurement, RollupRun, ScopeRollup, Source, Target


@transaction.atomic
def rollups_recompute(
    *, org: Organization, period_keys: Iterable[str] | None = None, today: date | None = None
) -> int:
    """Recompute and store the rollups of every scope in the given periods (None = every period).

    Idempotent: the stored rows of those periods are replaced as a whole; only periods with data are
    stored, so recomputing some periods stores exactly what a full recompute stores for them. Returns
    the rows stored.
    """
    started = time.perf_counter()
    today = today or timezone.localdate()
    keys = None if period_keys is None else sorted({org.parse_period(k).key for k in period_keys})
    batch = BatchEngine(org, today=today, period_keys=keys).result(keys)
    stale = ScopeRollup.objects.filter(org=org)
    if keys is not None:
        stale = stale.filter(period__in=keys)
    stale.delete()
    if settings.SCORECARD_RECOMPUTE_PAUSE_SECONDS:
        time.sleep(settings.SCORECARD_RECOMPUTE_PAUSE_SECONDS)
    run = RollupRun.objects.create(
        org=org, kpi_ids=batch.kpi_ids, today=today, periods=keys, started_at=timezone.now()
    )
    rows = store.encode(batch, org.pk, run.pk)
    store.insert(rows)
    RollupRun.objects.filter(pk=run.pk).update(seconds=time.perf_counter() - started, rows=len(rows))
    # Runs whose rows have all been replaced by later ones are of no further use.
    in_use = set(ScopeRollup.objects.filter(org=org).values_list("run_id", flat=True).distinct())
    RollupRun.objects.filter(org=org).exclude(pk__in=in_use | {run.pk}).delete()
    return len(rows)


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
