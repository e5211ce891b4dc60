"""Deleting an organisation deletes its certifications and programme participations first (they point
at protected reps)."""

from __future__ import annotations

from django.dispatch import receiver

from scorecard.signals import organization_deleting

from .models import Certification, ProgramParticipation


@receiver(organization_deleting)
def collect_certifications_and_participations(sender, org, collect, **kwargs) -> None:
    collect(Certification.objects.filter(org=org))
    collect(ProgramParticipation.objects.filter(org=org))
