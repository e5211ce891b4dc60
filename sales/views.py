"""Views of the sales app: thin (parse, check access, call a service or selector, render), each behind
``@membership_required`` (scorecard/decorators.py), templates in templates/sales/.

The admin's product catalog (``/manage/products/``; urls in ``manage_urls.py``): list, add, edit, retire.
Deal entry: the list (a rep's own deals; a manager's subtree, filtered by rep; read-only for viewers),
and create, edit and delete, inline with htmx or as pages of their own (scorecard/entry.py); the
account search behind the deal form's account picker."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from scorecard import access, entry, locks
from scorecard.decorators import MembershipRequest, admin_required, membership_required
from scorecard.forms import add_service_errors
from scorecard.models import Role

from . import selectors, services
from .forms import OpportunityForm, ProductForm
from .models import Account, Opportunity, Product, Stage

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


LIST = "sales/opportunities.html"
FORM = "sales/opportunity_form.html"
DELETE = "sales/opportunity_delete.html"


def _rows(request: MembershipRequest):
    return lambda rep: selectors.entry_opportunities(request.membership, rep)


def _saved(request: MembershipRequest, message: str) -> HttpResponse:
    return entry.saved(
        request, message, template=LIST, list_name="sales:opportunity_list", rows=_rows(request)
    )


@membership_required
def opportunity_list(request: MembershipRequest) -> HttpResponse:
    return entry.render_list(request, LIST, reverse("sales:opportunity_list"), _rows(request))


@membership_required
def opportunity_create(request: MembershipRequest) -> HttpResponse:
    m = request.membership
    entry.require_write(entry.may_enter(request))
    rep = m.rep if m.role == Role.REP else None
    opportunity = Opportunity(org=m.org, rep=rep)
    initial = {"created_date": timezone.localdate(), "stage": Stage.PROSPECTING}
    return _edit(request, opportunity, initial=initial)


@membership_required
def opportunity_edit(request: MembershipRequest, pk: int) -> HttpResponse:
    opportunity, may_write = access.get_opportunity_for(request, pk)
    entry.require_write(may_write)
    return _edit(request, opportunity)


def _edit(request: MembershipRequest, opportunity: Opportunity, initial=None) -> HttpResponse:
    creating = opportunity.pk is None
    data = request.POST if request.method == "POST" else None
    form = OpportunityForm(data, instance=opportunity, initial=initial, membership=request.membership)

    def save() -> Opportunity:
        return services.opportunity_save(
            opportunity=form.instance,
            products=form.cleaned_data["products"],
            deliverables=form.cleaned_data["deliverables"],
        )

    if entry.saved_through(form, save):
        verb = "added" if creating else "saved"
        return _saved(request, f"Deal {opportunity.external_id} {verb}.")
    locked = "" if form.is_bound and form.non_field_errors() else _locked(opportunity)
    context = {"form": form, "opportunity": opportunity, "creating": creating, "locked": locked}
    return entry.render_form(request, FORM, context, invalid=data is not None)


def _locked(opportunity: Opportunity) -> str:
    """Said up front when the stored deal closed in a locked period (the service refuses any change)."""
    if opportunity.pk is None:
        return ""
    stored_close = Opportunity.objects.filter(pk=opportunity.pk).values_list("close_date", flat=True).first()
    lock = locks.lock_covering_day(opportunity.org, stored_close) if stored_close else None
    return locks.lock_message(lock, services.LOCKED) if lock else ""


@membership_required
def opportunity_delete(request: MembershipRequest, pk: int) -> HttpResponse:
    opportunity, may_write = access.get_opportunity_for(request, pk)
    entry.require_write(may_write)
    errors: list[str] = []
    if request.method == "POST":
        try:
            services.opportunity_delete(opportunity=opportunity)
        except ValidationError as exc:
            errors = exc.messages
        else:
            return _saved(request, f"Deal {opportunity.external_id} deleted.")
    context = {"opportunity": opportunity, "errors": errors, "locked": "" if errors else _locked(opportunity)}
    return entry.render_form(request, DELETE, context, invalid=bool(errors))


@membership_required
def account_search(request: MembershipRequest) -> JsonResponse:
    """``/sales/accounts/search/?q=``: the accounts whose name contains ``q``, for the deal form's
    account picker (static/js/account_picker.js), as ``{"results": [{"id", "name", "detail"}]}``. Whoever
    may enter deals may search; the organisation's accounts only."""
    entry.require_write(entry.may_enter(request))
    text = request.GET.get("q", "")[: Account._meta.get_field("name").max_length]
    accounts = selectors.account_search(request.membership.org, text)
    results = [
        {"id": a.pk, "name": a.name, "detail": " · ".join(filter(None, (a.sector, a.country)))}
        for a in accounts
    ]
    return JsonResponse({"results": results})
