"""End to end: a rep opens "My deals", adds a deal inline (a negative amount is refused beside the field,
then corrected), adds a certification, and sees both listed; axe finds no serious or critical
violation on these pages, and they fit a 390 px phone."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from people.models import Certification, CertificationType
from sales.models import Opportunity, Product
from tests.browser.helpers import assert_accessible, sign_in

pytestmark = pytest.mark.browser
pytest_plugins = ["tests.conftest_personas"]


def test_a_rep_enters_a_deal_and_a_certification_and_sees_them_listed(
    transactional_db, world, live_server, page
):
    Product.objects.create(org=world.org, name="GX Router", line="Networking")
    CertificationType.objects.create(
        org=world.org, name="Cloud Architect", category="product", validity_months=24
    )
    sign_in(page, live_server, "nora")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="My deals").click()
    page.wait_for_url(re.compile(r"/sales/opportunities/$"))
    assert_accessible(page)

    page.get_by_role("link", name="New deal").click()
    editor = page.locator("#entry-editor")
    expect(editor.get_by_role("heading", name="New deal")).to_be_visible()
    assert page.url.endswith("/sales/opportunities/")  # opened in place
    editor.get_by_label("Reference").fill("WEB-1")
    editor.get_by_label("Stage").select_option("proposal")
    editor.get_by_label("Engaged").fill("2024-04-10")
    editor.get_by_label("Close date").fill("2024-09-30")
    editor.get_by_label("Amount").fill("-5")
    editor.get_by_label("GX Router (Networking)").check()
    editor.get_by_role("button", name="Save").click()
    expect(page.locator("#id_amount_error")).to_contain_text("An amount cannot be negative.")
    expect(editor.get_by_label("Amount")).to_have_attribute("aria-invalid", "true")
    assert_accessible(page)

    editor.get_by_label("Amount").fill("12500")
    editor.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Deal WEB-1 added.")
    expect(page.locator("#entry-list").get_by_role("rowheader", name="WEB-1")).to_be_visible()
    deal = Opportunity.objects.get(org=world.org, external_id="WEB-1")
    assert (deal.rep, deal.amount, [p.name for p in deal.products.all()]) == (
        world.reps["nora"],
        12500,
        ["GX Router"],
    )

    page.get_by_role("navigation", name="Records").get_by_role("link", name="Certifications").click()
    page.wait_for_url(re.compile(r"/people/certifications/$"))
    page.get_by_role("link", name="New certification").click()
    editor = page.locator("#entry-editor")
    editor.get_by_label("Certification", exact=True).select_option(label="Cloud Architect")
    editor.get_by_label("Earned").fill("2024-03-15")
    editor.get_by_label("Evidence note").fill("Credential 4711")
    assert_accessible(page)
    editor.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Certification Cloud Architect of Nora Nordin added.")
    row = page.locator("#entry-list").get_by_role("row", name=re.compile("Cloud Architect"))
    expect(row).to_contain_text("15 Mar 2026")  # the type's 24 months of validity
    expect(row).to_contain_text("Credential 4711")
    assert Certification.objects.filter(rep=world.reps["nora"], type__name="Cloud Architect").exists()
    assert_accessible(page)

    page.set_viewport_size({"width": 390, "height": 844})
    for path in ("/sales/opportunities/", "/people/certifications/", "/people/programmes/"):
        page.goto(f"{live_server.url}{path}")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
    page.goto(f"{live_server.url}/sales/opportunities/new/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert_accessible(page)
