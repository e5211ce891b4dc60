"""Writes for the organisation core."""

from __future__ import annotations

from django.db import router, transaction
from django.db.models.deletion import Collector

from .models import Membership, Organization
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
