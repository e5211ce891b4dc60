"""Stored rollups follow changes: affected periods, deduplicated enqueue, lock, idempotence."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db.models import Q

from kpis import recompute
from kpis.models import RecomputeRequest, ScopeRollup
from kpis.services import Later, rollups_recompute, rollups_recompute_pending
from tests.kpis.stored import stored_actual, stored_figures


def test_affected_periods_include_the_periods_that_compare_against_them():
    keys = recompute.affected_periods(date(2017, 5, 10), date(2017, 5, 10), 1, today=date(2030, 1, 1))
    assert {"2017-05", "2017-Q2", "2017"} <= keys  # the periods holding the date
    assert {"2017-06", "2017-Q3", "2018"} <= keys  # their "previous" comparisons
    assert {"2018-05", "2018-Q2"} <= keys  # their "last year" comparisons
    assert "2017-04" not in keys


@pytest.fixture
def org_with_deal(build):
    b = build()
    b.ann = b.rep("Ann", ("Acme/East", date(2017, 1, 1), None))
    b.opp = b.deal(b.ann, "won", engage=date(2017, 2, 1), close=date(2017, 4, 10), amount=100)
    rollups_recompute(org=b.org)
    return b


def _stored(b, period="2017-Q2", slug="won_revenue", path="Acme"):
    return stored_actual(b.org, slug, period, path)


def test_editing_a_deal_updates_the_stored_rollup_after_commit(
    org_with_deal, settings, django_capture_on_commit_callbacks
):
    b = org_with_deal
    settings.SCORECARD_AUTO_RECOMPUTE = True
    cache.clear()
    assert _stored(b) == 100
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        b.opp.amount = 250
        b.opp.save()
    assert len(callbacks) == 1
    assert _stored(b) == 250
    assert not RecomputeRequest.objects.filter(org=b.org).exists()


def test_moving_a_close_date_recomputes_the_old_period_too(
    org_with_deal, settings, django_capture_on_commit_callbacks
):
    b = org_with_deal
    settings.SCORECARD_AUTO_RECOMPUTE = True
    cache.clear()
    with django_capture_on_commit_callbacks(execute=True):
        b.opp.close_date = date(2017, 8, 1)
        b.opp.save()
    assert _stored(b, "2017-Q2") == 0
    assert _stored(b, "2017-Q3") == 100


def test_a_burst_of_edits_enqueues_once_while_pending(org_with_deal, settings, monkeypatch):
    b = org_with_deal
    settings.SCORECARD_AUTO_RECOMPUTE = True
    cache.clear()
    sent = []
    monkeypatch.setattr("kpis.tasks.recompute_pending.delay", lambda org_id: sent.append(org_id))
    for amount in range(100):
        b.opp.amount = amount
        b.opp.save()
        recompute.enqueue(b.org.pk)  # what the on-commit callback does
    assert sent == [b.org.pk]
    # The run clears the pending flag first, so an edit during it enqueues exactly one more.
    rollups_recompute_pending(b.org.pk)
    recompute.enqueue(b.org.pk)
    assert sent == [b.org.pk, b.org.pk]
    assert _stored(b) == 99


def test_a_second_run_waits_for_the_lock(org_with_deal):
    b = org_with_deal
    cache.clear()
    cache.add(recompute.lock_key(b.org.pk), "someone-else")
    recompute.request(b.org.pk, ["2017-Q2"])
    assert rollups_recompute_pending(b.org.pk) is Later.LOCKED
    cache.delete(recompute.lock_key(b.org.pk))
    assert rollups_recompute_pending(b.org.pk) > 0


def test_recompute_is_idempotent(org_with_deal):
    b = org_with_deal
    first = stored_figures(b.org)
    assert first
    call_command("recompute", "--org", b.org.slug)
    call_command("recompute", "--org", b.org.slug, "--period", "2017-Q2")
    again = stored_figures(b.org)
    assert again == first


def test_an_edit_recomputes_only_the_affected_periods_and_matches_a_full_recompute(
    build, settings, django_capture_on_commit_callbacks
):
    b = build()
    ann = b.rep("Ann", ("Acme/East/Boston", date(2017, 1, 1), None))
    bob = b.rep("Bob", ("Acme/West/Denver", date(2017, 1, 1), None))
    opp = b.deal(ann, "won", engage=date(2017, 2, 1), close=date(2017, 4, 10), amount=100)
    b.deal(bob, "won", engage=date(2017, 2, 1), close=date(2018, 9, 10), amount=70)
    rollups_recompute(org=b.org)
    RecomputeRequest.objects.filter(org=b.org).delete()
    west = [b.territory("Acme/West").pk, b.territory("Acme/West/Denver").pk]
    elsewhere = ScopeRollup.objects.filter(org=b.org).filter(Q(territory_id__in=west) | Q(rep=bob))
    untouched = set(elsewhere.values_list("pk", flat=True))
    assert len(untouched) == 6  # West, Denver and Bob in 2017 and 2018
    settings.SCORECARD_AUTO_RECOMPUTE = True
    cache.clear()
    with django_capture_on_commit_callbacks(execute=True):
        opp.amount = 130
        opp.save()
    # Bob's rows and his territories' compare with nothing the edit touched: they were not rewritten.
    assert set(elsewhere.values_list("pk", flat=True)) == untouched
    assert _stored(b, path="Acme") == 130 and _stored(b, path="Acme/East") == 130
    assert _stored(b, period="2018", path="Acme") == 70
    incremental = stored_figures(b.org)
    rollups_recompute(org=b.org)
    assert stored_figures(b.org) == incremental


@pytest.mark.parametrize("warm_orgs", [0, 2], ids=["window-read", "kept-deals"])
def test_a_deal_taking_over_its_accounts_first_win_recomputes_where_that_win_was(
    build, settings, django_capture_on_commit_callbacks, warm_orgs
):
    settings.SCORECARD_WARM_ORGS = warm_orgs
    b = build()
    ann = b.rep("Ann", ("Acme/East/Boston", date(2017, 1, 1), None))
    bob = b.rep("Bob", ("Acme/West/Denver", date(2017, 1, 1), None))
    account = b.account("A")
    b.deal(bob, "won", engage=date(2020, 8, 1), close=date(2020, 9, 10), amount=70, account=account)
    earlier = b.deal(
        ann, "lost", engage=date(2017, 2, 1), close=date(2017, 4, 10), amount=100, account=account
    )
    rollups_recompute(org=b.org)
    RecomputeRequest.objects.filter(org=b.org).delete()
    assert _stored(b, "2020", "new_customers", "Acme/West") == 1
    settings.SCORECARD_AUTO_RECOMPUTE = True
    cache.clear()
    with django_capture_on_commit_callbacks(execute=True):
        earlier.stage = "won"
        earlier.save()
    # The account is new in 2017 in Boston now, and no longer in 2020 in Denver: a year the edited deal
    # has no date in.
    assert _stored(b, "2017-Q2", "new_customers", "Acme/East") == 1
    assert _stored(b, "2020", "new_customers", "Acme/West") == 0
    incremental = stored_figures(b.org)
    rollups_recompute(org=b.org)
    assert stored_figures(b.org) == incremental


def test_an_organisation_with_stored_rollups_can_be_deleted(org_with_deal):
    from scorecard.models import Organization
    from scorecard.services import organization_delete

    b = org_with_deal
    assert ScopeRollup.objects.filter(org=b.org).exists()
    organization_delete(b.org)
    assert not Organization.objects.filter(pk=b.org.pk).exists()
    assert not ScopeRollup.objects.filter(org_id=b.org.pk).exists()
