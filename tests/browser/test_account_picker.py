"""End to end: a rep edits a deal in place, types part of an account name into the account picker, picks
the second match with the arrow keys and Enter (which does not submit the form), saves, and the list
shows the new account; Escape closes the list, then empties the box, and saving that leaves the deal
without an account. axe finds no serious or critical violation with the list open, on a desktop and on
a 390 px phone."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from sales.models import Account, Opportunity
from tests.browser.helpers import assert_accessible, sign_in

pytestmark = pytest.mark.browser
pytest_plugins = ["tests.conftest_personas"]


def test_a_rep_picks_an_account_with_the_keyboard_and_saves_it(transactional_db, world, live_server, page):
    fjord = Account.objects.create(org=world.org, external_id="A-1", name="Fjord Bank")
    for i, name in enumerate(["Nordic Shipping AS", "Nordlys Energi", "Bergen Nordic Foods", "Oslo Data"]):
        Account.objects.create(org=world.org, external_id=f"B-{i}", name=name, country="Norway")
    Account.objects.create(org=world.other_org, external_id="G-1", name="Nordic Globex")
    deal = world.opportunities["nora"]
    deal.account = fjord
    deal.save()
    sign_in(page, live_server, "nora")
    page.goto(f"{live_server.url}/sales/opportunities/")

    page.get_by_role("link", name="Edit NORA-0").click()
    editor = page.locator("#entry-editor")
    expect(editor.get_by_role("heading", name="Deal NORA-0")).to_be_visible()
    picker = editor.get_by_role("combobox", name="Account")
    expect(picker).to_have_value("Fjord Bank")
    expect(picker).to_have_attribute("aria-expanded", "false")

    picker.fill("")
    picker.press_sequentially("nord")
    listbox = editor.get_by_role("listbox", name="Matching accounts")
    expect(listbox).to_be_visible()
    options = listbox.get_by_role("option")
    expect(options).to_have_count(3)  # prefix matches first, then a word starting with it; not Globex's
    expect(options.nth(0)).to_contain_text("Nordic Shipping AS")
    expect(options.nth(1)).to_contain_text("Nordlys Energi")
    expect(options.nth(2)).to_contain_text("Bergen Nordic Foods")
    expect(picker).to_have_attribute("aria-expanded", "true")
    assert_accessible(page)

    picker.press("ArrowDown")
    picker.press("ArrowDown")
    expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    expect(picker).to_have_attribute("aria-activedescendant", options.nth(1).get_attribute("id") or "")
    picker.press("Enter")
    expect(picker).to_have_value("Nordlys Energi")
    expect(listbox).to_be_hidden()
    expect(picker).to_have_attribute("aria-expanded", "false")
    expect(editor.get_by_role("heading", name="Deal NORA-0")).to_be_visible()  # Enter picked, not saved
    assert Opportunity.objects.get(pk=deal.pk).account == fjord

    editor.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Deal NORA-0 saved.")
    row = page.locator("#entry-list").get_by_role("row", name=re.compile("NORA-0"))
    expect(row).to_contain_text("Nordlys Energi")
    assert Opportunity.objects.get(pk=deal.pk).account.name == "Nordlys Energi"

    page.get_by_role("link", name="Edit NORA-0").click()
    picker = page.locator("#entry-editor").get_by_role("combobox", name="Account")
    expect(picker).to_have_value("Nordlys Energi")
    picker.press("End")
    picker.press_sequentially("x")
    expect(listbox).to_be_visible()
    expect(listbox).to_contain_text("No account matches")
    picker.press("Escape")
    expect(listbox).to_be_hidden()
    expect(picker).to_have_value("Nordlys Energix")
    picker.press("Escape")
    expect(picker).to_have_value("")
    page.locator("#entry-editor").get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Deal NORA-0 saved.")
    expect(page.locator("#entry-list").get_by_role("row", name=re.compile("NORA-0"))).to_contain_text("—")
    assert Opportunity.objects.get(pk=deal.pk).account is None

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/sales/opportunities/{deal.pk}/")
    picker = page.get_by_role("combobox", name="Account")
    picker.press_sequentially("nord")
    expect(page.get_by_role("listbox", name="Matching accounts").get_by_role("option")).to_have_count(3)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert_accessible(page)
