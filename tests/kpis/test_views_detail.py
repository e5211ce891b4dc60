"""The KPI detail page: charts built on the server and drawn by the local plotly.js, "why this colour"
with the real numbers, the deals underneath, the target history, access and query count."""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from kpis import selectors_detail
from kpis.models import KPI, NoteKind
from kpis.services import measurement_set, note_create, rollups_recompute, target_set
from scorecard import periods
from scorecard.models import Membership
from tests.factories import OpportunityFactory, RepFactory, TerritoryFactory

pytest_plugins = ["tests.conftest_personas"]

Q1 = "2024-Q1"  # the personas' won deals close on 2024-03-01


def url(slug: str = "won_revenue", **params) -> str:
    query = "&".join(f"{k}={v}" for k, v in {"period": Q1, **params}.items())
    return f"{reverse('kpi_detail', args=[slug])}?{query}"


def _recompute(world) -> None:
    rollups_recompute(org=world.org, today=date.today())


@pytest.fixture
def targets(world):
    """Nordics' won-revenue goal for Q1 set at 1,000, then raised to 1,500 (no red flag: the default)."""
    kpi = KPI.objects.get(org=world.org, slug="won_revenue")
    nordics = world.territories["nordics"]
    target_set(
        kpi=kpi, period=Q1, goal=1000, territory=nordics, reason="first plan", set_by=world.users["admin"]
    )
    target_set(
        kpi=kpi,
        period=Q1,
        goal=1500,
        territory=nordics,
        reason="raised after Q4",
        set_by=world.users["admin"],
    )
    _recompute(world)


def test_the_page_explains_the_colour_with_the_real_numbers(world, login, targets):
    html = login("manager").get(url(territory=world.territories["nordics"].pk)).content.decode()
    # Nora's won deal of 2,000 against a goal of 1,500 and the defaulted red flag of 1,350 (10 %).
    assert "Why this colour" in html
    assert "Built-in metric “Won revenue” (won_revenue)" in html
    assert "(set explicitly for Nordics and 2024-Q1, history below)" in html
    assert "(defaulted to the goal − 10%, the KPI's tolerance)" in html
    assert "d = G − R = 1,500 − 1,350 = <strong>150</strong>" in html
    # 10 · (2000 − 1200) ÷ 450 = 17.78, clamped to 10: green.
    assert (
        "clamp(10 · (2,000 − 1,200) ÷ (3 · 150), 0, 10) = clamp(17.78, 0, 10) = <strong>10.00</strong>"
        in html
    )
    assert 'data-status="green"' in html


def test_the_deals_behind_the_figure_are_listed_with_links_to_their_records(world, login, targets):
    html = login("manager").get(url(territory=world.territories["nordics"].pk)).content.decode()
    won = world.opportunities["nora"].rep.opportunities.get(stage="won")
    assert reverse("sales:opportunity_edit", args=[won.pk]) in html
    assert "1 deal, values totalling $2,000 " in html
    assert "NORA-0" not in html  # open, not won: not behind won revenue
    assert "SERGIO" not in html


def test_the_target_history_lists_superseded_targets_newest_first(world, login, targets):
    html = login("manager").get(url(territory=world.territories["nordics"].pk)).content.decode()
    history = html[html.index('id="targets-title"') :]
    assert history.index("raised after Q4") < history.index("first plan")
    assert "Superseded" in history and "Current" in history
    assert "Ada Admin" in history


def test_charts_are_plotly_figures_drawn_by_the_local_plotly_js(world, login, targets):
    html = login("admin").get(url(territory=world.territories["root"].pk)).content.decode()
    assert '<script src="/static/vendor/plotly/plotly.min.js" defer></script>' in html
    assert "cdn" not in html.lower()
    history = json.loads(re.search(r'id="history-chart-data"[^>]*>(.*?)</script>', html, re.S).group(1))
    names = [trace["name"] for trace in history["data"]]
    assert names[:3] == ["Goal", "Red flag", "Actual"]
    assert history["data"][2]["x"][-1] == Q1
    assert len(history["data"][2]["x"]) == 12
    breakdown = json.loads(re.search(r'id="breakdown-chart-data"[^>]*>(.*?)</script>', html, re.S).group(1))
    assert breakdown["data"][0]["type"] == "bar"
    assert breakdown["data"][0]["x"] == ["Iberia", "Nordics"]
    assert breakdown["data"][0]["y"] == [2000, 2000]
    # Text alternatives: a table of the values beside each chart.
    assert html.count("Values as a table") == 2
    assert html.count('<figcaption class="visually-hidden">') == 2


def test_plotly_js_is_loaded_only_on_this_page(world, login):
    client = login("admin")
    assert "plotly.min.js" not in client.get(reverse("home")).content.decode()


def test_a_leaf_territory_breaks_down_by_rep(world, login):
    _recompute(world)
    html = login("manager").get(url(territory=world.territories["stockholm"].pk)).content.decode()
    assert "By rep" in html
    assert f"rep={world.reps['nora'].pk}" in html


def test_a_manager_sees_the_own_region_and_gets_404_elsewhere(world, login):
    _recompute(world)
    client = login("manager")
    assert client.get(url(territory=world.territories["stockholm"].pk)).status_code == 200
    assert client.get(url(rep=world.reps["nora"].pk)).status_code == 200
    assert client.get(url(territory=world.territories["iberia"].pk)).status_code == 404
    assert client.get(url(territory=world.territories["madrid"].pk)).status_code == 404
    assert client.get(url(rep=world.reps["sergio"].pk)).status_code == 404
    assert client.get(url(territory=world.territories["globex_hq"].pk)).status_code == 404
    assert client.get(url(rep=world.reps["gus"].pk)).status_code == 404
    default = client.get(url()).content.decode()
    assert "Acme/Nordics" in default and "Iberia" not in default


def test_a_rep_sees_their_own_figures_and_not_a_colleagues(world, login):
    _recompute(world)
    client = login("rep")
    assert "Rep Nora Nordin" in client.get(url()).content.decode()
    assert client.get(url(rep=world.reps["sergio"].pk)).status_code == 404


def test_unknown_kpi_bad_period_and_anonymous(world, client, login):
    response = client.get(url())
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    viewer = login("viewer")
    assert viewer.get(url("no-such-kpi")).status_code == 404
    assert viewer.get(url(period="2024-Q9")).status_code == 404
    assert viewer.get(reverse("kpi_detail", args=["won_revenue"])).status_code == 200


def test_deals_are_paginated_and_htmx_gets_the_rows_fragment(world, login):
    nora = world.reps["nora"]
    for i in range(30):
        OpportunityFactory.create(rep=nora, external_id=f"MORE-{i:02d}", amount=Decimal(10), won=True)
    _recompute(world)
    client = login("manager")
    page_one = client.get(url(territory=world.territories["nordics"].pk)).content.decode()
    assert "31 deals" in page_one and "Page 1 of 2" in page_one
    fragment = client.get(url(territory=world.territories["nordics"].pk, page=2), HTTP_HX_REQUEST="true")
    html = fragment.content.decode()
    assert "<html" not in html and 'id="rows"' in html
    assert len(re.findall(r'href="/sales/opportunities/\d+/"', html)) == 6  # 31 − 25


def test_a_kpi_over_reps_says_it_has_no_rows(world, login):
    _recompute(world)
    html = login("admin").get(url("rep_turnover")).content.decode()
    assert "counts reps" in html


@pytest.mark.parametrize("where", ["stockholm", "root"])
def test_the_page_takes_a_constant_number_of_queries(world, login, django_assert_max_num_queries, where):
    nora = world.reps["nora"]
    _recompute(world)
    client = login("admin")
    scope = world.territories[where].pk
    with django_assert_max_num_queries(15):
        assert client.get(url(territory=scope)).status_code == 200
    # Many more deals and territories: the same bound.
    for i in range(40):
        OpportunityFactory.create(rep=nora, external_id=f"BULK-{i}", amount=Decimal(5), won=True)
    for i in range(8):
        region = TerritoryFactory.create(parent=world.territories["root"], name=f"Region {i}")
        RepFactory.create(org=world.org, name=f"Rep {i}", territory=region)
    _recompute(world)
    with django_assert_max_num_queries(15):
        assert client.get(url(territory=scope)).status_code == 200


def test_a_manual_kpi_lists_its_measurements_with_who_entered_them(world, login):
    nps = KPI.objects.get(org=world.org, slug="nps")
    measurement_set(
        kpi=nps,
        period=Q1,
        value=42,
        territory=world.territories["stockholm"],
        note="survey of 120 customers",
        entered_by=world.users["manager"],
    )
    _recompute(world)
    html = login("manager").get(url("nps", territory=world.territories["nordics"].pk)).content.decode()
    assert "Manual measurement" in html
    rows = html[html.index('id="rows"') :]
    assert "survey of 120 customers" in rows and "Manny Manager" in rows and "Acme/Nordics/Stockholm" in rows


FIGURES = {"actual": 30.0, "projected": 60.0}
LIVE = periods.quarter(2024, 1)  # 2024-02-10: day 41 of 91, in the first half


@pytest.mark.parametrize(
    ("slug", "figures", "method"),
    [
        ("won_revenue", {**FIGURES, "projected": 30.0 / (41 / 91)}, "run_rate"),
        ("won_revenue", FIGURES, "pipeline"),  # not the run rate, early in the period: pipeline-weighted
        ("won_revenue", {**FIGURES, "projection_method": "stored method"}, "stored method"),
        ("gross_profit", {**FIGURES, "projected": 30.0 / (41 / 91)}, "run_rate"),
    ],
)
def test_the_projection_method_is_the_stored_one_or_the_rule_that_gave_the_number(
    world, slug, figures, method
):
    kpi = KPI.objects.get(org=world.org, slug=slug)
    projection = selectors_detail._projection(kpi, LIVE, figures, date(2024, 2, 10))
    assert projection is not None and projection.method == method
    assert projection.elapsed_share == pytest.approx(41 / 91)


def test_the_kpis_notes_for_the_scope_and_period_are_on_its_page(world, login):
    _recompute(world)
    admin = Membership.objects.get(user=world.users["admin"], org=world.org)
    stockholm, nora = world.territories["stockholm"], world.reps["nora"]
    win_rate = KPI.objects.get(org=world.org, slug="win_rate")
    note_create(
        membership=admin,
        kind=NoteKind.COMMENT,
        period=Q1,
        text="Late closes",
        territory=stockholm,
        kpi=win_rate,
    )
    note_create(membership=admin, kind=NoteKind.COACHING, period=Q1, text="Ask why", rep=nora, kpi=win_rate)
    client = login("manager")
    territory = client.get(url("win_rate", territory=stockholm.pk)).content.decode()
    assert "Review comments" in territory and "Late closes" in territory and "Ask why" not in territory
    assert '<input type="hidden" name="kpi" value="win_rate">' in territory  # a new one is on this KPI
    rep = client.get(url("win_rate", rep=nora.pk)).content.decode()
    assert "Coaching notes and action items" in rep and "Ask why" in rep and "Late closes" not in rep
    assert "Late closes" not in client.get(url("won_revenue", territory=stockholm.pk)).content.decode()
    assert "Ask why" in login("rep").get(url("win_rate")).content.decode()  # the rep's own page


def test_each_deal_links_to_its_page_in_the_product_not_the_django_admin(world, login):
    from datetime import date

    from kpis.services import rollups_recompute

    rollups_recompute(org=world.org, today=date.today())
    deal = world.opportunities["nora"]
    url = f"/kpi/won_deals/?period=2024-Q1&rep={world.reps['nora'].pk}"
    won = [o for o in world.reps["nora"].opportunities.all() if o.stage == "won"]
    page = login("manager").get(url).content.decode()
    assert "/admin/" not in page
    assert all(f'href="/sales/opportunities/{o.pk}/"' in page for o in won)
    viewer_page = login("viewer").get(url).content.decode()
    assert (
        f'href="/sales/opportunities/{won[0].pk}/"' not in viewer_page and won[0].external_id in viewer_page
    )
    assert deal.org_id == world.org.pk
