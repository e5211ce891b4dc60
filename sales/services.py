"""Writes for deals (every page that creates, edits or deletes an opportunity goes through here) and for
the product catalog."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from scorecard import locks

from .models import Deliverable, Opportunity, Product

LOCKED = "deals closing in it cannot be added, changed or deleted"
NEW_ID_PREFIX = "D-"


def new_external_id() -> str:
    """A key for a deal entered in the app rather than imported from a source system."""
    return f"{NEW_ID_PREFIX}{secrets.token_hex(5).upper()}"


@transaction.atomic
def opportunity_save(
    *,
    opportunity: Opportunity,
    products: Iterable[Product] | None = None,
    deliverables: Iterable[Deliverable] | None = None,
) -> Opportunity:
    """Validate and store a new or changed opportunity (and its products and deliverables when given);
    one without an external id gets a new one.

    Refused with :class:`scorecard.locks.PeriodLocked` when the deal closes, or closed before the
    change, in a locked period.
    """
    stored_close = (
        Opportunity.objects.filter(pk=opportunity.pk).values_list("close_date", flat=True).first()
        if opportunity.pk
        else None
    )
    locks.refuse_locked_days(opportunity.org, [stored_close, opportunity.close_date], LOCKED)
    products = None if products is None else list(products)
    deliverables = None if deliverables is None else list(deliverables)
    _refuse_foreign(opportunity, products or [], deliverables or [])
    if not opportunity.external_id:
        opportunity.external_id = new_external_id()
    opportunity.full_clean()
    opportunity.save()
    if products is not None:
        opportunity.products.set(products)
    if deliverables is not None:
        opportunity.deliverables.set(deliverables)
    return opportunity


def _refuse_foreign(
    opportunity: Opportunity, products: list[Product], deliverables: list[Deliverable]
) -> None:
    """The deal's products and deliverables belong to its organisation (the forms offer nothing else;
    this is the backstop for any other caller). Its foreign keys are ``Opportunity.clean``'s."""
    related: dict[str, list[Any]] = {
        "products": products,
        "deliverables": deliverables,
    }
    errors = {
        field: "Choose one of your organisation's entries."
        for field, objects in related.items()
        if any(obj is not None and obj.org_id != opportunity.org_id for obj in objects)
    }
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def opportunity_delete(*, opportunity: Opportunity) -> None:
    """Delete an opportunity, unless it closed in a locked period."""
    stored_close = Opportunity.objects.filter(pk=opportunity.pk).values_list("close_date", flat=True).first()
    locks.refuse_locked_days(opportunity.org, [stored_close], LOCKED)
    opportunity.delete()


# --- the product catalog ---------------------------------------------------------------------------


def _product_checked(product: Product) -> Product:
    product.name, product.line = product.name.strip(), product.line.strip()
    clash = Product.objects.filter(org_id=product.org_id, name=product.name).exclude(pk=product.pk)
    if clash.exists():
        raise ValidationError({"name": f"There is already a product called {product.name}."})
    product.full_clean()
    return product


@transaction.atomic
def product_create(
    *, org, name: str, line: str, list_price: Decimal | None = None, description: str = ""
) -> Product:
    """A new product of the catalog (its line counts in the cross-brand KPIs)."""
    product = Product(org=org, name=name, line=line, list_price=list_price, description=description)
    _product_checked(product).save()
    return product


@transaction.atomic
def product_update(
    *, product: Product, name: str, line: str, list_price: Decimal | None, description: str = ""
) -> Product:
    """Change a product; its deals follow (a new line or list price recomputes the figures)."""
    product.name, product.line, product.list_price, product.description = name, line, list_price, description
    _product_checked(product).save()
    return product


@transaction.atomic
def product_retire(*, product: Product, on: date) -> Product:
    """Stop offering a product from ``on``: its deals keep it and every figure stays as it is (a queryset
    update, so no recompute is requested for a change no figure depends on)."""
    Product.objects.filter(pk=product.pk).update(retired_on=on)
    product.retired_on = on
    return product


@transaction.atomic
def product_reinstate(*, product: Product) -> Product:
    Product.objects.filter(pk=product.pk).update(retired_on=None)
    product.retired_on = None
    return product
