"""The scorecard designer: admins only; edits ask why and keep the history; formulas checked live."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils.html import escape

from kpis.models import KPI, Source
from kpis.services import rollups_recompute
from perspectives.models import Objective, ObjectiveLink, Perspective
from sales.models import Opportunity, Stage
from scorecard.templatetags.scorecard_format import kpi_value

pytest_plugins = ["tests.conftest_personas"]


def _kpi(world, slug: str) -> KPI:
    return KPI.objects.get(org=world.org, slug=slug)


@pytest.mark.parametrize("persona", ["manager", "rep", "viewer"])
def test_only_admins_design_the_scorecard(world, login, persona):
    client = login(persona)
    kpi = _kpi(world, "won_revenue")
    for url in (
        reverse("designer"),
        reverse("designer_kpi", args=[kpi.pk]),
        reverse("designer_kpi_new"),
        reverse("designer_objective", args=[kpi.objective_id]),
        reverse("designer_formula_check"),
    ):
        assert client.get(url).status_code == 403


def test_another_organisations_definitions_are_404(world, login):
    client = login("admin")
    foreign = KPI.objects.filter(org=world.other_org).first()
    assert client.get(reverse("designer_kpi", args=[foreign.pk])).status_code == 404
    assert client.get(reverse("designer_objective", args=[foreign.objective_id])).status_code == 404
    assert (
        client.get(reverse("designer_perspective", args=[foreign.objective.perspective_id])).status_code
        == 404
    )


def test_the_overview_shows_every_level_with_its_share_in_constant_queries(
    world, login, django_assert_max_num_queries
):
    client = login("admin")
    with django_assert_max_num_queries(10):
        page = client.get(reverse("designer")).content.decode()
    for perspective in Perspective.objects.filter(org=world.org):
        assert escape(perspective.name) in page
    assert KPI.objects.filter(org=world.org).count() == page.count('aria-label="Edit KPI ')
    weights = [p.weight for p in Perspective.objects.filter(org=world.org)]
    share = round(weights[0] / sum(weights) * 100)
    assert f"{share} % of the scorecard" in page


def test_reweighting_a_kpi_asks_why_and_the_history_shows_who_what_and_why(world, login):
    client = login("admin")
    kpi = _kpi(world, "won_revenue")
    old = kpi.weight
    form = client.get(reverse("designer_kpi", args=[kpi.pk])).context["form"]
    data = {name: value for name, value in form.initial.items() if value is not None}
    data.update(weight="3", reason="Revenue is this year's priority", active="on" if kpi.active else "")
    data = {k: ("on" if v is True else v) for k, v in data.items() if v is not False}
    response = client.post(reverse("designer_kpi", args=[kpi.pk]), data)
    assert response.status_code == 302, response.context["form"].errors
    kpi.refresh_from_db()
    assert kpi.weight == Decimal("3")
    page = client.get(reverse("designer_kpi", args=[kpi.pk])).content.decode()
    assert "Revenue is this year&#x27;s priority" in page and "Ada Admin" in page
    assert f"Weight: {old} → 3.00" in page


def test_retiring_a_kpi_keeps_it_in_the_designer_marked_retired(world, login):
    client = login("admin")
    kpi = _kpi(world, "won_deals")
    form = client.get(reverse("designer_kpi", args=[kpi.pk])).context["form"]
    data = {k: ("on" if v is True else v) for k, v in form.initial.items() if v not in (None, False)}
    data.pop("active", None)
    data["reason"] = "Replaced by win rate"
    assert client.post(reverse("designer_kpi", args=[kpi.pk]), data).status_code == 302
    kpi.refresh_from_db()
    assert kpi.active is False
    assert "Retired" in client.get(reverse("designer")).content.decode()


def test_a_formula_kpi_with_a_syntax_error_is_refused_beside_the_field_then_created(world, login):
    client = login("admin")
    objective = _kpi(world, "won_revenue").objective
    data = {
        "objective": objective.pk, "name": "Double revenue", "slug": "double_revenue", "source": "formula",
        "formula": "won_revenue * (2", "unit": "currency", "direction": "higher", "weight": "1",
        "tolerance": "0.10", "transform": "value", "time_aggregation": "sum", "tree_aggregation": "sum",
        "order": "99", "active": "on",
    }  # fmt: skip
    response = client.post(reverse("designer_kpi_new"), data)
    assert response.status_code == 400
    assert 'aria-invalid="true"' in response.content.decode()
    assert not KPI.objects.filter(org=world.org, slug="double_revenue").exists()
    data["formula"] = "won_revenue * 2"
    assert client.post(reverse("designer_kpi_new"), data).status_code == 302
    assert KPI.objects.get(org=world.org, slug="double_revenue").source == Source.FORMULA


def test_the_live_formula_check_names_the_error_or_previews_the_value_at_the_root(world, login):
    rollups_recompute(org=world.org, period_keys=["2024-Q1"], today=date(2024, 6, 30))
    client = login("admin")
    url = reverse("designer_formula_check") + "?period=2024-Q1"
    bad = client.post(url, {"formula": "won_revenue *", "slug": "x", "source": "formula"}).content.decode()
    assert "Not yet:" in bad
    unknown = client.post(
        url, {"formula": "won_revenu * 2", "slug": "x", "source": "formula"}
    ).content.decode()
    assert "unknown KPI won_revenu" in unknown
    won = sum(
        o.amount
        for o in Opportunity.objects.filter(
            org=world.org, stage=Stage.WON, close_date__range=(date(2024, 1, 1), date(2024, 3, 31))
        )
    )
    assert won > 0
    good = client.post(
        url, {"formula": "won_revenue * 2", "slug": "x", "source": "formula", "unit": "currency"}
    ).content.decode()
    assert "Valid." in good and "2024-Q1" in good
    assert kpi_value(float(won * 2), "currency", world.org.currency) in good


def test_an_objective_is_created_with_its_links_and_a_link_both_ways_is_refused(world, login):
    client = login("admin")
    perspective = Perspective.objects.filter(org=world.org).order_by("order").first()
    cause, effect = Objective.objects.filter(org=world.org).order_by("pk")[:2]
    data = {
        "perspective": perspective.pk, "name": "Grow in the Nordics", "slug": "grow_nordics", "weight": "1",
        "order": "9", "causes": [cause.pk], "effects": [cause.pk],
    }  # fmt: skip
    response = client.post(reverse("designer_objective_new"), data)
    assert response.status_code == 400 and "cannot be both a cause and an effect" in response.content.decode()
    data["effects"] = [effect.pk]
    assert client.post(reverse("designer_objective_new"), data).status_code == 302
    created = Objective.objects.get(org=world.org, slug="grow_nordics")
    links = set(ObjectiveLink.objects.filter(org=world.org).values_list("cause_id", "effect_id"))
    assert {(cause.pk, created.pk), (created.pk, effect.pk)} <= links


def test_names_are_escaped_everywhere_in_the_designer(world, login):
    kpi = _kpi(world, "won_revenue")
    kpi.name = "<script>alert(1)</script>"
    kpi.save()
    page = login("admin").get(reverse("designer")).content.decode()
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
