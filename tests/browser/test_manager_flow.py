"""End to end, one sitting of a regional manager: sign in, pick the quarter and a territory (the browser's
back and forward buttons walk those states), drill from the region down to a rep and climb back up the
breadcrumbs, open a KPI from the scorecard to see its chart and the deals behind the number, read the
strategy map down to an objective's KPIs, and leave the rep a coaching note. On the way, the actual and
target of a few KPIs are what ``manage.py kpi_report --format json`` prints for the same scope and
period, and axe finds no serious or critical violation on any page visited.

tests/browser/test_scorecard.py holds the scorecard's own details (the document title after an htmx
swap, the layout at 390 px, keyboard use of the comparison links); this flow does not repeat them.
"""

from __future__ import annotations

import json
import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from kpis.models import KPI, Note, NoteKind
from kpis.services import rollups_recompute, target_set
from kpis.views.scorecard import shown
from perspectives.models import Objective
from tests.browser.helpers import assert_accessible, sign_in

pytestmark = pytest.mark.browser
pytest_plugins = ["tests.conftest_personas"]

PERIOD = "2024-Q1"  # the quarter of the personas' won deals (tests/factories.py WON_ON)
CHECKED = ("won_revenue", "won_deals", "win_rate")  # win_rate's target is the template's default


# --- what kpi_report prints, and what the page shows ----------------------------------------------


def reported(org, *, territory: str | None = None, rep: str | None = None) -> dict[str, dict[str, str]]:
    """The actual and target (``goal / red flag``) of the checked KPIs as ``kpi_report`` prints them for
    the scope and ``PERIOD``, written as the scorecard writes a figure."""
    out = StringIO()
    scope = {"territory": territory} if territory else {"rep": rep}
    call_command("kpi_report", org=org.slug, period=PERIOD, format="json", stdout=out, **scope)
    rows = {row["kpi"]: row for row in json.loads(out.getvalue()) if row["kpi"] in CHECKED}
    assert set(rows) == set(CHECKED)

    def figure(row: dict, name: str) -> str:
        return shown(row[name], row["unit"], org.currency)

    def target(row: dict) -> str:
        return "no target" if row["goal"] is None else f"{figure(row, 'goal')} / {figure(row, 'red_flag')}"

    return {slug: {"actual": figure(row, "actual"), "target": target(row)} for slug, row in rows.items()}


def on_the_scorecard(page) -> dict[str, dict[str, str]]:
    figures = {}
    for slug in CHECKED:
        row = page.locator(f'#scorecard tr[data-kpi="{slug}"]')
        figures[slug] = {
            "actual": row.get_by_test_id(f"actual-{slug}").inner_text().strip(),
            "target": " ".join(row.locator('td[data-label="Target"]').inner_text().split()),
        }
    return figures


# --- the notes panel ------------------------------------------------------------------------------


def open_rep_notes(page, live_server, rep, period: str):
    """The coaching-notes panel about ``rep`` for ``period``, as a locator: the panel on the rep's
    scorecard (the page a manager drilled down to)."""
    page.goto(f"{live_server.url}{reverse('home')}?rep={rep.pk}&period={period}")
    panel = page.locator("#notes-panel")
    panel.wait_for()
    return panel


def add_coaching_note(panel, text: str) -> None:
    """Fill in and send the panel's form; returns once the note is listed in the (swapped) panel."""
    panel.get_by_label("Kind").select_option(label="Coaching note")
    panel.get_by_label("Note", exact=True).fill(text)
    panel.get_by_role("button", name="Add note").click()
    panel.locator(".note__text", has_text=text).wait_for()


# --- the flow -------------------------------------------------------------------------------------


def test_a_manager_reviews_the_region_down_to_a_rep_and_leaves_a_coaching_note(
    transactional_db, world, live_server, page
):
    org = world.org
    nordics, stockholm = world.territories["nordics"], world.territories["stockholm"]
    nora = world.reps["nora"]
    won_revenue = KPI.objects.get(org=org, slug="won_revenue")
    target_set(kpi=won_revenue, period=PERIOD, goal=3000, territory=nordics, reason="Q1 plan")
    target_set(kpi=won_revenue, period=PERIOD, goal=1500, rep=nora, reason="Q1 quota")
    target_set(kpi=KPI.objects.get(org=org, slug="won_deals"), period=PERIOD, goal=2, red_flag=1, rep=nora)
    rollups_recompute(org=org)
    heading = page.get_by_role("heading", level=1)
    period_picker = page.get_by_label("Period", exact=True)

    # Sign in: the scorecard of the own region in the current quarter.
    sign_in(page, live_server, "manny")
    landing = page.url
    assert heading.inner_text() == "Acme/Nordics"
    current = period_picker.input_value()
    assert current != PERIOD
    assert_accessible(page)

    # The quarter, then a territory: each is a URL; back walks them back to the landing, forward again.
    period_picker.select_option(PERIOD)
    page.wait_for_url(re.compile(rf"period={PERIOD}"))
    page.wait_for_selector(f'#scorecard[data-period="{PERIOD}"]')
    quarter = page.url
    assert "territory=" not in quarter
    page.get_by_label("Territory", exact=True).select_option(str(stockholm.pk))
    page.wait_for_url(re.compile(rf"territory={stockholm.pk}"))
    assert heading.inner_text() == "Acme/Nordics/Stockholm"
    page.go_back()
    page.wait_for_url(quarter)
    assert heading.inner_text() == "Acme/Nordics"
    page.go_back()
    page.wait_for_url(landing)
    page.wait_for_selector(f'#scorecard[data-period="{current}"]')
    assert period_picker.input_value() == current
    page.go_forward()
    page.wait_for_selector(f'#scorecard[data-period="{PERIOD}"]')
    assert period_picker.input_value() == PERIOD
    assert heading.inner_text() == "Acme/Nordics"
    assert on_the_scorecard(page) == reported(org, territory="Acme/Nordics")
    assert on_the_scorecard(page)["won_revenue"] == {"actual": "$2,000", "target": "$3,000 / $2,700"}
    assert_accessible(page)

    # Down the drill-down links to the rep, whose figures are the report's for that rep.
    page.get_by_role("region", name="Territories below Nordics").get_by_role("link", name="Stockholm").click()
    page.wait_for_url(re.compile(rf"territory={stockholm.pk}"))
    page.get_by_role("region", name="Reps in Stockholm").get_by_role("link", name="Nora Nordin").click()
    page.wait_for_url(re.compile(rf"rep={nora.pk}"))
    assert heading.inner_text() == "Nora Nordin"
    crumbs = page.get_by_role("navigation", name="Breadcrumb")
    assert crumbs.get_by_role("link").all_inner_texts() == ["Nordics", "Stockholm", "Nora Nordin"]
    assert on_the_scorecard(page) == reported(org, rep="Nora Nordin")
    assert on_the_scorecard(page)["won_revenue"] == {"actual": "$2,000", "target": "$1,500 / $1,350"}
    assert_accessible(page)

    # Up the breadcrumbs: the region, then its team again.
    crumbs.get_by_role("link", name="Nordics").click()
    page.wait_for_url(re.compile(rf"territory={nordics.pk}"))
    assert heading.inner_text() == "Acme/Nordics"
    page.get_by_role("region", name="Territories below Nordics").get_by_role("link", name="Stockholm").click()
    page.wait_for_url(re.compile(rf"territory={stockholm.pk}"))
    assert crumbs.get_by_role("link").all_inner_texts() == ["Nordics", "Stockholm"]
    assert on_the_scorecard(page) == reported(org, territory="Acme/Nordics/Stockholm")

    # A KPI from the scorecard: its chart, and the deals adding up to the figure.
    actual = on_the_scorecard(page)["won_revenue"]["actual"]
    row = page.locator('#scorecard tr[data-kpi="won_revenue"]')
    row.get_by_role("link", name="Won revenue vs quota").click()
    page.wait_for_url(re.compile(rf"/kpi/won_revenue/\?period={PERIOD}&territory={stockholm.pk}$"))
    assert heading.inner_text() == "Won revenue vs quota"
    page.locator(".js-plotly-plot svg.main-svg").first.wait_for(timeout=15_000)
    assert page.locator(".js-plotly-plot .scatterlayer .trace").count() >= 1  # the history line
    assert page.locator(".kpi-detail__stats .stat", has_text="Actual").locator("dd").inner_text() == actual
    deals = page.get_by_role("region", name="Deals", exact=True)
    assert f"1 deal, values totalling {actual}" in deals.inner_text()
    assert deals.get_by_role("row").filter(has_text="NORA-1").get_by_role("cell").last.inner_text() == actual
    assert "SERGIO" not in deals.inner_text()
    assert_accessible(page)

    # The strategy map from the top bar; an objective opens its KPIs.
    page.locator(".topbar").get_by_role("link", name="Strategy map", exact=True).click()
    page.wait_for_url(re.compile(r"/strategy-map/$"))
    assert heading.inner_text() == "Acme/Nordics"
    objective = Objective.objects.get(org=org, name="Win more, faster")
    kpis = page.locator(f"#objective-{objective.pk}")
    assert kpis.get_attribute("open") is None
    page.locator(f'svg a[href="#objective-{objective.pk}"]').click()
    page.wait_for_url(re.compile(rf"#objective-{objective.pk}$"))
    assert kpis.get_attribute("open") is not None
    listed = kpis.get_by_role("listitem").all_inner_texts()
    assert any(item.startswith("Win rate") for item in listed)
    assert any(item.startswith("Deals won") for item in listed)
    assert_accessible(page)

    # A coaching note for the rep in the quarter under review.
    panel = open_rep_notes(page, live_server, nora, PERIOD)
    assert panel.get_by_role("heading", level=2).inner_text() == "Coaching notes and action items"
    assert page.get_by_role("heading", level=1).inner_text() == "Nora Nordin"  # on Nora's scorecard
    add_coaching_note(panel, "Qualify the Q2 deals before the POC")
    note = Note.objects.get(org=org, rep=nora, period=PERIOD)
    assert (note.kind, note.text, note.author) == (
        NoteKind.COACHING,
        "Qualify the Q2 deals before the POC",
        world.users["manager"],
    )
    assert "Manny Manager" in panel.locator(".note__meta").first.inner_text()
    assert_accessible(page)
