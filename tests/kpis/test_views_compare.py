"""Territory comparison: the heatmap's cells are the stored figures, sorting, underperformers, access,
and a constant number of queries."""

from __future__ import annotations

import re
from datetime import date

import pytest
from django.urls import reverse

from kpis.models import KPI
from kpis.selectors import report_rows
from kpis.services import rollups_recompute, target_set
from territories.services import territory_child_create

pytest_plugins = ["tests.conftest_personas"]

URL = reverse("compare")


def _period(world) -> str:
    return "2024"  # the personas' deals are won on 2024-03-01


def _setup(world) -> str:
    period = _period(world)
    kpi = KPI.objects.get(org=world.org, slug="won_deals")
    # Nordics meets its goal of 1 won deal, Iberia (Sergio won 1 of 3) is given a goal of 5: red.
    target_set(kpi=kpi, period=period, goal=1, territory=world.territories["nordics"])
    target_set(kpi=kpi, period=period, goal=5, territory=world.territories["iberia"])
    rollups_recompute(org=world.org, today=date.today())
    return period


def _rows(html: str) -> list[str]:
    body = html[html.index("<tbody>") : html.index("</tbody>")]
    return re.findall(r'<th scope="row" class="heatmap__name"><a [^>]*>([^<]+)</a>', body)


def test_cells_show_the_stored_figures_coloured_by_status(world, login):
    period = _setup(world)
    response = login("admin").get(URL, {"period": period})
    html = response.content.decode()
    assert response.status_code == 200
    assert _rows(html) == ["Iberia", "Nordics"]  # lowest score first
    won = KPI.objects.get(org=world.org, slug="won_deals")
    (iberia,) = report_rows(world.org, period, [world.territories["iberia"]], [won])
    assert iberia["status"] == "red"
    assert 'title="Deals won: Off track"' in html
    assert 'title="Deals won: On track"' in html


def test_sorting_by_a_column_and_the_underperformers(world, login):
    period = _setup(world)
    client = login("admin")
    html = client.get(URL, {"period": period, "sort": "won_deals", "dir": "desc"}).content.decode()
    assert _rows(html) == ["Nordics", "Iberia"]
    assert 'aria-sort="descending"' in html
    lowest = html[html.index("Lowest scores") : html.index("Worst change")]
    assert lowest.index("Iberia") < lowest.index("Nordics")
    most_red = html[html.index("Most red KPIs") :]
    assert "Iberia" in most_red


def test_a_team_compares_its_reps_and_a_manager_only_sees_the_own_region(world, login):
    _setup(world)
    client = login("manager")
    html = client.get(URL, {"period": "2024"}).content.decode()
    assert _rows(html) == ["Stockholm"]
    assert "Iberia" not in html and "Madrid" not in html
    team = client.get(URL, {"territory": world.territories["stockholm"].pk}).content.decode()
    assert "Nora Nordin" in team and "Reps in Stockholm" in team
    assert client.get(URL, {"territory": world.territories["madrid"].pk}).status_code == 404
    assert client.get(URL, {"territory": world.territories["globex_hq"].pk}).status_code == 404


def test_an_htmx_request_gets_the_heatmap_fragment(world, login):
    _setup(world)
    response = login("viewer").get(URL, {"sort": "red"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert '<div id="compare"' in html and "<html" not in html
    assert "HX-Request" in response["Vary"]


@pytest.mark.parametrize("extra_territories", [0, 12])
def test_the_page_renders_in_a_constant_number_of_queries(
    world, login, django_assert_max_num_queries, extra_territories
):
    for i in range(extra_territories):
        territory_child_create(parent=world.territories["root"], name=f"Region {i:02d}")
    _setup(world)
    client = login("admin")
    with django_assert_max_num_queries(15):
        assert client.get(URL).status_code == 200
