"""End to end: a manager opens a KPI's detail page in Chromium and sees both charts drawn by the local
plotly.js, why the KPI has its colour with the numbers, and the deals behind the figure; axe finds no
serious or critical accessibility violation."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse

from kpis.models import KPI
from kpis.services import rollups_recompute, target_set
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser
pytest_plugins = ["tests.conftest_personas"]

Q1 = "2024-Q1"  # the personas' won deals close on 2024-03-01


def _sign_in(page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()


def test_a_manager_sees_the_charts_the_reasons_and_the_deals(world, live_server, page):
    nordics = world.territories["nordics"]
    kpi = KPI.objects.get(org=world.org, slug="won_revenue")
    target_set(kpi=kpi, period=Q1, goal=1500, territory=nordics, reason="Q1 plan")
    rollups_recompute(org=world.org, today=date.today())
    external = []
    page.on(
        "request",
        lambda r: external.append(r.url) if not r.url.startswith((live_server.url, "data:")) else None,
    )

    _sign_in(page, live_server, "manny")
    page.goto(
        f"{live_server.url}{reverse('kpi_detail', args=['won_revenue'])}?period={Q1}&territory={nordics.pk}"
    )

    page.get_by_role("heading", level=1, name="Won revenue vs quota").wait_for(timeout=10_000)
    page.locator(".js-plotly-plot").nth(1).wait_for(timeout=15_000)
    assert page.locator(".js-plotly-plot").count() == 2
    assert page.locator(".js-plotly-plot svg.main-svg").count() >= 2
    assert page.locator(".js-plotly-plot .bars path").count() >= 1  # Stockholm's bar

    why = page.locator("section.why")
    assert "d = G − R = 1,500 − 1,350 = 150" in why.inner_text()
    assert "On track" in why.inner_text()
    deals = page.locator("#rows")
    assert "NORA-1" in deals.inner_text()
    assert "SERGIO" not in deals.inner_text()
    assert external == []

    try:
        from axe_playwright_python.sync_playwright import Axe
    except ImportError:  # an optional dev dependency
        return
    violations = Axe().run(page).response["violations"]
    serious = [
        f"{v['id']} ({v['impact']}): {len(v['nodes'])}"
        for v in violations
        if v["impact"] in ("serious", "critical")
    ]
    assert serious == []
