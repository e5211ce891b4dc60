"""The strategy map page: objectives coloured by their rolled-up status, limited to what the user sees."""

from __future__ import annotations

import re
from datetime import date

from django.urls import reverse

from kpis.models import KPI
from kpis.services import rollups_recompute, target_set

pytest_plugins = ["tests.conftest_personas"]

URL = reverse("strategy_map")


def _recompute(world) -> None:
    rollups_recompute(org=world.org, today=date.today())


def test_the_map_shows_every_objective_with_its_status_word_and_the_value_proposition(world, login):
    org = world.org
    period = org.parse_period(date.today().strftime("%Y")).key
    # A won-deals goal the region meets: "Grow revenue to quota" gets a score.
    target_set(
        kpi=KPI.objects.get(org=org, slug="won_deals"),
        period=period,
        goal=1,
        territory=world.territories["root"],
    )
    _recompute(world)
    response = login("admin").get(URL, {"period": period})
    assert response.status_code == 200
    html = response.content.decode()
    for name in ("Financial", "Customer", "Internal sales processes", "Learning &amp; growth"):
        assert name in html
    assert html.count('class="strategy-map__node ') == 12  # every objective of the default template
    assert '<title id="map-svg-title">Strategy map of Acme' in html
    assert re.search(r"strategy-map__node--(green|yellow|red)", html), "a scored objective is coloured"
    svg = html[html.index("<svg") : html.index("</svg>")]
    assert "No data</text>" in svg  # gray objectives say so in words, not only in colour
    assert re.search(r"\d\.\d · (On track|At risk|Off track)</text>", svg)
    assert 'marker-end="url(#arrowhead)"' in html


def test_a_manager_sees_the_own_region_by_default_and_gets_404_elsewhere(world, login):
    _recompute(world)
    client = login("manager")
    html = client.get(URL).content.decode()
    assert "Acme/Nordics" in html
    assert "Iberia" not in html
    assert client.get(URL, {"territory": world.territories["iberia"].pk}).status_code == 404
    assert client.get(URL, {"territory": world.territories["globex_hq"].pk}).status_code == 404
    assert client.get(URL, {"territory": world.territories["stockholm"].pk}).status_code == 200


def test_a_bad_period_is_404_and_anonymous_goes_to_login(world, client, login):
    assert client.get(URL).status_code == 302
    assert "/accounts/login/" in client.get(URL)["Location"]
    assert login("viewer").get(URL, {"period": "2017-Q9"}).status_code == 404


def test_the_map_renders_in_a_constant_number_of_queries(world, login, django_assert_max_num_queries):
    _recompute(world)
    client = login("admin")
    with django_assert_max_num_queries(15):
        assert client.get(URL, {"territory": world.territories["madrid"].pk}).status_code == 200
