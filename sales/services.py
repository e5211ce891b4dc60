"""Writes for deals: every page that creates, edits or deletes an opportunity goes through here."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from scorecard import locks

from .models import Deliverable, Opportunity, Product

LOCKED = "deals closing in it cannot be added, changed or deleted"


@transaction.atomic
def opportunity_save(
    *,
    opportunity: Opportunity,
    products: Iterable[Product] | None = None,
    deliverables: Iterable[Deliverable] | None = None,
) -> Opportunity:
    """Validate and store a new or changed opportunity (and its products and deliverables when given).

    Refused with :class:`scorecard.locks.PeriodLocked` when the deal closes, or closed before the
    change, in a locked period.
    """
    stored_close = (
        Opportunity.objects.filter(pk=opportunity.pk).values_list("close_date", flat=True).first()
        if opportunity.pk
        else None
    )
    locks.refuse_locked_days(opportunity.org, [stored_close, opportunity.close_date], LOCKED)
    opportunity.full_clean()
    opportunity.save()
    if products is not None:
        opportunity.products.set(products)
    if deliverables is not None:
        opportunity.deliverables.set(deliverables)
    return opportunity


@transaction.atomic
def opportunity_delete(*, opportunity: Opportunity) -> None:
    """Delete an opportunity, unless it closed in a locked period."""
    stored_close = Opportunity.objects.filter(pk=opportunity.pk).values_list("close_date", flat=True).first()
    locks.refuse_locked_days(opportunity.org, [stored_close], LOCKED)
    opportunity.delete()
