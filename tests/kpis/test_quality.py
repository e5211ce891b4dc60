"""The data-quality panel: each check counted exactly, listed, and the page for admins only."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse

from kpis.models import KPI, Source
from kpis.quality import data_quality, missing_measurements
from kpis.services import measurement_set
from sales.models import Stage
from tests.factories import OpportunityFactory, RepFactory

pytest_plugins = ["tests.conftest_personas"]

TODAY = date(2024, 8, 15)  # Q3 2024 is live; Q2, Q1, 2023-Q4 and 2023-Q3 are the recent closed quarters


def test_reps_without_an_assignment_today_are_listed_leavers_and_future_hires_are_not(world):
    RepFactory.create(org=world.org, name="Una Unassigned", hire_date=date(2024, 1, 1))
    RepFactory.create(org=world.org, name="Lea Left", hire_date=date(2020, 1, 1), leave_date=date(2024, 2, 1))
    RepFactory.create(org=world.org, name="Fay Future", hire_date=date(2025, 1, 1))
    quality = data_quality(world.org, TODAY)
    names = [rep.name for rep in quality.reps_unassigned]
    assert "Una Unassigned" in names and "Lea Left" not in names and "Fay Future" not in names
    assert "Nora Nordin" not in names  # assigned from the personas' start
    assert quality.reps_unassigned_count == len(names)


def test_open_deals_past_their_close_date_are_listed_closed_ones_are_not(world):
    nora = world.reps["nora"]
    late = OpportunityFactory.create(rep=nora, external_id="LATE", close_date=date(2024, 7, 1))
    OpportunityFactory.create(rep=nora, external_id="SOON", close_date=date(2024, 9, 1))
    OpportunityFactory.create(rep=nora, external_id="DONE", stage=Stage.WON, close_date=date(2024, 7, 1))
    quality = data_quality(world.org, TODAY)
    assert [d.external_id for d in quality.overdue] == ["LATE"] and quality.overdue_count == 1
    assert quality.overdue[0] == late


def test_deals_without_a_territory_are_counted_as_credited_to_the_root(world):
    drifter = RepFactory.create(org=world.org, name="Dora Drifter")  # no assignment
    OpportunityFactory.create(rep=drifter, stage=Stage.WON, close_date=date(2024, 3, 1))
    OpportunityFactory.create(rep=drifter)
    assert data_quality(world.org, TODAY).unassigned == {"closed": 1, "open": 1, "total": 2}


def test_a_manual_kpi_missing_for_a_scope_that_reported_it_recently_is_listed(world):
    kpi = KPI.objects.filter(org=world.org, source=Source.MANUAL).order_by("order").first()
    nordics, iberia = world.territories["nordics"], world.territories["iberia"]
    for quarter in ("2023-Q3", "2023-Q4", "2024-Q1", "2024-Q2"):
        measurement_set(kpi=kpi, period=quarter, value=40, territory=nordics)
    for quarter in ("2023-Q4", "2024-Q1"):
        measurement_set(kpi=kpi, period=quarter, value=40, territory=iberia)
    measurement_set(kpi=kpi, period="2024-Q3", value=40, territory=iberia)  # the live quarter is not checked
    gaps = {(m.kpi.slug, m.period): m.scopes for m in missing_measurements(world.org, TODAY)}
    assert gaps == {(kpi.slug, "2024-Q2"): ["Acme/Iberia"], (kpi.slug, "2023-Q3"): ["Acme/Iberia"]}


@pytest.mark.parametrize("persona", ["manager", "rep", "viewer"])
def test_only_admins_open_the_panel(login, persona):
    assert login(persona).get(reverse("data_quality")).status_code == 403


def test_the_panel_shows_each_check_in_a_constant_number_of_queries(
    world, login, django_assert_max_num_queries
):
    for i in range(5):
        OpportunityFactory.create(rep=world.reps["nora"], external_id=f"OLD-{i}", close_date=date(2020, 2, 1))
    client = login("admin")
    with django_assert_max_num_queries(12):
        response = client.get(reverse("data_quality"))
    page = response.content.decode()
    assert response.status_code == 200
    assert "Open deals past their close date: 5" in page and "OLD-4" in page


def test_a_rep_is_not_expected_to_report_before_hire_or_after_leaving(world):
    kpi = KPI.objects.filter(org=world.org, source=Source.MANUAL).order_by("order").first()
    newcomer = RepFactory.create(org=world.org, name="Nina Newcomer", hire_date=date(2024, 5, 2))
    leaver = RepFactory.create(
        org=world.org, name="Leo Leaver", hire_date=date(2020, 1, 1), leave_date=date(2023, 12, 1)
    )
    measurement_set(kpi=kpi, period="2024-Q2", value=3, rep=newcomer)
    measurement_set(kpi=kpi, period="2023-Q3", value=3, rep=leaver)
    # Nina joined in 2024-Q2, Leo left in 2023-Q4: neither is missing anywhere. Only Nora, who
    # reported in 2023-Q3 and was employed throughout, is missing in the three later quarters.
    measurement_set(kpi=kpi, period="2023-Q3", value=3, rep=world.reps["nora"])
    gaps = {m.period: m.scopes for m in missing_measurements(world.org, TODAY)}
    assert gaps == {"2024-Q2": ["Nora Nordin"], "2024-Q1": ["Nora Nordin"], "2023-Q4": ["Nora Nordin"]}
