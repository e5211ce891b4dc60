from __future__ import annotations

from datetime import date

from celery import shared_task
from celery.signals import worker_ready
from django.conf import settings

from scorecard.models import Organization

from . import recompute
from .services import Later, rollups_recompute, rollups_recompute_pending

# Waiting retries are bounded by time, not count: settling by SCORECARD_RECOMPUTE_MAX_WAIT_SECONDS, the
# lock by its timeout. (Celery reads ``retry(max_retries=None)`` as "the task's default", here 10, which
# ended a long burst's recompute with MaxRetriesExceededError after ten settling retries.)
WAITING_RETRIES = 100_000


@shared_task(bind=True, acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=10)
def recompute_pending(self, org_id: int, locked: int = 0) -> int:
    """Recompute the stale periods of one organisation. While changes are still arriving it waits the
    settle time; while another run holds the lock it retries with a growing, jittered backoff (``locked``:
    how many times it found the lock taken, counted apart from the settling retries of a long burst).
    Run eagerly (the embedded mode) it never retries: that would raise into the save that enqueued it."""
    try:
        outcome = rollups_recompute_pending(org_id, embedded=bool(self.request.is_eager))
    except Exception:
        # The pending flag stands for this task, which is failing: the next change must enqueue anew.
        recompute.pending_clear(org_id)
        raise
    if outcome is Later.SETTLING:
        countdown = settings.SCORECARD_RECOMPUTE_SETTLE_SECONDS
        raise self.retry(countdown=countdown, max_retries=WAITING_RETRIES)
    if outcome is Later.LOCKED:
        countdown = recompute.retry_delay(locked)
        raise self.retry(countdown=countdown, kwargs={"locked": locked + 1}, max_retries=WAITING_RETRIES)
    return outcome


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def recompute_org(org_id: int, periods: list[str] | None = None, today: str | None = None) -> int:
    """Recompute the stored rollups of one organisation now (all periods with data, or the given keys),
    as of ``today`` (ISO date; default: the real date)."""
    org = Organization.objects.get(pk=org_id)
    as_of = date.fromisoformat(today) if today else None
    return rollups_recompute(org=org, period_keys=periods, today=as_of)


@shared_task
def recompute_sweep() -> list[int]:
    """Re-enqueue organisations whose stale periods are waiting (a crashed worker, a lost message)."""
    return recompute.sweep()


@worker_ready.connect
def _sweep_when_a_worker_starts(sender=None, **kwargs) -> None:
    recompute_sweep.delay()


@shared_task
def recompute_all_nightly() -> int:
    """Nightly full recompute of every organisation (scheduled with beat)."""
    count = 0
    for org_id in Organization.objects.values_list("pk", flat=True):
        recompute.request(org_id, None)
        count += 1
    return count
