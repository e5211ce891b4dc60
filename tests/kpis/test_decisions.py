"""The product decisions of DESIGN §4 ("Decisions"), each worked out by hand (the projection method is
tested with the projections, in test_engine.py)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django import forms
from django.core.exceptions import ValidationError

from kpis.models import KPI
from kpis.services import measurement_set, target_set
from kpis.template import KPIS
from sales.models import Opportunity
from sales.selectors import unassigned_deals

Q2 = "2017-Q2"
TODAY = date(2017, 6, 15)  # Q2 is live: open deals are attributed on this day


@pytest.fixture
def unassigned(build):
    """Ann in Boston only from May, Bob in Denver, Cal in Denver until the end of May; house deals with
    and without a credited territory."""
    b = build()
    b.territory("Acme/East/Boston")
    denver = b.territory("Acme/West/Denver")
    b.ann = b.rep("Ann", ("Acme/East/Boston", date(2017, 5, 1), None))
    b.bob = b.rep("Bob", ("Acme/West/Denver", date(2017, 1, 1), None))
    b.cal = b.rep("Cal", ("Acme/West/Denver", date(2017, 1, 1), date(2017, 5, 31)))
    # Closed in Q2. Unassigned: Ann's two deals before May and the house deal without a territory.
    b.deal(b.ann, "won", close=date(2017, 4, 10), amount=100)
    b.deal(b.ann, "lost", close=date(2017, 4, 30), amount=10)
    b.deal(b.ann, "won", close=date(2017, 5, 10), amount=20)  # Boston
    b.deal(None, "won", close=date(2017, 4, 20), amount=7)
    b.deal(None, "won", close=date(2017, 6, 1), amount=3, territory=denver)
    b.deal(b.bob, "won", close=date(2017, 5, 5), amount=50)  # Denver
    # Open today. Unassigned: Cal's (he left Denver on May 31) and the house deal without a territory.
    b.deal(b.cal, "engaging", engage=date(2017, 5, 1), amount=30)
    b.deal(b.ann, "engaging", engage=date(2017, 6, 1), amount=40)  # Boston
    b.deal(None, "engaging", engage=date(2017, 6, 1), amount=5)
    b.deal(None, "engaging", engage=date(2017, 6, 1), amount=9, territory=denver)
    return b


# --- unassigned deals are credited to the root ------------------------------------------------------


def test_unassigned_deals_are_credited_to_the_root_so_it_equals_the_organisations_total(unassigned, figures):
    f = figures(unassigned.org, today=TODAY)
    # Every closed deal: won 100 + 20 + 7 + 3 + 50, lost 10.
    assert f.value("won_revenue", "Acme", Q2) == 180
    assert (f.value("won_deals", "Acme", Q2), f.value("lost_deals", "Acme", Q2)) == (5, 1)
    # The regions hold only the assigned ones: East Ann's May deal, West Bob's and the Denver house deal.
    assert f.value("won_revenue", "Acme/East", Q2) == 20
    assert f.value("won_revenue", "Acme/West", Q2) == 53
    assert f.value("lost_deals", "Acme/East", Q2) == 0
    # A rep's own scorecard has all of the rep's deals, assigned or not.
    assert f.value("won_revenue", unassigned.ann, Q2) == 120
    # Open today (June 15): all four at the root; Cal's only at the root since he left Denver...
    assert f.value("open_pipeline_count", "Acme", Q2) == 4
    assert f.value("open_pipeline_value", "Acme", Q2) == 30 + 40 + 5 + 9
    assert f.value("open_pipeline_count", "Acme/West", Q2) == 1
    assert f.value("open_pipeline_count", "Acme/East", Q2) == 1
    # ...but in Denver at the end of May, when he was still there.
    assert f.value("open_pipeline_count", "Acme/West", "2017-05") == 1


def test_the_data_quality_panel_counts_the_unassigned_deals(unassigned):
    counts = unassigned_deals(org=unassigned.org, today=TODAY)
    # Closed: Ann's won and lost deal before May, the house deal without a territory. Open: Cal's, and
    # the house deal without a territory; not Ann's (Boston today) nor the Denver house deal.
    assert counts == {"closed": 3, "open": 2, "total": 5}
    # Before Cal left, his open deal was assigned.
    assert unassigned_deals(org=unassigned.org, today=date(2017, 5, 31))["open"] == 1


def test_a_credited_territory_makes_a_deal_assigned_and_another_reps_assignment_does_not(unassigned):
    b = unassigned
    Opportunity.objects.filter(org=b.org, rep=None, territory=None).update(
        territory=b.territory("Acme/East/Boston")
    )
    assert unassigned_deals(org=b.org, today=TODAY) == {"closed": 2, "open": 1, "total": 3}
    b.rep("Ann2", ("Acme/East", date(2017, 6, 1), None))  # another rep's assignment changes nothing
    assert unassigned_deals(org=b.org, today=TODAY)["closed"] == 2


# --- a closed deal needs a close date ---------------------------------------------------------------


class OpportunityForm(forms.ModelForm):
    class Meta:
        model = Opportunity
        fields = ["external_id", "stage", "close_date"]


@pytest.mark.parametrize("stage", ["won", "lost"])
def test_a_won_or_lost_deal_needs_a_close_date(build, stage):
    org = build().org
    deal = Opportunity(org=org, external_id="D1", stage=stage)
    with pytest.raises(ValidationError) as raised:
        deal.full_clean()
    assert raised.value.message_dict == {"close_date": [f"A {stage} deal needs a close date."]}
    form = OpportunityForm({"external_id": "D1", "stage": stage}, instance=Opportunity(org=org))
    assert form.errors == {"close_date": [f"A {stage} deal needs a close date."]}
    form = OpportunityForm(
        {"external_id": "D1", "stage": stage, "close_date": "2017-05-02"}, instance=Opportunity(org=org)
    )
    assert form.is_valid()


def test_an_open_deal_needs_no_close_date(build):
    Opportunity(org=build().org, external_id="D1", stage="engaging").full_clean()


# --- market share pro-rates the annual market size --------------------------------------------------


def test_market_share_is_won_revenue_over_the_annual_market_size_pro_rated_to_the_period(build, figures):
    b = build()
    rep = b.rep("Ann", ("Acme/East", date(2017, 1, 1), None))
    for day, amount in ((date(2017, 1, 20), 100), (date(2017, 2, 10), 50), (date(2017, 5, 5), 60)):
        b.deal(rep, "won", close=day, amount=amount)
    b.deal(rep, "won", close=date(2017, 11, 3), amount=90)
    market, acme = b.kpi("market_size"), b.territory("Acme")
    measurement_set(kpi=market, territory=acme, period="2017-01", value=1200)  # annual figures
    measurement_set(kpi=market, territory=acme, period=Q2, value=2400)
    f = figures(b.org)
    # A month: 100 ÷ (1200 × 1/12) = 100 ÷ 100.
    assert f.value("market_share", "Acme", "2017-01") == pytest.approx(1.0)
    assert f.value("market_share", "Acme", "2017-02") is None  # no market size for February
    # A quarter's market size is its last month's (time aggregation "last"), still the annual figure:
    # Q1 (100 + 50) ÷ (1200 × 3/12) = 150 ÷ 300; Q2 60 ÷ (2400 × 3/12) = 60 ÷ 600.
    assert f.value("market_size", "Acme", "2017-Q1") == 1200
    assert f.value("market_share", "Acme", "2017-Q1") == pytest.approx(0.5)
    assert f.value("market_share", "Acme", Q2) == pytest.approx(0.1)
    # The year's is its last quarter's entry (Q2): (100 + 50 + 60 + 90) ÷ (2400 × 12/12).
    assert f.value("market_size", "Acme", "2017") == 2400
    assert f.value("market_share", "Acme", "2017") == pytest.approx(300 / 2400)
    assert f.value("market_share", "Acme/East", "2017") is None  # the market size is the root's


def test_a_formula_cannot_be_shadowed_by_a_kpi_named_months(build):
    kpi = build().kpi("nps")
    kpi.slug = "months"
    with pytest.raises(ValidationError, match="reserved in formulas"):
        kpi.full_clean()


# --- no default goals on count and currency KPIs ----------------------------------------------------


def test_the_template_sets_default_goals_only_on_scale_free_kpis():
    scaled = [spec for spec in KPIS if spec["unit"] in ("count", "currency")]
    assert scaled and all(s["default_goal"] is None and s["default_red_flag"] is None for s in scaled)
    scale_free = [spec for spec in KPIS if spec["unit"] not in ("count", "currency")]
    assert any(spec["default_goal"] is not None for spec in scale_free)


def test_every_template_kpi_is_valid(build):
    for kpi in KPI.objects.filter(org=build().org):
        kpi.full_clean()


def test_a_count_or_currency_kpi_refuses_a_default_goal(build):
    b = build()
    deals = b.kpi("won_deals")
    deals.default_goal = 5
    with pytest.raises(ValidationError) as raised:
        deals.full_clean()
    assert raised.value.message_dict == {
        "default_goal": [
            "A count KPI has no default goal: its target is set per territory or rep and period, or is "
            "the sum of its children's."
        ]
    }
    revenue = b.kpi("won_revenue")
    revenue.default_red_flag = 1000
    with pytest.raises(ValidationError, match="A currency KPI has no default red flag"):
        revenue.full_clean()
    rate = b.kpi("win_rate")  # a fraction: scale-free, a default goal fits every scope and period
    rate.default_goal, rate.default_red_flag = Decimal("0.6"), Decimal("0.5")
    rate.full_clean()


def test_a_count_kpi_without_a_target_is_gray_no_target_and_sums_its_childrens(unassigned, figures):
    b = unassigned
    pocs = b.kpi("poc_success_not_won")
    f = figures(b.org, today=TODAY)
    row = f.row(pocs, "Acme", Q2)
    assert (row.actual, row.goal, row.status, row.status_reason) == (0, None, "gray", "no target")
    target_set(kpi=pocs, territory=b.territory("Acme/East/Boston"), period=Q2, goal=2, red_flag=4)
    target_set(kpi=pocs, territory=b.territory("Acme/West/Denver"), period=Q2, goal=1, red_flag=3)
    row = figures(b.org, today=TODAY).row(pocs, "Acme", Q2)
    assert (row.goal, row.red_flag) == (3, 7)
