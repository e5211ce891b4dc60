"""Testing the strategy map against the data: the quarterly series read from the stored rollups, and the
page that pools lagged correlations over a scope's teams."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse

from kpis import evidence
from kpis.models import KPI
from kpis.services import rollups_recompute
from tests.kpis.stored import stored_actual

pytest_plugins = ["tests.conftest_personas"]


@pytest.mark.django_db
def test_series_are_the_stored_actuals_of_each_team_and_quarter(build):
    b = build()
    ann = b.rep("Ann", ("Acme/East/Boston", date(2016, 1, 1), None))
    bob = b.rep("Bob", ("Acme/West/Denver", date(2016, 1, 1), None))
    for i in range(8):  # Ann wins one deal a quarter in 2017-2018, Bob one every other quarter
        day = date(2017 + i // 4, 3 * (i % 4) + 1, 15)
        b.deal(ann, "won", engage=day, close=day, amount=100 * (i + 1))
        if i % 2 == 0:
            b.deal(bob, "won", engage=day, close=day, amount=50)
    rollups_recompute(org=b.org, today=date(2019, 2, 1))
    keys = evidence.quarters_up_to(b.org, date(2019, 2, 1), 8)
    assert keys[0] == "2017-Q1" and keys[-1] == "2018-Q4"
    won = KPI.objects.get(org=b.org, slug="won_revenue")
    boston = b.territory("Acme/East/Boston")
    denver = b.territory("Acme/West/Denver")
    series = evidence.actual_series(b.org, [boston, denver], [won], keys)
    assert series[won.pk][boston.pk] == [100.0 * (i + 1) for i in range(8)]
    assert series[won.pk][denver.pk] == [50.0, 0.0] * 4
    for key, value in zip(keys, series[won.pk][boston.pk], strict=True):
        assert stored_actual(b.org, "won_revenue", key, "Acme/East/Boston") == value


def test_the_evidence_page_lists_every_link_with_its_verdicts(world, login, django_assert_max_num_queries):
    rollups_recompute(org=world.org, today=date.today())
    client = login("admin")
    url = reverse("strategy_map_evidence")
    with django_assert_max_num_queries(15):
        response = client.get(url)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('class="card evidence-link"') == 14  # the default template's links
    assert "not enough data to tell" in html  # a tiny organisation says so instead of inventing a link


def test_the_evidence_page_is_limited_to_what_the_user_sees(world, login):
    url = reverse("strategy_map_evidence")
    manager = login("manager")
    assert "Acme/Nordics" in manager.get(url).content.decode()
    assert manager.get(url, {"territory": world.territories["iberia"].pk}).status_code == 404
