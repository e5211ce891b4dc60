"""Writes for the organisation core."""

from __future__ import annotations

from django.db import transaction

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
