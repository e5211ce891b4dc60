"""Reads for opportunities, starting from what the membership may see (``scorecard.access``), or for the
admin's panels from the whole organisation."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.db.models import Case, Count, Exists, IntegerField, OuterRef, Q, QuerySet, Value, When
from django.db.models.functions import Lower
from django.utils import timezone

from scorecard import access
from scorecard.models import Membership, Organization, Role
from territories.models import Rep, TerritoryAssignment

from .models import CLOSED_STAGES, Account, Opportunity, Product, Stage

STALE_AFTER_DAYS = 30  # an open deal nobody updated for this long needs attention
ACCOUNT_MATCHES = 20  # what the deal form's account picker shows for one search


def entry_opportunities(m: Membership, rep: Rep | None = None) -> QuerySet[Opportunity]:
    """The deals listed on the entry page, most recently updated first: a rep's own (not those they only
    identified for someone else), else every visible deal, or one visible rep's."""
    qs = access.visible_opportunities(m)
    if m.role == Role.REP:
        qs = qs.filter(rep_id=m.rep_id or 0)
    elif rep is not None:
        qs = qs.filter(rep=rep)
    return qs.select_related("rep", "account").order_by("-updated_at", "-pk")


def deals_needing_attention(m: Membership, rep: Rep, today: date) -> list[Opportunity]:
    """The rep's open deals with no update for ``STALE_AFTER_DAYS`` days or a close date in the past,
    oldest close date first; each carries ``overdue`` and ``stale`` flags for the page (one query)."""
    stale_before = timezone.make_aware(datetime.combine(today - timedelta(days=STALE_AFTER_DAYS), time.min))
    deals = list(
        access.visible_opportunities(m)
        .filter(rep=rep)
        .exclude(stage__in=CLOSED_STAGES)
        .filter(Q(close_date__lt=today) | Q(updated_at__lt=stale_before))
        .select_related("account")
        .order_by("close_date", "external_id")
    )
    for deal in deals:
        deal.overdue = deal.close_date is not None and deal.close_date < today  # type: ignore[attr-defined]
        deal.stale = deal.updated_at < stale_before  # type: ignore[attr-defined]
    return deals


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


def account_search(org: Organization, text: str, *, limit: int = ACCOUNT_MATCHES) -> list[Account]:
    """The organisation's accounts whose name contains ``text`` (any case), for the deal form's picker:
    names starting with it first, then those with a word starting with it, then the rest, each by name;
    at most ``limit``. No text, no accounts (the picker never lists the whole organisation)."""
    text = text.strip()
    if not text:
        return []
    rank = Case(
        When(name__istartswith=text, then=Value(0)),
        When(name__icontains=f" {text}", then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    matches = Account.objects.filter(org=org, name__icontains=text).annotate(rank=rank)
    return list(matches.order_by("rank", Lower("name"), "pk")[:limit])
