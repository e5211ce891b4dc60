"""Deleting an organisation deletes its opportunities first (they point at protected reps and products)."""

from __future__ import annotations

from django.dispatch import receiver

from scorecard.signals import organization_deleting

from .models import Opportunity


@receiver(organization_deleting)
def collect_opportunities(sender, org, collect, **kwargs) -> None:
    collect(Opportunity.objects.filter(org=org))
