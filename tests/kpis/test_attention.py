"""The rep's "needs attention" block (kpis/attention.py, templates/sales/attention.html): certifications
expiring within 60 days, open deals with no update for 30 days or a close date in the past, manual
entries due before their period closes — the rep's own only."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.template.loader import render_to_string
from django.utils import timezone

from kpis.attention import manual_entries_due, rep_attention
from kpis.models import KPI, Measurement, Source
from people.models import Certification, CertificationType
from sales.models import Account, Opportunity, Stage
from scorecard import access

pytest_plugins = ["tests.conftest_personas"]

TODAY = date(2024, 6, 10)


def _at(day: date) -> datetime:
    return timezone.make_aware(datetime(day.year, day.month, day.day, 12))


def _deal(rep, external_id, *, updated: date, close: date | None, stage=Stage.PROPOSAL, account=None):
    deal = Opportunity.objects.create(
        org=rep.org, rep=rep, external_id=external_id, stage=stage, close_date=close, account=account
    )
    Opportunity.objects.filter(pk=deal.pk).update(updated_at=_at(updated))
    return deal


@pytest.fixture
def deals(world):
    nora, sergio = world.reps["nora"], world.reps["sergio"]
    Opportunity.objects.filter(org=world.org).update(updated_at=_at(TODAY - timedelta(days=1)))
    account = Account.objects.create(org=world.org, external_id="A1", name="<b>Bold & Co</b>")
    return {
        "overdue": _deal(nora, "OVERDUE", updated=date(2024, 6, 5), close=date(2024, 6, 1), account=account),
        "quiet": _deal(nora, "QUIET", updated=date(2024, 5, 10), close=date(2024, 9, 30)),
        "both": _deal(nora, "BOTH", updated=date(2024, 4, 1), close=date(2024, 5, 1)),
        "fresh": _deal(nora, "FRESH", updated=date(2024, 5, 12), close=date(2024, 7, 1)),
        "won": _deal(nora, "OLD-WON", updated=date(2023, 1, 1), close=date(2023, 1, 1), stage=Stage.WON),
        "sergio": _deal(sergio, "SERGIO-LATE", updated=date(2024, 1, 1), close=date(2024, 2, 1)),
    }


@pytest.fixture
def certifications(world):
    nora, sergio = world.reps["nora"], world.reps["sergio"]
    kinds = {
        name: CertificationType.objects.create(org=world.org, name=name, category="product")
        for name in ("Soon", "Today", "Later", "Gone", "Renewed")
    }

    def cert(rep, kind, earned, expires):
        return Certification.objects.create(
            org=world.org, rep=rep, type=kinds[kind], earned=earned, expires=expires
        )

    return {
        "soon": cert(nora, "Soon", date(2022, 7, 15), date(2024, 7, 15)),
        "today": cert(nora, "Today", date(2022, 6, 10), TODAY),
        "later": cert(nora, "Later", date(2022, 9, 30), date(2024, 9, 30)),
        "gone": cert(nora, "Gone", date(2022, 6, 1), date(2024, 6, 1)),
        "renewed_old": cert(nora, "Renewed", date(2022, 7, 1), date(2024, 7, 1)),
        "renewed_new": cert(nora, "Renewed", date(2024, 5, 1), date(2026, 5, 1)),
        "sergio": cert(sergio, "Soon", date(2022, 7, 1), date(2024, 7, 1)),
    }


def _membership(world, persona="rep"):
    return access.require_membership(world.request(persona))


def test_open_deals_past_their_close_date_or_quiet_for_30_days_need_attention(world, deals):
    found = rep_attention(_membership(world), world.reps["nora"], TODAY).deals
    assert [(d.external_id, d.overdue, d.stale) for d in found] == [
        ("BOTH", True, True),
        ("OVERDUE", True, False),
        ("QUIET", False, True),
    ]


def test_certifications_expiring_within_60_days_need_attention_unless_renewed(world, certifications):
    found = rep_attention(_membership(world), world.reps["nora"], TODAY).certifications
    assert [c.pk for c in found] == [certifications["today"].pk, certifications["soon"].pk]


def _manual_kpi(world) -> KPI:
    return KPI.objects.filter(org=world.org, source=Source.MANUAL).order_by("pk")[0]


def test_a_manual_entry_is_due_when_its_period_closes_within_30_days(world):
    kpi, nora = _manual_kpi(world), world.reps["nora"]
    for key in ("2023-Q4", "2024-Q1"):
        Measurement.objects.create(org=world.org, kpi=kpi, rep=nora, period=key, value=Decimal(7))
    due = manual_entries_due(nora, TODAY)
    assert [(d.kpi, d.period, d.due) for d in due] == [(kpi, "2024-Q2", date(2024, 6, 30))]
    assert manual_entries_due(nora, date(2024, 4, 10)) == []  # the quarter closes in 81 days
    assert manual_entries_due(world.reps["sergio"], TODAY) == []
    Measurement.objects.create(org=world.org, kpi=kpi, rep=nora, period="2024-Q2", value=Decimal(8))
    assert manual_entries_due(nora, TODAY) == []


def test_a_manager_reading_a_reps_attention_sees_the_same_and_another_reps_is_empty(world, deals):
    manager = _membership(world, "manager")
    assert len(rep_attention(manager, world.reps["nora"], TODAY).deals) == 3
    # sergio is outside the manager's subtree: nothing of his is read
    assert rep_attention(manager, world.reps["sergio"], TODAY).deals == []


def test_the_block_links_each_item_and_escapes_names(world, deals, certifications):
    kpi = _manual_kpi(world)
    for key in ("2023-Q4", "2024-Q1"):
        Measurement.objects.create(
            org=world.org, kpi=kpi, rep=world.reps["nora"], period=key, value=Decimal(1)
        )
    attention = rep_attention(_membership(world), world.reps["nora"], TODAY)
    html = render_to_string("sales/attention.html", {"attention": attention})
    assert f'href="/sales/opportunities/{deals["overdue"].pk}/"' in html
    assert "close date 1 Jun 2024 has passed" in html and "no update since 10 May 2024" in html
    assert f'href="/people/certifications/{certifications["soon"].pk}/"' in html and "15 Jul 2024" in html
    assert f"{kpi.name} for 2024-Q2: due by 30 Jun 2024" in html
    assert "&lt;b&gt;Bold &amp; Co&lt;/b&gt;" in html and "<b>Bold" not in html
    assert "SERGIO" not in html
    assert "Needs your attention" in html and "· 6" in html


def test_the_block_says_when_nothing_needs_attention(world):
    Opportunity.objects.filter(rep=world.reps["sergio"]).update(updated_at=_at(TODAY))
    attention = rep_attention(_membership(world, "other_rep"), world.reps["sergio"], TODAY)
    assert attention.count == 0
    assert "Nothing right now" in render_to_string("sales/attention.html", {"attention": attention})


def test_the_attention_block_reads_a_constant_number_of_queries(
    world, deals, certifications, django_assert_max_num_queries
):
    membership = _membership(world)
    with django_assert_max_num_queries(5):
        rep_attention(membership, world.reps["nora"], TODAY)
