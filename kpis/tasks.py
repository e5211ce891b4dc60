from __future__ import annotations

from celery import shared_task

from scorecard.models import Organization

from .services import rollups_recompute


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def recompute_org(org_id: int, periods: list[str] | None = None) -> int:
    """Recompute the stored rollups of one organisation (all periods with data, or the given keys)."""
    org = Organization.objects.get(pk=org_id)
    return rollups_recompute(org=org, period_keys=periods)
