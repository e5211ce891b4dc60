"""Keeping stored rollups fresh: which periods a change affects, and one deduplicated recompute per org.

A change marks periods stale (durable ``RecomputeRequest`` rows) and, after the transaction commits,
enqueues the recompute task unless one is already pending for the organisation. The task
(``services.rollups_recompute_pending``) clears the pending flag when it starts, so a burst of edits costs
at most one running and one pending recompute. A per-organisation lock keeps two workers from
recomputing one organisation at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Max, Min
from django.utils import timezone

from scorecard import periods as P
from scorecard.celery import app

from . import formula as formula_lang
from .models import KPI, DealChange, RecomputeRequest, Source, Transform

# Sent by name: this module sits below the tasks (which call the services that use it).
RECOMPUTE_TASK = "kpis.tasks.recompute_pending"

PENDING_TTL = 15 * 60
RUNS_TTL = 24 * 60 * 60


def pending_key(org_id: int) -> str:
    return f"scorecard:recompute:pending:{org_id}"


def lock_key(org_id: int) -> str:
    return f"scorecard:recompute:lock:{org_id}"


def runs_key(org_id: int) -> str:
    return f"scorecard:recompute:runs:{org_id}"


def runs(org_id: int) -> int:
    """How many recomputes ran for the organisation (kept a day; for monitoring and tests)."""
    return int(cache.get(runs_key(org_id)) or 0)


def count_run(org_id: int) -> None:
    if not cache.add(runs_key(org_id), 1, timeout=RUNS_TTL):
        try:
            cache.incr(runs_key(org_id))
        except ValueError:  # expired between add and incr
            cache.add(runs_key(org_id), 1, timeout=RUNS_TTL)


def affected_periods(first: date, last: date, fiscal_start_month: int, today: date | None = None) -> set[str]:
    """Periods whose rollups change when facts dated within [first, last] change.

    The periods overlapping the range, plus those that compare against them: the next period (its
    "previous") and the same period a year later (its "last year").
    """
    today = today or timezone.localdate()
    last = max(first, min(last, today))
    keys: set[str] = set()
    for kind in P.YEAR, P.QUARTER, P.MONTH:
        for period in P.periods_between(first, last, kind, fiscal_start_month):
            keys.add(period.key)
            keys.update(p.key for p in _comparing(period, fiscal_start_month) if p.start <= today)
    return keys


def with_dependents(keys: Iterable[str], steps: int, fiscal_start_month: int, today: date) -> set[str]:
    """Period keys and, ``steps`` times over, the periods comparing with them (next, a year later).

    A stale period changes the % change / YoY values of the periods comparing with it, and those the
    previous / last-year figures of theirs (stored with a row when its compared row is not stored).
    """
    found = {P.parse(k, fiscal_start_month) for k in keys}
    for _ in range(steps):
        found |= {p for period in found for p in _comparing(period, fiscal_start_month) if p.start <= today}
    return {p.key for p in found}


def _comparing(period: P.Period, fiscal_start_month: int) -> tuple[P.Period, P.Period]:
    """The periods comparing with this one: the next (its "previous") and a year later (its "last year")."""
    year_later = date(period.start.year + 1, period.start.month, 1)
    return period.next(), P.period_containing(year_later, period.kind, fiscal_start_month)


def request(org_id: int, period_keys: Iterable[str] | None) -> None:
    """Mark periods (None = all) stale, and enqueue a recompute after the transaction commits."""
    keys = {RecomputeRequest.ALL} if period_keys is None else set(period_keys)
    if not keys:
        return
    now = timezone.now()
    RecomputeRequest.objects.bulk_create(
        [RecomputeRequest(org_id=org_id, period=key, requested_at=now) for key in sorted(keys)],
        update_conflicts=True,
        unique_fields=["org", "period"],
        update_fields=["requested_at"],
    )
    transaction.on_commit(lambda: enqueue(org_id))


def deals_changed(org_id: int, opportunity_ids: Iterable[int] | None) -> None:
    """Log changed opportunities (None = possibly every deal, e.g. after a bulk write) for the workers
    that keep an organisation's deals in memory; in the caller's transaction."""
    ids: list[int | None] = [None] if opportunity_ids is None else [*sorted(set(opportunity_ids))]
    DealChange.objects.bulk_create([DealChange(org_id=org_id, opportunity_id=pk) for pk in ids])


def enqueue(org_id: int, force: bool = False) -> bool:
    """Send the recompute task unless one is already pending for the organisation.

    ``force`` sends it even when a pending flag is set (the sweep: the pending message may be lost).
    """
    if not force and not getattr(settings, "SCORECARD_AUTO_RECOMPUTE", True):
        return False
    if not cache.add(pending_key(org_id), "1", timeout=PENDING_TTL) and not force:
        return False
    app.tasks[RECOMPUTE_TASK].delay(org_id)
    return True


def settling(org_id: int) -> bool:
    """True while a burst of changes is still arriving (only when tasks go through a broker)."""
    settle = settings.SCORECARD_RECOMPUTE_SETTLE_SECONDS
    if app.conf.task_always_eager or settle <= 0:
        return False
    times = RecomputeRequest.objects.filter(org_id=org_id).aggregate(
        first=Min("requested_at"), last=Max("requested_at")
    )
    if times["last"] is None:
        return False
    now = timezone.now()
    quiet = (now - times["last"]).total_seconds() >= settle
    overdue = (now - times["first"]).total_seconds() >= settings.SCORECARD_RECOMPUTE_MAX_WAIT_SECONDS
    return not quiet and not overdue


def sweep() -> list[int]:
    """Enqueue a recompute for every organisation with stale periods (after a crash or a lost message)."""
    org_ids = sorted(set(RecomputeRequest.objects.values_list("org_id", flat=True)))
    return [org_id for org_id in org_ids if enqueue(org_id, force=True)]


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
