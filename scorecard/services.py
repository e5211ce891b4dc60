"""Writes for the organisation core."""

from __future__ import annotations

from django.db import router, transaction
from django.db.models.deletion import Collector

from perspectives.template import scorecard_template_create
from territories.services import territory_root_create

from .models import Organization


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
    territory_root_create(org=org, name=root_name or name)
    scorecard_template_create(org)
    return org


@transaction.atomic
def organization_delete(org: Organization) -> None:
    """Delete an organisation and everything in it.

    Foreign keys PROTECT reps, territories and the catalog, so the rows pointing at them go first.
    The collector's origin is the organisation, which tells signal receivers (stale-rollup tracking)
    that the whole organisation is going and there is nothing to recompute.
    """
    from people.models import Certification, ProgramParticipation
    from sales.models import Opportunity
    from territories.models import TerritoryAssignment

    from .models import Membership

    leaves = Collector(using=router.db_for_write(Organization), origin=org)
    for model in (Opportunity, Membership, TerritoryAssignment, Certification, ProgramParticipation):
        leaves.collect(model.objects.filter(org=org))
    leaves.delete()
    org.delete()
