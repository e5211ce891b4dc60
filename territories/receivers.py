"""The territories' part of an organisation's life: its root territory, its assignments on deletion."""

from __future__ import annotations

from django.dispatch import receiver

from scorecard.signals import organization_created, organization_deleting

from .models import TerritoryAssignment
from .services import territory_root_create


@receiver(organization_created)
def create_root_territory(sender, org, root_name: str, **kwargs) -> None:
    territory_root_create(org=org, name=root_name)


@receiver(organization_deleting)
def collect_assignments(sender, org, collect, **kwargs) -> None:
    collect(TerritoryAssignment.objects.filter(org=org))
