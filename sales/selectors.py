"""Reads for opportunities, starting from what the membership may see (``scorecard.access``), or for the
admin's panels from the whole organisation."""

from __future__ import annotations

from datetime import date

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from scorecard import access
from scorecard.models import Membership, Organization
from territories.models import Rep, TerritoryAssignment

from .models import CLOSED_STAGES, Opportunity, Product, Stage


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


def unassigned_deals(*, org: Organization, today: date) -> dict[str, int]:
    """How many deals the rollups credit to the root for want of a territory (DESIGN §4, decisions): a
    won or lost deal whose rep had no assignment on its close date, an open deal whose rep has none today,
    a rep-less deal — each only when the deal names no credited territory either. For the admin's
    data-quality panel: ``{"closed": …, "open": …, "total": …}`` (one query)."""

    def assigned_on(day) -> Exists:
        return Exists(
            TerritoryAssignment.objects.filter(rep=OuterRef("rep"), start__lte=day).filter(
                Q(end__isnull=True) | Q(end__gte=day)
            )
        )

    counts = (
        Opportunity.objects.filter(org=org, territory__isnull=True)
        .annotate(assigned_at_close=assigned_on(OuterRef("close_date")), assigned_today=assigned_on(today))
        .aggregate(
            closed=Count(
                "pk",
                filter=Q(stage__in=CLOSED_STAGES, close_date__isnull=False, assigned_at_close=False),
            ),
            open=Count("pk", filter=~Q(stage__in=CLOSED_STAGES) & Q(assigned_today=False)),
        )
    )
    return {**counts, "total": counts["closed"] + counts["open"]}


def products_offered(org: Organization, today: date) -> QuerySet[Product]:
    """The products a picker offers for a deal: those not retired by ``today``. A deal keeps a retired
    product it already names (add those to the picker's choices when editing it)."""
    return Product.objects.filter(org=org).filter(Q(retired_on__isnull=True) | Q(retired_on__gt=today))


def product_list(org: Organization, *, query: str = "") -> QuerySet[Product]:
    """The catalog by line and name (``query``: part of the name or line), each with its deal count."""
    products = Product.objects.filter(org=org)
    if query:
        products = products.filter(Q(name__icontains=query) | Q(line__icontains=query))
    return products.annotate(deal_count=Count("opportunities")).order_by("line", "name")
