"""Period locks: refused writes name the lock; unlocking needs a reason; both are in the history."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from imports.errors import ImportFailed
from imports.services import opportunities_import
from kpis.models import KPI, Source, Target
from kpis.services import measurement_set, target_set
from sales.models import Opportunity
from sales.services import opportunity_delete, opportunity_save
from scorecard.locks import PeriodLocked, lock_covering_day
from scorecard.models import PeriodLock
from scorecard.services import organization_create, period_lock, period_unlock
from territories.models import Rep
from territories.services import assignment_create, territory_get_or_create_path
from tests.factories import UserFactory
from tests.imports.helpers import opportunity_rows, write_csv


@pytest.fixture
def acme(db):
    org = organization_create(name="Acme", slug="acme")
    east = territory_get_or_create_path(org=org, path="Acme/East")
    alice = Rep.objects.create(org=org, name="Alice Smith")
    assignment_create(rep=alice, territory=east, start=date(2017, 1, 1))
    from sales.models import Product

    Product.objects.create(org=org, name="Widget", line="Tools", list_price=Decimal("100"))
    return org


@pytest.fixture
def ada(db):
    return UserFactory(username="ada", first_name="Ada", last_name="Lovelace")


def test_a_lock_covers_every_day_of_its_period_and_names_who_set_it(acme, ada):
    lock = period_lock(org=acme, period="2017-Q1", user=ada)
    assert lock_covering_day(acme, date(2017, 1, 1)) == lock
    assert lock_covering_day(acme, date(2017, 3, 31)) == lock
    assert lock_covering_day(acme, date(2017, 4, 1)) is None
    record = lock.history.get()
    assert (record.history_type, record.history_user) == ("+", ada)


def test_only_ended_periods_not_already_covered_can_be_locked(acme, ada):
    with pytest.raises(ValidationError, match="has not ended yet"):
        period_lock(org=acme, period="2999-Q1", user=ada)
    with pytest.raises(ValidationError, match="not a period|cannot|invalid|Unknown|period"):
        period_lock(org=acme, period="2017-Q5", user=ada)
    period_lock(org=acme, period="2017", user=ada)
    with pytest.raises(ValidationError, match="already locked by the lock on 2017"):
        period_lock(org=acme, period="2017-02", user=ada)


def test_unlocking_needs_a_reason_kept_in_the_history(acme, ada):
    lock = period_lock(org=acme, period="2017-Q1", user=ada)
    pk = lock.pk
    with pytest.raises(ValidationError, match="Say why"):
        period_unlock(lock=lock, user=ada, reason="  ")
    assert PeriodLock.objects.filter(pk=pk).exists()
    period_unlock(lock=lock, user=ada, reason="Late invoice from Globex")
    assert not PeriodLock.objects.filter(pk=pk).exists()
    removal = PeriodLock.history.filter(id=pk, history_type="-").get()
    assert (removal.history_user, removal.history_change_reason) == (ada, "Late invoice from Globex")


def _kpi(org, source=Source.METRIC) -> KPI:
    kpi = KPI.objects.filter(org=org, source=source).order_by("pk").first()
    assert kpi is not None
    return kpi


def test_targets_inside_a_locked_period_are_refused_the_enclosing_year_is_not(acme, ada):
    period_lock(org=acme, period="2017-Q1", user=ada)
    kpi, root = _kpi(acme), acme.root_territory()
    for key in ("2017-Q1", "2017-02"):
        with pytest.raises(PeriodLocked) as refused:
            target_set(kpi=kpi, period=key, goal=10, territory=root, reason="plan")
        message = refused.value.messages[0]
        assert message.startswith("2017-Q1 is locked (by Ada Lovelace on ")
        assert "its targets cannot change" in message and "An admin of Acme can unlock it" in message
    assert not Target.objects.filter(kpi=kpi, period__in=["2017-Q1", "2017-02"]).exists()
    target_set(kpi=kpi, period="2017", goal=40, territory=root, reason="plan")
    target_set(kpi=kpi, period="2017-Q2", goal=10, territory=root, reason="plan")


def test_measurements_inside_a_locked_period_are_refused(acme, ada):
    period_lock(org=acme, period="2017-01", user=ada)
    kpi = _kpi(acme, Source.MANUAL)
    with pytest.raises(PeriodLocked, match="its measurements cannot change"):
        measurement_set(kpi=kpi, period="2017-01", value=40, territory=acme.root_territory())
    measurement_set(kpi=kpi, period="2017-02", value=40, territory=acme.root_territory())


def test_deals_closing_in_a_locked_period_cannot_be_added_changed_moved_or_deleted(acme, ada):
    alice = Rep.objects.get(org=acme)
    open_deal = Opportunity(
        org=acme, external_id="A", rep=alice, stage="engaging", created_date=date(2017, 1, 2)
    )
    opportunity_save(opportunity=open_deal)
    won = opportunity_save(
        opportunity=Opportunity(
            org=acme,
            external_id="B",
            rep=alice,
            stage="won",
            created_date=date(2017, 1, 2),
            close_date=date(2017, 2, 1),
            amount=Decimal("10"),
        )
    )
    period_lock(org=acme, period="2017-Q1", user=ada)
    new = Opportunity(
        org=acme,
        external_id="C",
        rep=alice,
        stage="won",
        created_date=date(2017, 1, 2),
        close_date=date(2017, 3, 1),
        amount=Decimal("5"),
    )
    with pytest.raises(PeriodLocked, match="deals closing in it cannot be added, changed or deleted"):
        opportunity_save(opportunity=new)
    won.amount = Decimal("11")
    with pytest.raises(PeriodLocked):
        opportunity_save(opportunity=won)
    won.amount, won.close_date = Decimal("10"), date(2017, 4, 3)  # moving it out of the lock: refused too
    with pytest.raises(PeriodLocked):
        opportunity_save(opportunity=won)
    with pytest.raises(PeriodLocked):
        opportunity_delete(opportunity=Opportunity.objects.get(external_id="B"))
    open_deal.stage, open_deal.close_date, open_deal.amount = "won", date(2017, 3, 2), Decimal("1")
    with pytest.raises(PeriodLocked):  # closing an open deal into the locked quarter
        opportunity_save(opportunity=open_deal)
    stored = Opportunity.objects.get(external_id="B")
    assert (stored.amount, stored.close_date) == (Decimal("10.0000"), date(2017, 2, 1))
    open_deal.close_date = date(2017, 4, 2)
    opportunity_save(opportunity=open_deal)  # closing after the lock is fine


def test_an_import_touching_a_locked_period_is_refused_whole_a_reimport_of_it_is_a_no_op(acme, ada, tmp_path):
    rows = opportunity_rows({"close_date": "2017-03-15"}, {"close_date": "2017-05-15"})
    path = write_csv(tmp_path / "o.csv", rows)
    opportunities_import(org_slug="acme", path=path)
    period_lock(org=acme, period="2017-Q1", user=ada)
    assert opportunities_import(org_slug="acme", path=path).counts.unchanged == 2  # nothing changes: fine

    changed = write_csv(
        tmp_path / "o2.csv",
        opportunity_rows(
            {"close_date": "2017-03-15", "amount": "1"}, {"close_date": "2017-05-15", "amount": "7"}
        ),
    )
    with pytest.raises(ImportFailed) as failed:
        opportunities_import(org_slug="acme", path=changed)
    (error,) = failed.value.errors
    assert "opportunity OPP-1 closing on 2017-03-15 cannot change" in error.message
    assert error.message.startswith("2017-Q1 is locked (by Ada Lovelace")
    amounts = dict(Opportunity.objects.filter(org=acme).values_list("external_id", "amount"))
    assert amounts == {"OPP-1": Decimal("1200.5000"), "OPP-2": Decimal("1200.5000")}  # nothing written

    products = write_csv(tmp_path / "o3.csv", opportunity_rows({"close_date": "2017-03-15", "products": ""}))
    with pytest.raises(ImportFailed, match="1 error"):
        opportunities_import(org_slug="acme", path=products)


def test_the_history_records_who_changed_definitions_targets_the_tree_and_memberships(acme, ada):
    kpi = _kpi(acme)
    kpi.weight = 3
    kpi._change_reason = "Pipeline matters more this year"
    kpi._history_user = ada
    kpi.save()
    latest = kpi.history.latest()
    assert (latest.weight, latest.history_user, latest.history_change_reason) == (
        3,
        ada,
        "Pipeline matters more this year",
    )
    assert latest.diff_against(latest.prev_record).changed_fields == ["weight"]
    east = acme.territories.get(name="East")
    from territories.services import territory_rename

    territory_rename(territory=east, name="East Coast")
    assert east.history.latest().name == "East Coast"
    assert east.history.count() >= 2
    call_command("check")  # the historical models are sound
