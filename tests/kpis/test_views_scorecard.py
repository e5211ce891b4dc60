"""The scorecard page (``/`` for managers, viewers and admins): figures, pickers, drill-down, access.

Personas (tests/conftest_personas.py): Nora (Acme/Nordics/Stockholm) and Sergio (Acme/Iberia/Madrid)
each won one 2,000 deal on 2024-03-01; Manny manages Nordics.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kpis.models import KPI
from kpis.services import rollups_recompute, target_set
from kpis.store import StoredSeries
from kpis.views.scorecard import change, spark
from perspectives.models import Objective
from scorecard import periods
from territories.models import Rep
from territories.services import assignment_create, territory_child_create
from tests.factories import START, OpportunityFactory

pytest_plugins = ["tests.conftest_personas"]

URL = "/"
PERIOD = "2024-Q1"  # the quarter of the personas' won deals


@pytest.fixture
def stored(world):
    rollups_recompute(org=world.org, today=date(2024, 6, 30))
    return world


def _html(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def _actual(html: str, slug: str) -> str:
    found = re.search(rf'data-testid="actual-{slug}">([^<]*)<', html)
    assert found, f"no actual shown for {slug}"
    return found.group(1)


def _crumbs(html: str) -> list[str]:
    start = html.index('aria-label="Breadcrumb"')
    return re.findall(r">([^<>]+)</a>", html[start : html.index("</nav>", start)])


def _row(html: str, slug: str) -> str:
    start = html.index(f'data-kpi="{slug}"')
    return html[start : html.index("</tr>", start)]


# --- what the page shows ----------------------------------------------------------------------------


def test_the_root_shows_the_organisations_won_revenue_and_deals(stored, login):
    html = _html(login("admin").get(URL, {"period": PERIOD}))
    # Two won deals of 2,000 each (Nora's and Sergio's), counted from the fixture, not the code.
    assert _actual(html, "won_revenue") == "$4,000"
    assert _actual(html, "won_deals") == "2"
    assert '<h1 class="page-title">Acme</h1>' in html
    for perspective in ("Financial", "Customer", "Internal sales processes", "Learning &amp; growth"):
        assert perspective in html


def test_a_region_shows_only_its_own_deals(stored, login, world):
    html = _html(login("admin").get(URL, {"period": PERIOD, "territory": world.territories["nordics"].pk}))
    assert _actual(html, "won_revenue") == "$2,000"
    assert _actual(html, "win_rate") == "100%"  # one won, none lost


def test_missing_figures_are_gray_with_their_reason_never_zero(stored, login):
    html = _html(login("admin").get(URL, {"period": PERIOD}))
    revenue = _row(html, "won_revenue")  # an actual but no target: counts and money have no default
    assert 'data-status="gray"' in revenue
    assert "No target" in revenue
    assert "no target" in revenue
    cycle = _row(html, "sales_cycle_days")  # no deal has an engage date: no average to take
    assert 'data-testid="actual-sales_cycle_days">—<' in cycle
    assert "No data" in cycle


def test_a_target_gives_a_score_bar_and_a_status_word(world, login):
    target_set(
        kpi=KPI.objects.get(org=world.org, slug="won_revenue"),
        period=PERIOD,
        goal=4000,
        red_flag=3000,
        territory=world.territories["root"],
    )
    rollups_recompute(org=world.org, today=date(2024, 6, 30))
    revenue = _row(_html(login("admin").get(URL, {"period": PERIOD})), "won_revenue")
    # A = G scores 6.67 (DESIGN §4): green, "On track".
    assert 'aria-valuenow="6.7"' in revenue
    assert 'data-status="green"' in revenue and "On track" in revenue
    assert '$4,000 <span class="muted">/ $3,000' in revenue


def test_change_against_the_previous_quarter_and_last_year(world, login):
    nora = world.reps["nora"]
    OpportunityFactory.create(
        rep=nora, external_id="Q4", amount=Decimal(1000), stage="won", close_date=date(2023, 12, 5)
    )
    OpportunityFactory.create(
        rep=nora, external_id="LY", amount=Decimal(8000), stage="won", close_date=date(2023, 2, 5)
    )
    rollups_recompute(org=world.org, today=date(2024, 6, 30))
    client = login("admin")
    previous = _row(_html(client.get(URL, {"period": PERIOD})), "won_revenue")
    # 4,000 now against 1,000 in 2023-Q4: +300 %, up and good for a higher-is-better KPI.
    assert "change--good" in previous and "+300.0%" in previous and "↑" in previous
    last_year = _row(_html(client.get(URL, {"period": PERIOD, "compare": "last_year"})), "won_revenue")
    # Against 8,000 in 2023-Q1: −50 %, down and bad.
    assert "change--bad" in last_year and "-50.0%" in last_year and "↓" in last_year


def test_a_rise_is_bad_when_lower_is_better_and_rates_change_in_points():
    cycle = KPI(direction="lower", unit="days")
    deals = KPI(direction="higher", unit="count")
    win_rate = KPI(direction="higher", unit="fraction")
    row = {"actual": 12.0, "previous": 10.0, "change_pct": 20.0, "last_year": None, "yoy_pct": None}
    assert change(cycle, row, "previous") == (10.0, "+20.0%", "↑", "bad")
    assert change(deals, row, "previous") == (10.0, "+20.0%", "↑", "good")
    assert change(deals, row, "last_year") == (None, "", "", "")  # no base: nothing to compare
    rates = {"actual": 0.4, "previous": 0.5, "change_pct": -20.0, "last_year": 0.4, "yoy_pct": 0.0}
    assert change(win_rate, rates, "previous") == (0.5, "-10.0 pts", "↓", "bad")
    assert change(win_rate, rates, "last_year") == (0.4, "±0.0 pts", "→", "flat")


def test_the_sparkline_has_a_gap_for_missing_periods_and_lists_every_value():
    line = spark([1.0, None, 3.0, 5.0], ["Q1", "Q2", "Q3", "Q4"], "Won deals", "count", "USD")
    assert len(line.segments) == 1  # Q1 stands alone: the gap breaks the line
    assert [r for _x, _y, r in line.dots] == ["1.5", "1.5", "2.5"]  # the newest drawn is larger
    assert line.label == "Won deals, last 4 periods: Q1 1; Q2 no data; Q3 3; Q4 5"
    money = spark([0.25, 0.5], ["a", "b"], "Win rate", "fraction", "USD")
    assert money.label.endswith("a 25%; b 50%")


def test_each_kpi_has_a_labelled_sparkline_of_the_last_eight_quarters(stored, login):
    revenue = _row(_html(login("admin").get(URL, {"period": PERIOD})), "won_revenue")
    label = re.search(r'<svg class="spark"[^>]*aria-label="([^"]*)"', revenue)
    assert label
    assert label.group(1).startswith("Won revenue vs quota, last 8 periods: 2022-Q2 no data; ")
    assert label.group(1).endswith("2024-Q1 $4,000")


def test_the_default_period_is_the_current_quarter(stored, login, world):
    today = date.today()
    current = periods.period_containing(today, periods.QUARTER, world.org.fiscal_year_start_month)
    response = login("viewer").get(URL)
    assert response.context["period"] == current
    assert f'<option value="{current.key}" selected>' in _html(response)


def test_a_bad_period_is_404(stored, login):
    assert login("viewer").get(URL, {"period": "2024-Q9"}).status_code == 404


# --- pickers and htmx --------------------------------------------------------------------------------


def test_a_picker_request_gets_the_fragment_and_a_history_restore_gets_the_page(stored, login, world):
    client = login("admin")
    query = {"period": PERIOD, "territory": world.territories["iberia"].pk}
    fragment = client.get(URL, query, headers={"HX-Request": "true"})
    html = _html(fragment)
    assert "<html" not in html
    assert html.lstrip().startswith("<title>Scorecard · Acme/Iberia · 2024-Q1 · Acme Test Org</title>")
    assert '<div id="scorecard"' in html
    assert "HX-Request" in fragment["Vary"]
    restore = client.get(URL, query, headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert "<html" in _html(restore)


def test_every_control_is_a_real_link_or_get_form_beside_htmx(stored, login, world):
    html = _html(login("admin").get(URL, {"period": PERIOD}))
    iberia = world.territories["iberia"].pk
    link = f"?period={PERIOD}&amp;compare=previous&amp;territory={iberia}"
    assert f'href="{link}" hx-get="{link}" hx-target="#scorecard"' in html
    last_year = f"?period={PERIOD}&amp;compare=last_year&amp;territory={world.territories['root'].pk}"
    assert f'href="{last_year}"' in html
    assert html.count('hx-push-url="true"') >= 4
    assert '<form class="picker territory-picker" method="get"' in html
    assert '<form class="picker period-picker" method="get"' in html
    assert '<label class="picker__label" for="territory-picker">Territory</label>' in html


def _picker_options(html: str) -> list[str]:
    start = html.index('id="territory-picker"')
    block = html[start : html.index("</select>", start)]
    return [
        label.replace("\u00a0", "").strip() for label in re.findall(r"<option [^>]*>([^<]*)</option>", block)
    ]


def test_a_territory_retired_before_the_period_is_left_out_of_the_picker_and_the_drill_down(
    stored, login, world
):
    """Lisbon was retired on 2024-01-01: it has no figures in 2024-Q2 and is not offered there; in
    2024-Q1 (retired that day, so nothing in it either) likewise; in 2023-Q4 it is offered, saying so."""
    lisbon = territory_child_create(parent=world.territories["iberia"], name="Lisbon")
    lisbon.retired_on = date(2024, 1, 1)
    lisbon.save()
    client = login("admin")
    iberia = world.territories["iberia"].pk
    for period in ("2024-Q1", "2024-Q2"):
        html = _html(client.get(URL, {"period": period, "territory": iberia}))
        assert "Lisbon" not in _picker_options(html), period
        assert "Lisbon" not in html[html.index('id="sc-below"') :], period
    earlier = _html(client.get(URL, {"period": "2023-Q4", "territory": iberia}))
    assert "Lisbon (retired 2024-01-01)" in _picker_options(earlier)
    assert "Lisbon" in earlier[earlier.index('id="sc-below"') :]
    chosen = _html(client.get(URL, {"period": "2024-Q2", "territory": lisbon.pk}))
    assert "Lisbon (retired 2024-01-01)" in _picker_options(chosen), "the territory shown stays in its picker"


# --- drill-down ---------------------------------------------------------------------------------------


def test_drill_down_lists_child_territories_and_reps_in_scope(stored, login, world):
    html = _html(login("admin").get(URL, {"period": PERIOD}))
    below = html[html.index('id="sc-below"') :]
    assert "Nordics" in below and "Iberia" in below
    reps = html[html.index('id="sc-reps"') :]
    nora = world.reps["nora"].pk
    assert f'href="?period={PERIOD}&amp;compare=previous&amp;rep={nora}"' in reps
    assert "Sergio Sanz" in reps
    assert "Gustav Globex" not in html
    root = world.territories["root"].pk
    assert f'href="/compare/?period={PERIOD}&amp;compare=previous&amp;territory={root}"' in below


def test_above_a_leaf_a_long_list_of_reps_gives_way_to_the_territories_below(
    stored, login, world, monkeypatch
):
    monkeypatch.setattr("kpis.views.scorecard.REPS_LISTED", 1)
    client = login("admin")
    root = _html(client.get(URL, {"period": PERIOD}))
    assert "2 reps worked here in 2024-Q1" in root
    assert "Nora Nordin" not in root and "Sergio Sanz" not in root
    leaf = _html(client.get(URL, {"period": PERIOD, "territory": world.territories["stockholm"].pk}))
    assert "Nora Nordin" in leaf[leaf.index('id="sc-reps"') :]  # a leaf always lists its reps


def test_a_rep_scope_shows_the_reps_figures_and_breadcrumbs_from_the_root(stored, login, world):
    html = _html(login("admin").get(URL, {"period": PERIOD, "rep": world.reps["nora"].pk}))
    assert _actual(html, "won_revenue") == "$2,000"
    crumbs = _crumbs(html)
    assert crumbs == ["Acme", "Nordics", "Stockholm", "Nora Nordin"]
    assert 'id="sc-reps"' not in html


def test_a_managers_breadcrumbs_start_at_the_own_region(stored, login, world):
    html = _html(
        login("manager").get(URL, {"period": PERIOD, "territory": world.territories["stockholm"].pk})
    )
    crumbs = _crumbs(html)
    assert crumbs == ["Nordics", "Stockholm"]


# --- access -------------------------------------------------------------------------------------------


def test_a_manager_sees_the_own_region_by_default_and_nothing_else(stored, login):
    response = login("manager").get(URL, {"period": PERIOD})
    html = _html(response)
    assert "kpis/scorecard.html" in [t.name for t in response.templates]
    assert '<h1 class="page-title">Acme/Nordics</h1>' in html
    assert _actual(html, "won_revenue") == "$2,000"
    for hidden in ("Iberia", "Madrid", "Sergio Sanz"):
        assert hidden not in html


def test_a_manager_may_open_the_own_subtree_and_reps_but_gets_404_elsewhere(stored, login, world):
    client = login("manager")
    assert client.get(URL, {"territory": world.territories["stockholm"].pk}).status_code == 200
    assert client.get(URL, {"rep": world.reps["nora"].pk}).status_code == 200
    for territory in ("iberia", "madrid", "root", "globex_hq"):
        assert client.get(URL, {"territory": world.territories[territory].pk}).status_code == 404
    assert client.get(URL, {"rep": world.reps["sergio"].pk}).status_code == 404
    assert client.get(URL, {"rep": world.reps["gus"].pk}).status_code == 404
    assert client.get(URL, {"territory": "junk"}).status_code == 404


def test_a_viewer_may_open_every_territory_and_rep_of_the_org_but_not_another_orgs(stored, login, world):
    client = login("viewer")
    assert client.get(URL, {"territory": world.territories["madrid"].pk}).status_code == 200
    assert client.get(URL, {"rep": world.reps["sergio"].pk}).status_code == 200
    assert client.get(URL, {"territory": world.territories["globex_hq"].pk}).status_code == 404
    assert client.get(URL, {"rep": world.reps["gus"].pk}).status_code == 404


def test_the_definitions_page_is_linked_from_the_navigation_for_managers(stored, login):
    html = _html(login("manager").get(URL, {"period": PERIOD}))
    assert '<a class="topbar__link" href="/definitions/">Definitions</a>' in html
    assert login("manager").get("/definitions/").status_code == 200


def test_anonymous_goes_to_login(client, world):
    response = client.get(URL, {"period": PERIOD})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


# --- query count --------------------------------------------------------------------------------------


def _grow(world, n: int) -> None:
    """n more teams under Nordics, each with a rep who won a deal, and n more KPIs."""
    objective = Objective.objects.filter(org=world.org).earliest("pk")
    region = world.territories["nordics"]
    for i in range(n):
        region.refresh_from_db()
        team = territory_child_create(parent=region, name=f"Team {i:03d}")
        rep = Rep.objects.create(org=world.org, name=f"Grown Rep {i:03d}")
        assignment_create(rep=rep, territory=team, start=START)
        OpportunityFactory.create(rep=rep, external_id=f"G{i}", stage="won", close_date=date(2024, 2, 1))
        KPI.objects.create(
            org=world.org,
            objective=objective,
            slug=f"grown-{i}",
            name=f"Grown {i}",
            unit="count",
            source="manual",
        )
    rollups_recompute(org=world.org, today=date(2024, 6, 30))


def _count(client, query: dict) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(URL, query).status_code == 200
    return len(queries)


@pytest.mark.parametrize("persona", ["admin", "manager"])
def test_the_page_runs_a_constant_number_of_queries(
    stored, login, world, persona, django_assert_max_num_queries
):
    client = login(persona)
    territory = {"period": PERIOD, "territory": world.territories["nordics"].pk}
    rep = {"period": PERIOD, "rep": world.reps["nora"].pk}
    client.get(URL, territory)  # warm the session
    with django_assert_max_num_queries(15):
        client.get(URL, territory)
    with django_assert_max_num_queries(15):
        client.get(URL, rep)
    small = (_count(client, territory), _count(client, rep))
    _grow(world, 6)
    large = (_count(client, territory), _count(client, rep))
    assert large == small
    assert "Grown Rep 005" in _html(client.get(URL, territory))


def test_a_series_reads_every_period_in_one_query(stored, world, django_assert_num_queries):
    revenue = KPI.objects.get(org=world.org, slug="won_revenue")
    keys = ["2023-11", "2023-12", "2024-01", "2024-02", "2024-03", "2024-04"]  # two fiscal years
    with django_assert_num_queries(1):
        series = StoredSeries(world.org, ("t", world.territories["nordics"].pk), keys)
    # Nora's won deal closed on 2024-03-01; a month without stored figures reads as null, not 0.
    assert series.actuals(revenue) == [None, None, None, None, 2000.0, None]
