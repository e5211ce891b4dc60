"""End to end: a manager opens a KPI's detail page in Chromium and sees both charts drawn by the local
plotly.js, why the KPI has its colour with the numbers, and the deals behind the figure; axe finds no
serious or critical accessibility violation."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse

from kpis.models import KPI
from kpis.services import rollups_recompute, target_set
from tests.browser.helpers import assert_accessible, sign_in

pytestmark = pytest.mark.browser
pytest_plugins = ["tests.conftest_personas"]

Q1 = "2024-Q1"  # the personas' won deals close on 2024-03-01


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

    sign_in(page, live_server, "manny")
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
    assert_accessible(page)
