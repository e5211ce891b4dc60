"""/manage/products/: admins only; add, edit and retire products; a retired product keeps its deals and
is no longer offered; another organisation's products are 404."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from kpis.models import RecomputeRequest
from sales.models import Product
from sales.selectors import products_offered
from sales.services import product_create
from tests.form_helpers import XSS, XSS_ESCAPED, error_beside

pytest_plugins = ["tests.conftest_personas"]

LIST = reverse("manage_products")


def _product(world, name="Widget", line="Hardware", price="100.00", org=None):
    return product_create(org=org or world.org, name=name, line=line, list_price=Decimal(price))


@pytest.mark.parametrize("persona", ["manager", "rep", "viewer"])
def test_only_admins_open_the_catalog_or_change_it(world, login, persona):
    client = login(persona)
    product = _product(world)
    assert client.get(LIST).status_code == 403
    assert client.get(reverse("manage_product", args=[product.pk])).status_code == 403
    assert client.post(LIST, {"add-name": "New", "add-line": "X"}).status_code == 403
    assert client.post(reverse("manage_product", args=[product.pk]), {"action": "retire"}).status_code == 403
    assert Product.objects.get(pk=product.pk).retired_on is None
    assert not Product.objects.filter(name="New").exists()


def test_another_organisations_product_is_404(world, login):
    theirs = _product(world, name="Globex Gizmo", org=world.other_org)
    client = login("admin")
    assert client.get(reverse("manage_product", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("manage_product", args=[theirs.pk]), {"action": "retire"}).status_code == 404
    assert Product.objects.get(pk=theirs.pk).retired_on is None
    assert "Globex Gizmo" not in client.get(LIST).content.decode()


def test_an_admin_adds_and_edits_a_product(world, login):
    client = login("admin")
    response = client.post(
        LIST, {"add-name": "Widget", "add-line": "Hardware", "add-list_price": "1250.50"}, follow=True
    )
    product = Product.objects.get(org=world.org, name="Widget")
    assert (product.line, product.list_price) == ("Hardware", Decimal("1250.50"))
    assert "Widget is in the catalog." in response.content.decode()
    assert "1,250.50" in response.content.decode()
    response = client.post(
        reverse("manage_product", args=[product.pk]),
        {"action": "edit", "edit-name": "Widget Pro", "edit-line": "Hardware", "edit-list_price": ""},
    )
    assert response.status_code == 302
    product.refresh_from_db()
    assert (product.name, product.list_price) == ("Widget Pro", None)


@pytest.mark.parametrize(
    ("fields", "field_id", "message"),
    [
        ({"add-name": "Widget", "add-line": "Other"}, "id_add-name", "already a product called Widget"),
        ({"add-name": "Gadget", "add-line": ""}, "id_add-line", "This field is required."),
        (
            {"add-name": "Gadget", "add-line": "X", "add-list_price": "-1"},
            "id_add-list_price",
            "greater than or equal to 0",
        ),
        (
            {"add-name": "Gadget", "add-line": "X", "add-list_price": "12abc"},
            "id_add-list_price",
            "Enter a number.",
        ),
        (
            {"add-name": "Gadget", "add-line": "X", "add-list_price": "1.005"},
            "id_add-list_price",
            "2 decimal places",
        ),
    ],
)
def test_a_bad_product_is_refused_beside_the_field(world, login, fields, field_id, message):
    _product(world)
    response = login("admin").post(LIST, fields)
    assert response.status_code == 400
    assert message in error_beside(response.content.decode(), field_id)
    assert Product.objects.filter(org=world.org).count() == 1


def test_a_duplicate_name_is_refused_when_editing_too(world, login):
    widget, gadget = _product(world), _product(world, name="Gadget")
    response = login("admin").post(
        reverse("manage_product", args=[gadget.pk]),
        {"action": "edit", "edit-name": "Widget", "edit-line": "X"},
    )
    assert response.status_code == 400
    assert "already a product called Widget" in error_beside(response.content.decode(), "id_edit-name")
    assert (
        Product.objects.get(pk=gadget.pk).name == "Gadget"
        and Product.objects.get(pk=widget.pk).line == "Hardware"
    )


def test_retiring_a_product_keeps_its_deals_and_takes_it_out_of_the_pickers(world, login):
    product = _product(world)
    deal = world.opportunities["nora"]
    deal.products.add(product)
    RecomputeRequest.objects.all().delete()
    client = login("admin")
    response = client.post(reverse("manage_product", args=[product.pk]), {"action": "retire"}, follow=True)
    product.refresh_from_db()
    today = timezone.localdate()
    assert product.retired_on is not None
    assert list(deal.products.all()) == [product]
    assert product not in products_offered(world.org, today)
    assert "no longer offered for new deals" in response.content.decode()
    assert not RecomputeRequest.objects.filter(org=world.org).exists()  # no figure depends on it
    client.post(reverse("manage_product", args=[product.pk]), {"action": "reinstate"})
    assert product in products_offered(world.org, today)


def test_a_product_name_with_markup_is_shown_escaped(world, login):
    product = _product(world, name=XSS, line=XSS)
    client = login("admin")
    for url in (LIST, reverse("manage_product", args=[product.pk])):
        html = client.get(url).content.decode()
        assert XSS not in html and XSS_ESCAPED in html


def test_the_catalog_reads_a_bounded_number_of_queries(world, login, django_assert_max_num_queries):
    products = [_product(world, name=f"P{i:03d}", line=f"Line {i % 7}") for i in range(80)]
    world.opportunities["nora"].products.add(*products[:30])
    client = login("admin")
    with django_assert_max_num_queries(15):
        response = client.get(LIST)
    html = response.content.decode()
    assert "80 products" in html and "Page 1 of 2" in html
    with django_assert_max_num_queries(15):
        assert client.get(reverse("manage_product", args=[products[0].pk])).status_code == 200
