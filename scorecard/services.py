"""Writes for the organisation core."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import router, transaction
from django.db.models.deletion import Collector
from django.utils import timezone

from . import periods
from .locks import lock_covering_period
from .models import Membership, Organization, PeriodLock
from .signals import organization_created, organization_deleting


@transaction.atomic
def organization_create(
    *,
    name: str,
    slug: str,
    fiscal_year_start_month: int = 1,
    currency: str = "USD",
    root_name: str | None = None,
) -> Organization:
    """A new organisation with its root territory and the default scorecard template."""
    org = Organization.objects.create(
        name=name, slug=slug, fiscal_year_start_month=fiscal_year_start_month, currency=currency
    )
    # The root territory (territories) and the default scorecard template (kpis).
    organization_created.send(sender=Organization, org=org, root_name=root_name or name)
    return org


@transaction.atomic
def organization_delete(org: Organization) -> None:
    """Delete an organisation and everything in it.

    Foreign keys PROTECT reps, territories and the catalog, so the rows pointing at them go first.
    The collector's origin is the organisation, which tells signal receivers (stale-rollup tracking)
    that the whole organisation is going and there is nothing to recompute.
    """
    leaves = Collector(using=router.db_for_write(Organization), origin=org)
    leaves.collect(Membership.objects.filter(org=org))
    organization_deleting.send(sender=Organization, org=org, collect=leaves.collect)
    leaves.delete()
    org.delete()


@transaction.atomic
def period_lock(*, org: Organization, period: str, user=None, reason: str = "") -> PeriodLock:
    """Lock a period: deals closing in it, and its targets and measurements, may no longer change.

    The period must have ended; one already covered by a lock (itself or a longer period) is refused.
    """
    try:
        span = org.parse_period(period)
    except periods.PeriodError as exc:
        raise ValidationError({"period": str(exc)}) from exc
    if span.end >= timezone.localdate():
        raise ValidationError({"period": f"{span.key} has not ended yet: only closed periods can be locked."})
    covering = lock_covering_period(org, span.key)
    if covering is not None:
        raise ValidationError({"period": f"{span.key} is already locked by the lock on {covering.period}."})
    lock = PeriodLock(org=org, period=span.key, locked_by=user)
    lock._change_reason = reason  # type: ignore[attr-defined]  # django-simple-history reads it
    if user is not None:
        lock._history_user = user  # type: ignore[attr-defined]
    lock.save()
    return lock


@transaction.atomic
def period_unlock(*, lock: PeriodLock, user=None, reason: str) -> None:
    """Lift a lock. Unlocking needs a reason, kept in the lock's change history with who and when."""
    reason = reason.strip()
    if not reason:
        raise ValidationError(
            {"reason": "Say why the period is unlocked: the reason is kept in its history."}
        )
    lock._change_reason = reason  # type: ignore[attr-defined]
    if user is not None:
        lock._history_user = user  # type: ignore[attr-defined]
    lock.delete()
