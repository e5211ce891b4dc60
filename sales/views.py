"""Views of the sales app: thin (parse, check access, call a service or selector, render), each behind
``@membership_required`` (scorecard/decorators.py), templates in templates/sales/.

The admin's product catalog (``/manage/products/``; urls in ``manage_urls.py``): list, add, edit, retire.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from scorecard.decorators import MembershipRequest, admin_required
from scorecard.forms import add_service_errors

from . import selectors, services
from .forms import ProductForm
from .models import Product

PRODUCTS_PER_PAGE = 50


def _product(request: MembershipRequest, pk: Any) -> Product:
    """One of the organisation's products (another organisation's is 404)."""
    try:
        return Product.objects.get(org=request.membership.org, pk=int(pk))
    except (Product.DoesNotExist, TypeError, ValueError):
        raise Http404("No such product.") from None


@admin_required
def manage_products(request: MembershipRequest) -> HttpResponse:
    """``/manage/products/``: the catalog (searchable, paged) and adding a product."""
    org = request.membership.org
    form = ProductForm(prefix="add")
    status = 200
    if request.method == "POST":
        form = ProductForm(request.POST, prefix="add")
        if form.is_valid():
            try:
                product = services.product_create(org=org, **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc, "name")
            else:
                messages.success(request, f"{product.name} is in the catalog.")
                return redirect("manage_products")
        status = 400
    query = request.GET.get("q", "").strip()
    page = Paginator(selectors.product_list(org, query=query), PRODUCTS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    context = {"page": page, "query": query, "form": form, "today": timezone.localdate()}
    return render(request, "sales/manage_products.html", context, status=status)


@admin_required
def manage_product(request: MembershipRequest, pk: int) -> HttpResponse:
    """``/manage/products/<pk>/``: edit a product, retire it or offer it again."""
    product = _product(request, pk)
    form = ProductForm(
        prefix="edit",
        initial={
            "name": product.name,
            "line": product.line,
            "list_price": product.list_price,
            "description": product.description,
        },
    )
    status = 200
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "retire":
            services.product_retire(product=product, on=timezone.localdate())
            messages.success(request, f"{product.name} is retired: no longer offered for new deals.")
            return redirect("manage_product", pk=product.pk)
        if action == "reinstate":
            services.product_reinstate(product=product)
            messages.success(request, f"{product.name} is offered again.")
            return redirect("manage_product", pk=product.pk)
        form = ProductForm(request.POST, prefix="edit")
        if form.is_valid():
            try:
                services.product_update(product=product, **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc, "name")
            else:
                messages.success(request, f"{product.name} is saved.")
                return redirect("manage_product", pk=product.pk)
        status = 400
        product.refresh_from_db()
    deal_count = product.opportunities.count()
    context = {"product": product, "form": form, "deal_count": deal_count, "today": timezone.localdate()}
    return render(request, "sales/manage_product.html", context, status=status)
