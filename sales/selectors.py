"""Reads for opportunities, always starting from what the membership may see (``scorecard.access``)."""

from __future__ import annotations

from django.db.models import Count, Q

from scorecard import access
from scorecard.models import Membership
from territories.models import Rep

from .models import CLOSED_STAGES, Stage


def rep_opportunity_counts(m: Membership, rep: Rep) -> dict[str, int]:
    """The rep's visible opportunities by state: total, open, won, lost (one query)."""
    return (
        access.visible_opportunities(m)
        .filter(rep=rep)
        .aggregate(
            total=Count("pk"),
            open=Count("pk", filter=~Q(stage__in=CLOSED_STAGES)),
            won=Count("pk", filter=Q(stage=Stage.WON)),
            lost=Count("pk", filter=Q(stage=Stage.LOST)),
        )
    )
