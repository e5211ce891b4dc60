"""Keeping stored rollups fresh: which periods a change affects, and one deduplicated recompute per org.

A change marks periods stale (durable ``RecomputeRequest`` rows) and, after the transaction commits,
enqueues the recompute task unless one is already pending for the organisation. The task
(``services.rollups_recompute_pending``) clears the pending flag when it starts, so a burst of edits costs
at most one running and one pending recompute. A per-organisation lock keeps two workers from
recomputing one organisation at once; a run deletes only the requests it read, as it read them (a
request made or re-stamped meanwhile stays for the next run). Recompute tasks go to the organisation's
shard queue, so one long-lived worker process keeps its deals warm.
"""

from __future__ import annotations

import contextvars
import random
import secrets
import threading
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from django.db import transaction
from django.db.models import Max, Min, Q
from django.utils import timezone

from scorecard import periods as P
from scorecard.celery import app

from . import formula as formula_lang
from .models import KPI, DealChange, InputChange, RecomputeRequest, Source, Transform

# Sent by name: this module sits below the tasks (which call the services that use it).
RECOMPUTE_TASK = "kpis.tasks.recompute_pending"
# Tasks that recompute one organisation (first argument: its id), routed to its shard queue.
SHARDED_TASKS = frozenset({RECOMPUTE_TASK, "kpis.tasks.recompute_org"})

PENDING_TTL = 15 * 60
RUNS_TTL = 24 * 60 * 60


def pending_key(org_id: int) -> str:
    return f"scorecard:recompute:pending:{org_id}"


def lock_key(org_id: int) -> str:
    return f"scorecard:recompute:lock:{org_id}"


def runs_key(org_id: int) -> str:
    return f"scorecard:recompute:runs:{org_id}"


def ran_key(org_id: int) -> str:
    return f"scorecard:recompute:ran:{org_id}"


def runs(org_id: int) -> int:
    """How many recomputes ran for the organisation (kept a day; for monitoring and tests)."""
    return int(cache.get(runs_key(org_id)) or 0)


def count_run(org_id: int) -> None:
    """A run finished: counted, and its time noted (``settling``: the next run waits only in a burst)."""
    cache.set(ran_key(org_id), timezone.now().timestamp(), timeout=RUNS_TTL)
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
    # Robust: the data has committed and the request row is durable, so a failure to enqueue (broker
    # down) or, in the embedded mode, of the recompute itself is logged, never raised into the save.
    transaction.on_commit(lambda: enqueue(org_id), robust=True)


def deals_changed(org_id: int, opportunity_ids: Iterable[int] | None) -> None:
    """Log changed opportunities (None = possibly every deal, e.g. after a bulk write) for the workers
    that keep an organisation's deals in memory; in the caller's transaction."""
    ids: list[int | None] = [None] if opportunity_ids is None else [*sorted(set(opportunity_ids))]
    DealChange.objects.bulk_create([DealChange(org_id=org_id, opportunity_id=pk) for pk in ids])


def inputs_changed(org_id: int) -> None:
    """Log that a measurement or target changed, for the workers that keep them in memory; in the caller's
    transaction."""
    InputChange.objects.create(org_id=org_id)


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
    """True while a burst of changes is still arriving (only when tasks go through a broker).

    Leading and trailing edge: the first change after a quiet spell (no run for the settle time) runs at
    once, so one edit shows without waiting; changes arriving while or just after a run wait until they
    have been quiet for the settle time (at most the maximum wait), so a burst costs one more run."""
    settle = settings.SCORECARD_RECOMPUTE_SETTLE_SECONDS
    if app.conf.task_always_eager or settle <= 0:
        return False
    now = timezone.now()
    ran = cache.get(ran_key(org_id))
    if ran is None or now.timestamp() - float(ran) >= settle:
        return False  # idle: the leading edge
    times = RecomputeRequest.objects.filter(org_id=org_id).aggregate(
        first=Min("requested_at"), last=Max("requested_at")
    )
    if times["last"] is None:
        return False
    quiet = (now - times["last"]).total_seconds() >= settle
    overdue = (now - times["first"]).total_seconds() >= settings.SCORECARD_RECOMPUTE_MAX_WAIT_SECONDS
    return not quiet and not overdue


def sweep(exclude: int | None = None) -> list[int]:
    """Enqueue a recompute for every organisation with stale periods (after a crash or a lost message)."""
    org_ids = sorted(set(RecomputeRequest.objects.exclude(org_id=exclude).values_list("org_id", flat=True)))
    return [org_id for org_id in org_ids if enqueue(org_id, force=True)]


_sweeping: contextvars.ContextVar[bool] = contextvars.ContextVar("recompute_sweeping", default=False)


def sweep_embedded(org_id: int) -> list[int]:
    """In the embedded mode (no beat, no worker), before a run: recompute the other organisations whose
    requests an earlier run left behind (it found their lock taken, or failed). Not from inside such a
    sweep, whose eager runs would otherwise sweep again."""
    if _sweeping.get():
        return []
    reset = _sweeping.set(True)
    try:
        return sweep(exclude=org_id)
    finally:
        _sweeping.reset(reset)


Taken = list[tuple[int, str, datetime]]


def requests_taken(org_id: int) -> Taken:
    """The organisation's stale periods as a run reads them: (id, period, stamp)."""
    return list(RecomputeRequest.objects.filter(org_id=org_id).values_list("pk", "period", "requested_at"))


def requests_done(taken: Taken) -> int:
    """Delete the requests a run read, each only if still as it read it.

    A request made after the read (another id) or re-stamped since (the upsert in ``request``) stays for
    the next run, also when its transaction commits only after the run: on PostgreSQL the DELETE waits
    for an uncommitted re-stamp's row lock and, under READ COMMITTED, re-checks its condition against the
    committed row, whose stamp no longer matches.
    """
    by_stamp: dict[datetime, list[int]] = {}
    for pk, _period, stamp in taken:
        by_stamp.setdefault(stamp, []).append(pk)
    deleted = 0
    for stamp, pks in by_stamp.items():
        for i in range(0, len(pks), 1000):
            deleted += RecomputeRequest.objects.filter(
                Q(pk__in=pks[i : i + 1000]) & Q(requested_at=stamp)
            ).delete()[0]
    return deleted


# --- the organisation's lock -----------------------------------------------------------------------

# Local-memory cache (the embedded mode): compare-and-delete is atomic within the process, which is all
# that cache spans.
_local = threading.Lock()
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


def lock_acquire(org_id: int) -> int | None:
    """Take the organisation's recompute lock; its token (None when another run holds it). The lock
    expires after SCORECARD_RECOMPUTE_LOCK_SECONDS, so a crashed worker's does not last."""
    # An int: Django's Redis cache stores ints unpickled, so the release script compares plain digits.
    token = secrets.randbits(62) + 1
    with _local:
        taken = cache.add(lock_key(org_id), token, timeout=settings.SCORECARD_RECOMPUTE_LOCK_SECONDS)
    return token if taken else None


def lock_release(org_id: int, token: int) -> bool:
    """Release the lock if this token still holds it (it may have expired and been taken by another run:
    that run's lock stays). Atomic: a Lua compare-and-delete on Redis."""
    backend = caches["default"]
    key = lock_key(org_id)
    if isinstance(backend, RedisCache):
        client = backend._cache.get_client(key, write=True)
        return bool(client.eval(_RELEASE, 1, backend.make_and_validate_key(key), str(token)))
    with _local:
        if backend.get(key) != token:
            return False
        backend.delete(key)
        return True


def pending_clear(org_id: int) -> None:
    cache.delete(pending_key(org_id))


# --- routing and retries ---------------------------------------------------------------------------


def queue_for(org_id: int) -> str:
    """The organisation's shard queue: each is consumed by one single-process worker, so consecutive
    recomputes of an organisation land in the process that kept its deals warm."""
    shards = max(1, settings.SCORECARD_RECOMPUTE_SHARDS)
    return f"{settings.SCORECARD_RECOMPUTE_QUEUE}-{org_id % shards}"


def route(name: str, args: Any, kwargs: Any, options: Any, task: Any = None, **kw: Any) -> dict | None:
    """Celery router (``CELERY_TASK_ROUTES``): an organisation's recompute tasks to its shard queue."""
    if name not in SHARDED_TASKS:
        return None
    org_id = args[0] if args else (kwargs or {}).get("org_id")
    return None if org_id is None else {"queue": queue_for(int(org_id))}


def retry_delay(retries: int, *, cap: float = 60.0, rng: Callable[[], float] | None = None) -> float:
    """Seconds before retrying a run that found the lock taken: doubling from 1 s with each retry, at
    most ``cap``, and jittered into its upper half so waiting tasks do not retry in step."""
    ceiling = min(cap, 2.0 ** min(retries, 32))
    return ceiling / 2 + (rng or random.random)() * ceiling / 2


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
