"""Writes for KPIs: stored rollups, targets, measurements and definitions."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from scorecard.models import Organization

from . import formula as formula_lang
from . import recompute, store, warm
from .batch import BatchEngine
from .models import KPI, DealChange, Measurement, RollupRun, ScopeRollup, Source, Target, Transform


@transaction.atomic
def rollups_recompute(
    *, org: Organization, period_keys: Iterable[str] | None = None, today: date | None = None
) -> int:
    """Recompute and store the rollups of every scope in the given periods (None = every period).

    Idempotent: afterwards the stored rows of those periods are exactly what the inputs give; only
    periods with data are stored, so recomputing some periods stores what a full recompute stores for
    them. Rows are per (scope, fiscal year), so the whole years of the periods are recomputed; rows
    whose figures did not change are left as they are (an edit rewrites the rows of its rep and
    territory path, not the whole year). Returns the (scope, period) figures the years hold.
    """
    started = time.perf_counter()
    today = today or timezone.localdate()
    years = None
    if period_keys is not None:
        steps = transform_depth(list(KPI.objects.filter(org=org, active=True)))
        stale = recompute.with_dependents(period_keys, steps, org.fiscal_year_start_month, today)
        years = sorted({store.row_of(org, key)[0] for key in stale})
    if (
        connection.vendor == "postgresql"
    ):  # one recompute of an organisation at a time (SQLite: the write lock)
        list(Organization.objects.select_for_update(no_key=True).filter(pk=org.pk).values_list("pk"))
    changes = list(DealChange.objects.filter(org=org).values_list("pk", "opportunity_id"))
    keeping = settings.SCORECARD_WARM_ORGS > 0
    state = None
    if keeping and years is not None and all(opp is not None for _pk, opp in changes):
        newest = RollupRun.objects.filter(org=org).order_by("-pk").values_list("token", flat=True).first()
        state = warm.take(org.pk, newest)
        if state is not None:
            state.changed = {opp for _pk, opp in changes if opp is not None}
    engine = BatchEngine(org, today=today, period_keys=_periods(org, years), warm=state, full_grid=keeping)
    if years is not None:
        # The data's date range may have grown: years that now have rows are stored too.
        have = set(ScopeRollup.objects.filter(org=org).values_list("year", flat=True).distinct())
        missing = set(engine.stored_years) - have - set(years)
        if missing:
            years = sorted(set(years) | missing)
            if engine.window is not None:
                engine = BatchEngine(org, today=today, period_keys=_periods(org, years))
    batch = engine.result(_periods(org, years))
    # Stored rows to compare with: those this process wrote last (kept with the deals), else read.
    kept = state.rows if state is not None and state.kpi_ids == batch.kpi_ids else None
    existing: dict[tuple, tuple] = {}
    same_layout: set[int | None] = {None}
    if kept is not None and years is not None:
        wanted = set(years)
        existing = {key: (None, None, data) for key, data in kept.items() if key[2] in wanted}
    else:
        kept = None
        stale_rows = ScopeRollup.objects.filter(org=org)
        if years is not None:
            stale_rows = stale_rows.filter(year__in=years)
        existing = {
            (territory_id, rep_id, year): (pk, run_id, data)
            for pk, run_id, territory_id, rep_id, year, data in stale_rows.values_list(
                "pk", "run_id", "territory_id", "rep_id", "year", "data"
            )
        }
        same_layout = {
            pk
            for pk, kpi_ids in RollupRun.objects.filter(
                pk__in={run_id for _pk, run_id, _data in existing.values()}
            ).values_list("pk", "kpi_ids")
            if kpi_ids == batch.kpi_ids
        }
    if settings.SCORECARD_RECOMPUTE_PAUSE_SECONDS:
        time.sleep(settings.SCORECARD_RECOMPUTE_PAUSE_SECONDS)
    seen = [pk for pk, _opp in changes]
    for i in range(0, len(seen), 5000):
        DealChange.objects.filter(pk__in=seen[i : i + 5000]).delete()
    run = RollupRun.objects.create(
        org=org, kpi_ids=batch.kpi_ids, today=today, periods=years, started_at=timezone.now(),
        token=uuid.uuid4().hex,
    )  # fmt: skip
    rows = store.encode(batch, org.pk, run.pk)
    changed: list[tuple] = []
    gone: list[int] = []
    gone_keys: list[tuple] = []
    for row in rows:
        key = (row[2], row[3], row[4])
        old = existing.pop(key, None)
        if old is not None and old[1] in same_layout and bytes(old[2]) == row[5]:
            continue  # unchanged: keep the stored row
        if old is not None:
            _forget(old[0], key, gone, gone_keys)
        changed.append(row)
    for key, (pk, _run, _data) in existing.items():  # no longer stored
        _forget(pk, key, gone, gone_keys)
    for i in range(0, len(gone), 5000):
        ScopeRollup.objects.filter(pk__in=gone[i : i + 5000]).delete()
    _delete_rows(org, gone_keys)
    store.insert(changed)
    if years is not None:  # or shrunk: years outside it keep no rows
        ScopeRollup.objects.filter(org=org).exclude(year__in=engine.stored_years).delete()
    if keeping:
        # Kept at once: if this transaction rolls back, its token never becomes the newest, so what
        # is kept is simply not used.
        kept_deals = warm.WarmDeals.of(engine, run.token)
        if years is None or kept is not None:
            stored = {} if kept is None else kept
            recomputed, still = set(years or ()), set(engine.stored_years)
            for key in [k for k in stored if k[2] in recomputed or k[2] not in still]:
                del stored[key]
            stored.update(((row[2], row[3], row[4]), row[5]) for row in rows)
            kept_deals.rows, kept_deals.kpi_ids = stored, batch.kpi_ids
        warm.keep(org.pk, kept_deals)
    RollupRun.objects.filter(pk=run.pk).update(seconds=time.perf_counter() - started, rows=len(changed))
    # Runs whose rows have all been replaced by later ones are of no further use.
    in_use = set(ScopeRollup.objects.filter(org=org).values_list("run_id", flat=True).distinct())
    RollupRun.objects.filter(org=org).exclude(pk__in=in_use | {run.pk}).delete()
    return batch.cells


def _periods(org: Organization, years: list[str] | None) -> list[str] | None:
    """Every period key of the fiscal years (None: every period)."""
    return None if years is None else [key for year in years for key in store.year_periods(org, year)]


def _forget(pk: int | None, key: tuple, gone: list[int], gone_keys: list[tuple]) -> None:
    """A stored row to delete: by primary key when it was read, by key when it was kept in memory."""
    if pk is not None:
        gone.append(pk)
    else:
        gone_keys.append(key)


def _delete_rows(org: Organization, keys: list[tuple]) -> None:
    """Delete stored rows by (territory id, rep id, year): one statement per year."""
    by_year: dict[str, tuple[list[int], list[int]]] = {}
    for territory_id, rep_id, year in keys:
        territories, reps = by_year.setdefault(year, ([], []))
        (territories if territory_id is not None else reps).append(territory_id or rep_id)
    for year, (territories, reps) in by_year.items():
        ScopeRollup.objects.filter(org=org, year=year).filter(
            Q(territory_id__in=territories) | Q(rep_id__in=reps)
        ).delete()


def transform_depth(kpis: list[KPI]) -> int:
    """How many comparison transforms deep the KPIs go (a % change of a formula over a % change: 2)."""
    by_slug = {k.slug: k for k in kpis}
    depth: dict[str, int] = {}

    def of(kpi: KPI, seen: frozenset[str]) -> int:
        if kpi.slug not in depth:
            below = 0
            if kpi.source == Source.FORMULA and kpi.slug not in seen:
                refs = formula_lang.references(formula_lang.parse(kpi.formula))
                below = max((of(by_slug[r], seen | {kpi.slug}) for r in refs if r in by_slug), default=0)
            depth[kpi.slug] = below + (kpi.transform != Transform.VALUE)
        return depth[kpi.slug]

    return max((of(k, frozenset()) for k in kpis), default=0)


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
