"""End to end in Chromium: an admin adds a formula KPI in the scorecard designer — the live check names a
syntax error as it is typed, then previews the value at the root — saves it with a reason, and the
scorecard shows the new KPI with that value. axe finds no serious or critical violation."""

from __future__ import annotations

from datetime import date

import pytest

from kpis.models import KPI
from kpis.services import rollups_recompute
from sales.models import Opportunity, Stage
from scorecard.templatetags.scorecard_format import kpi_value
from tests.browser.helpers import assert_accessible, sign_in

pytestmark = pytest.mark.browser
pytest_plugins = ["tests.conftest_personas"]

PERIOD = "2024-Q1"  # the quarter of the personas' won deals


def test_an_admin_adds_a_formula_kpi_and_the_scorecard_shows_it(transactional_db, world, live_server, page):
    rollups_recompute(org=world.org, today=date.today())
    won = sum(
        o.amount
        for o in Opportunity.objects.filter(
            org=world.org, stage=Stage.WON, close_date__range=(date(2024, 1, 1), date(2024, 3, 31))
        )
    )
    expected = kpi_value(float(won) / 2, "currency", world.org.currency)
    objective = KPI.objects.get(org=world.org, slug="won_revenue").objective

    sign_in(page, live_server, "ada")
    page.goto(f"{live_server.url}/manage/scorecard/")
    assert_accessible(page)
    page.get_by_role("link", name=f"+ Add a KPI to {objective.name}").click()
    page.get_by_label("Name", exact=True).fill("Half of won revenue")
    page.get_by_label("Slug").fill("half_won_revenue")
    page.get_by_label("Source").select_option("formula")
    page.get_by_label("Unit").select_option("currency")
    formula = page.get_by_label("Formula")
    formula.fill("won_revenue / (2")
    page.locator("#formula-check").get_by_text("Not yet:").wait_for()
    # The preview is of the period shown on the scorecard by default (the current quarter); ask for 2024-Q1.
    page.evaluate(
        "u => document.querySelector('[name=formula]').setAttribute('hx-post', u)",
        f"/manage/scorecard/formula-check/?period={PERIOD}",
    )
    page.evaluate("() => htmx.process(document.querySelector('[name=formula]'))")
    formula.fill("won_revenue / 2")
    page.locator("#formula-check").get_by_text("Valid.").wait_for()
    assert expected in page.locator("#formula-check").inner_text()
    assert_accessible(page)
    page.get_by_label("Reason for the change").fill("Half goes to the partner")
    with page.expect_navigation():
        page.get_by_role("button", name="Save").click()
    assert "Saved Half of won revenue" in page.content()

    rollups_recompute(org=world.org, today=date.today())  # what the saved change requests, done now
    page.goto(f"{live_server.url}/?period={PERIOD}&territory={world.org.root_territory().pk}")
    row = page.get_by_role("row", name="Half of won revenue")
    assert expected in row.inner_text()
