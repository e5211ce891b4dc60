"""The organisation pages in Chromium: an admin picks a territory in the tree (htmx swaps the editor, the
URL follows), renames it after a refused attempt; every page fits a 390 px phone, its fields have names,
and axe finds no serious or critical violation."""

from __future__ import annotations

import os
import re

import pytest
from axe_playwright_python.sync_playwright import Axe

from sales.services import product_create
from scorecard.models import Membership
from territories.models import Territory
from tests.conftest_personas import PASSWORD

pytestmark = pytest.mark.browser
pytest_plugins = ["tests.conftest_personas"]

SHOTS = os.environ.get("SCORECARD_SCREENSHOTS")  # a directory: save a screenshot of each page there


def _sign_in(page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()


def _serious(page) -> list[tuple[str, str]]:
    violations = Axe().run(page).response["violations"]
    return [(v["id"], v["impact"]) for v in violations if v["impact"] in ("serious", "critical")]


def test_an_admin_renames_a_territory_picked_in_the_tree(transactional_db, world, live_server, page):
    _sign_in(page, live_server, "ada")
    page.goto(f"{live_server.url}/manage/territories/")
    madrid = world.territories["madrid"]
    page.get_by_role("navigation", name=re.compile("territories")).get_by_role("link", name="Madrid").click()
    page.wait_for_url(re.compile(rf"territory={madrid.pk}"))
    assert page.locator("#selected-title").inner_text() == "Acme/Iberia/Madrid"

    page.get_by_label("New name").fill("")
    with page.expect_navigation():
        page.get_by_role("button", name="Rename").click()
    field = page.get_by_label("New name")
    assert field.get_attribute("aria-invalid") == "true"
    assert page.locator("#id_rename-name_error").inner_text() == "This field is required."

    field.fill("Barcelona")
    with page.expect_navigation():
        page.get_by_role("button", name="Rename").click()
    assert "Madrid is now called Barcelona." in page.locator(".messages").inner_text()
    assert Territory.objects.get(pk=madrid.pk).full_name == "Acme/Iberia/Barcelona"
    assert "Renamed Madrid → Barcelona" in page.locator("#territory-panel").inner_text()


def test_the_organisation_pages_fit_a_phone_and_pass_axe(transactional_db, world, live_server, page):
    product = product_create(org=world.org, name="Widget", line="Hardware")
    member = Membership.objects.get(user=world.users["viewer"])
    page.set_viewport_size({"width": 390, "height": 844})
    _sign_in(page, live_server, "ada")
    pages = {
        "territories": f"/manage/territories/?territory={world.territories['nordics'].pk}",
        "reps": "/manage/reps/",
        "rep": f"/manage/reps/{world.reps['nora'].pk}/",
        "users": "/manage/users/",
        "user": f"/manage/users/{member.pk}/",
        "products": "/manage/products/",
        "product": f"/manage/products/{product.pk}/",
        "settings": "/manage/settings/",
        "index": "/manage/",
    }
    for name, path in pages.items():
        page.goto(f"{live_server.url}{path}")
        if SHOTS:
            page.screenshot(path=os.path.join(SHOTS, f"{name}-390.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, name
        unnamed = page.evaluate(
            """[...document.querySelectorAll('main input:not([type=hidden]), main select, main textarea')]
               .filter(el => !el.labels || el.labels.length === 0).map(el => el.name)"""
        )
        assert unnamed == [], name
        assert _serious(page) == [], name
