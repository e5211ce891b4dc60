"""End to end: a manager signs in, switches period and territory on the scorecard (the URL follows and
the back button restores it), drills from the region down to a rep, and reads the same figures as
``kpi_report``; axe finds no serious accessibility violation; the page fits a 390 px phone. A rep signs
in to their own scorecard; a manager writes a coaching note and ticks it off in place (htmx)."""

from __future__ import annotations

import re

import pytest

from kpis.selectors import report_kpis, report_rows
from kpis.services import rollups_recompute
from scorecard.templatetags.scorecard_format import kpi_value
from tests.browser.helpers import assert_accessible, sign_in

pytestmark = pytest.mark.browser
pytest_plugins = ["tests.conftest_personas"]

PERIOD = "2024-Q1"  # the quarter of the personas' won deals
CHECKED = ("won_revenue", "won_deals", "win_rate")


def _reported(org, scope) -> dict[str, str]:
    """The report's actuals of the checked KPIs, written as the page writes a value in its unit."""
    rows = report_rows(org, PERIOD, [scope], report_kpis(org))
    return {
        row["kpi"]: kpi_value(row["actual"], row["unit"], org.currency)
        for row in rows
        if row["kpi"] in CHECKED
    }


def _shown(page) -> dict[str, str]:
    return {slug: page.get_by_test_id(f"actual-{slug}").inner_text() for slug in CHECKED}


def test_a_manager_switches_period_and_territory_and_drills_down_to_a_rep(
    transactional_db, world, live_server, page
):
    rollups_recompute(org=world.org)
    nordics, stockholm, nora = (
        world.territories["nordics"],
        world.territories["stockholm"],
        world.reps["nora"],
    )
    sign_in(page, live_server, "manny")
    heading = page.get_by_role("heading", level=1)
    assert heading.inner_text() == "Acme/Nordics"

    page.get_by_label("Period", exact=True).select_option(PERIOD)
    page.wait_for_url(re.compile(rf"period={PERIOD}"))
    page.wait_for_selector(f'#scorecard[data-period="{PERIOD}"]')
    assert _shown(page) == _reported(world.org, nordics)
    assert _shown(page)["won_revenue"] == "$2,000"

    page.get_by_label("Territory", exact=True).select_option(str(stockholm.pk))
    page.wait_for_url(re.compile(rf"territory={stockholm.pk}"))
    assert heading.inner_text() == "Acme/Nordics/Stockholm"
    assert page.title().startswith("Scorecard · Acme/Nordics/Stockholm · 2024-Q1")

    page.go_back()
    page.wait_for_url(re.compile(rf"period={PERIOD}$"))
    assert heading.inner_text() == "Acme/Nordics"
    assert page.get_by_label("Period", exact=True).input_value() == PERIOD

    page.get_by_role("region", name="Territories below Nordics").get_by_role("link", name="Stockholm").click()
    page.wait_for_url(re.compile(rf"territory={stockholm.pk}"))
    page.get_by_role("region", name="Reps in Stockholm").get_by_role("link", name="Nora Nordin").click()
    page.wait_for_url(re.compile(rf"rep={nora.pk}"))
    assert heading.inner_text() == "Nora Nordin"
    assert _shown(page) == _reported(world.org, nora)
    crumbs = page.get_by_role("navigation", name="Breadcrumb").get_by_role("link").all_inner_texts()
    assert crumbs == ["Nordics", "Stockholm", "Nora Nordin"]

    page.reload()  # the drilled state is a URL of its own
    assert heading.inner_text() == "Nora Nordin"

    assert_accessible(page)


def test_the_scorecard_fits_a_phone_and_its_controls_have_names(transactional_db, world, live_server, page):
    rollups_recompute(org=world.org)
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, live_server, "vic")
    page.goto(f"{live_server.url}/?period={PERIOD}")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    for name in ("Period", "Territory"):
        assert page.get_by_label(name, exact=True).is_visible()
    page.get_by_role("link", name="vs same period last year").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"compare=last_year"))
    assert page.get_by_role("link", name="vs same period last year").get_attribute("aria-current") == "true"


def test_a_rep_signs_in_to_their_own_scorecard(transactional_db, world, live_server, page):
    rollups_recompute(org=world.org)
    nora = world.reps["nora"]
    sign_in(page, live_server, "nora")
    assert page.get_by_role("heading", level=1).inner_text() == "Nora Nordin"
    page.get_by_label("Period", exact=True).select_option(PERIOD)
    page.wait_for_selector(f'#scorecard[data-period="{PERIOD}"]')
    assert _shown(page) == _reported(world.org, nora)
    quota = page.get_by_role("region", name="Quota attainment")
    assert "No quota set for 2024-Q1" in quota.inner_text()
    assert page.get_by_role("region", name="Coaching notes and action items").is_visible()
    assert page.get_by_role("region", name="Open pipeline").is_visible()
    assert page.get_by_label("Territory", exact=True).count() == 0  # a rep has no other scorecard
    assert page.get_by_role("link", name="Definitions").is_visible()
    assert_accessible(page)

    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert_accessible(page)


def test_a_manager_writes_a_coaching_note_on_a_reps_scorecard_in_place(
    transactional_db, world, live_server, page
):
    rollups_recompute(org=world.org)
    nora = world.reps["nora"]
    sign_in(page, live_server, "manny")
    page.goto(f"{live_server.url}/?period={PERIOD}&rep={nora.pk}")
    panel = page.get_by_role("region", name="Coaching notes and action items")
    url = page.url

    panel.get_by_role("button", name="Add note").click()  # nothing written: the error comes back in place
    page.get_by_role("alert").filter(has_text="Write something.").wait_for()

    panel = page.get_by_role("region", name="Coaching notes and action items")
    panel.get_by_label("Kind").select_option("action")
    panel.get_by_label("About").select_option("kpi:win_rate")
    panel.get_by_label("Note", exact=True).fill("Book two POCs")
    panel.get_by_label("Owner (action items)").select_option(label="Nora Nordin")
    panel.get_by_role("button", name="Add note").click()
    page.get_by_text("Book two POCs", exact=True).wait_for()
    assert page.url == url  # swapped in, not a new page
    panel = page.get_by_role("region", name="Coaching notes and action items")
    assert "Owner: Nora Nordin" in panel.inner_text()
    panel.get_by_role("button", name="Mark done (Book two POCs)").click()
    panel = page.get_by_role("region", name="Coaching notes and action items")
    panel.get_by_role("button", name="Reopen (Book two POCs)").wait_for()
    assert_accessible(page)


def test_the_definitions_page_fits_a_phone_its_kpi_tables_scrolling_in_place(
    transactional_db, world, live_server, page
):
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, live_server, "vic")
    page.goto(f"{live_server.url}/definitions/")
    assert page.locator('.table-wrap[role="region"][aria-label^="KPIs of "]').count() >= 4
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert_accessible(page)
