"""Each write path that can change a stored figure requests a recompute in its own transaction (and logs
the deals it changes), and the change-driven recompute — in a process keeping the deals warm — then
stores what a recompute from scratch stores."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from imports.options import ImportOptions
from imports.services_inputs import measurements_import
from kpis.models import KPI, DealChange, RecomputeRequest
from kpis.rollup import warm
from kpis.services import (
    kpi_update,
    measurement_clear,
    measurement_set,
    rollups_recompute,
    rollups_recompute_pending,
    target_set,
)
from people.models import Certification, CertificationType, Program, ProgramParticipation
from people.services import certification_save
from sales.models import Deliverable, Opportunity
from scorecard.models import Organization
from scorecard.services import organization_settings_update
from territories.models import Rep, Territory
from territories.services import (
    rep_assign,
    rep_hire,
    rep_update,
    territory_add,
    territory_move,
    territory_rename,
)
from tests.kpis.stored import stored_actual
from tests.kpis.write_paths import _csv, fresh_figures, stored_rows

TODAY = date.today()
START = date(TODAY.year - 1, 1, 1)


@pytest.fixture
def org(build, settings):
    """Two teams, three reps (one only identifies deals), won and lost deals with deliverables, a
    certification and a programme; recomputed once in this process (deals kept warm)."""
    settings.SCORECARD_WARM_ORGS = 2
    warm.forget()
    b = build(slug="writes")
    ann = b.rep("Ann", ("Acme/East/E1", START - timedelta(days=400), None), hire=START - timedelta(days=400))
    bob = b.rep("Bob", ("Acme/West/W1", START - timedelta(days=400), None), hire=START - timedelta(days=400))
    scout = b.rep("Scout", ("Acme/East/E1", START - timedelta(days=400), None))
    doc = Deliverable.objects.create(org=b.org, name="Architecture overview")
    product = b.product("Box", "Hardware", price=Decimal(500))
    for i in range(6):
        engage = START + timedelta(days=40 * i)
        b.deal(
            (ann, bob)[i % 2],
            ("won", "lost")[i % 3 == 2],
            engage=engage,
            close=engage + timedelta(days=15),
            amount=1000 + i,
            products=[product],
            deliverables=[doc] if i % 2 == 0 else [],
            identified_by=scout if i < 3 else None,
        )
    kind = CertificationType.objects.create(org=b.org, name="Cloud", category="product")
    Certification.objects.create(org=b.org, rep=ann, type=kind, earned=START + timedelta(days=10))
    programme = Program.objects.create(org=b.org, name="Grow", kind="diversity")
    ProgramParticipation.objects.create(org=b.org, rep=bob, program=programme, start=START)
    rollups_recompute(org=b.org)
    RecomputeRequest.objects.filter(org=b.org).delete()
    DealChange.objects.filter(org=b.org).delete()
    yield b.org
    warm.forget()


def requested(org) -> set[str]:
    return set(RecomputeRequest.objects.filter(org=org).values_list("period", flat=True))


def logged(org) -> set[int | None]:
    return set(DealChange.objects.filter(org=org).values_list("opportunity_id", flat=True))


def assert_fresh_after_the_run(org, full_reads: list | None = None, expected_reads: int = 0) -> None:
    """Run what a worker runs, then compare with a recompute from scratch (with ``full_reads``: how many
    times the run read every deal)."""
    assert rollups_recompute_pending(org.pk)
    if full_reads is not None:
        assert len(full_reads) == expected_reads
    assert not requested(org)
    rows, _figures = fresh_figures(org)
    assert stored_rows(org) == rows


def test_deleting_a_deliverable_logs_its_deals_and_recomputes_deliverables_in_wins(org):
    root = Territory.objects.get(org=org, depth=1).full_name
    year = str(START.year)
    assert stored_actual(org, "deliverables_in_wins", year, root) == pytest.approx(2 / 4)
    delivered = set(
        Opportunity.objects.filter(org=org, deliverables__isnull=False).values_list("pk", flat=True)
    )
    Deliverable.objects.get(org=org).delete()
    assert logged(org) == delivered
    assert year in requested(org)
    assert_fresh_after_the_run(org)
    assert stored_actual(org, "deliverables_in_wins", year, root) == 0


def test_clearing_a_deliverable_from_its_side_logs_exactly_its_deals(org):
    doc = Deliverable.objects.get(org=org)
    delivered = set(doc.opportunities.values_list("pk", flat=True))
    doc.opportunities.clear()
    assert logged(org) == delivered
    assert_fresh_after_the_run(org)


def test_removing_a_deal_from_a_product_logs_the_deal(org):
    deal = Opportunity.objects.filter(org=org).earliest("pk")
    product = deal.products.get()
    product.opportunities.remove(deal)
    assert logged(org) == {deal.pk}
    assert requested(org)
    assert_fresh_after_the_run(org)


def test_deleting_a_product_logs_its_deals(org):
    product = Opportunity.objects.filter(org=org).earliest("pk").products.get()
    deals = set(product.opportunities.values_list("pk", flat=True))
    product.delete()
    assert logged(org) == deals
    assert RecomputeRequest.ALL in requested(org)
    assert_fresh_after_the_run(org)


def test_deleting_a_rep_logs_the_deals_it_identified(org):
    scout = Rep.objects.get(org=org, name="Scout")
    identified = set(scout.identified_opportunities.values_list("pk", flat=True))
    assert identified
    scout.delete()
    assert logged(org) == identified
    assert RecomputeRequest.ALL in requested(org)
    assert_fresh_after_the_run(org)


def test_hiring_a_rep_recomputes_every_period(org):
    rep_hire(org=org, name="Cy", hire_date=START + timedelta(days=30))
    assert requested(org) == {RecomputeRequest.ALL}
    assert_fresh_after_the_run(org)
    assert Rep.objects.get(org=org, name="Cy").pk in {r for _t, r, _y in stored_rows(org)}


def test_changing_hire_and_leave_dates_recomputes_the_periods_between(org):
    ann = Rep.objects.get(org=org, name="Ann")
    leave = START + timedelta(days=200)
    rep_update(rep=ann, name=ann.name, email="", hire_date=ann.hire_date, leave_date=leave)
    assert f"{leave.year}-{leave.month:02d}" in requested(org)
    assert_fresh_after_the_run(org)
    ann.refresh_from_db()
    rep_update(rep=ann, name=ann.name, email="", hire_date=START - timedelta(days=500), leave_date=leave)
    assert requested(org)
    assert_fresh_after_the_run(org)


def test_a_rep_without_a_hire_date_getting_one_recomputes_every_period(org):
    scout = Rep.objects.get(org=org, name="Scout")
    scout.hire_date = START - timedelta(days=500)
    scout.save()
    assert requested(org) == {RecomputeRequest.ALL}
    assert_fresh_after_the_run(org)


def test_adding_and_deleting_a_territory_recompute_every_period(org):
    east = Territory.objects.get(org=org, name="East")
    added = territory_add(parent=east, name="E2")
    assert requested(org) == {RecomputeRequest.ALL}
    assert_fresh_after_the_run(org)
    assert added.pk in {t for t, _r, _y in stored_rows(org)}
    Territory.objects.get(pk=added.pk).delete()
    assert requested(org) == {RecomputeRequest.ALL}
    assert_fresh_after_the_run(org)


def test_a_certification_type_changing_category_recomputes(org):
    kind = CertificationType.objects.get(org=org)
    kind.name = "Cloud architect"
    kind.save()
    assert not requested(org)  # its name counts nowhere
    kind.category = "industry"
    kind.save()
    assert requested(org) == {RecomputeRequest.ALL}
    assert_fresh_after_the_run(org)


def test_a_programme_changing_kind_recomputes(org):
    programme = Program.objects.get(org=org)
    programme.kind = "education"
    programme.save()
    assert requested(org) == {RecomputeRequest.ALL}
    assert_fresh_after_the_run(org)


def test_a_fiscal_year_saved_outside_the_settings_service_recomputes(org):
    org.fiscal_year_start_month = 4
    org.save()  # e.g. the Django admin
    assert requested(org) == {RecomputeRequest.ALL}
    assert_fresh_after_the_run(Organization.objects.get(pk=org.pk))


def test_an_import_creating_reps_recomputes_every_period(org):
    path = _csv(
        [
            ["kpi", "territory", "rep", "period", "value", "note"],
            ["nps", "", "Newcomer", f"{START.year}-03", "40", ""],
        ]
    )
    measurements_import(org_slug=org.slug, path=path, options=ImportOptions(create_missing=True))
    assert RecomputeRequest.ALL in requested(org)
    assert_fresh_after_the_run(org)


def test_moving_and_renaming_territories_recompute_every_period(org):
    team = Territory.objects.get(org=org, name="W1")
    territory_move(
        territory=team, target=Territory.objects.get(org=org, name="East"), position="sorted-child"
    )
    assert requested(org) == {RecomputeRequest.ALL}
    assert_fresh_after_the_run(org)
    territory_rename(territory=Territory.objects.get(pk=team.pk), name="A1")  # moves among its siblings
    assert requested(org) == {RecomputeRequest.ALL}
    assert_fresh_after_the_run(org)


def test_moving_a_rep_recomputes_from_the_move_on(org):
    bob = Rep.objects.get(org=org, name="Bob")
    day = START + timedelta(days=100)
    rep_assign(rep=bob, territory=Territory.objects.get(org=org, name="E1"), start=day)
    assert f"{day.year}-{day.month:02d}" in requested(org)
    assert_fresh_after_the_run(org)


def test_kpi_definitions_targets_and_measurements_recompute(org):
    kpi_update(kpi=KPI.objects.get(org=org, slug="deliverables_in_wins"), active=False)
    assert requested(org) == {RecomputeRequest.ALL}
    assert_fresh_after_the_run(org)
    month = f"{START.year}-03"
    east = Territory.objects.get(org=org, name="East")
    target_set(
        kpi=KPI.objects.get(org=org, slug="won_revenue"), period=month, goal=Decimal(900), territory=east
    )
    assert month in requested(org)
    assert_fresh_after_the_run(org)
    nps = KPI.objects.get(org=org, slug="nps")
    measurement_set(kpi=nps, period=month, value=Decimal(30), territory=east)
    assert month in requested(org)
    assert_fresh_after_the_run(org)
    measurement_clear(kpi=nps, period=month, territory=east)
    assert month in requested(org)
    assert_fresh_after_the_run(org)


@pytest.fixture
def full_reads(monkeypatch):
    """The times a recompute read every deal (instead of the changed ones into the deals kept warm)."""
    from kpis.rollup import compute

    reads: list[str] = []
    original = compute.read_deals

    def read_deals(org_id, scopes, products, where="", absent=(), ids=None):
        if ids is None:
            reads.append(where)
        return original(org_id, scopes, products, where, absent, ids)

    monkeypatch.setattr(compute, "read_deals", read_deals)
    return reads


def _edit_a_deal(org) -> None:
    deal = Opportunity.objects.filter(org=org).latest("pk")
    deal.amount = (deal.amount or 0) + 1
    deal.save()


def test_an_edit_recounts_only_the_changed_deal_in_the_kept_ones(org, full_reads):
    _edit_a_deal(org)
    assert_fresh_after_the_run(org, full_reads, expected_reads=0)


def test_links_deleted_without_a_signal_are_found_after_the_run_and_every_deal_read_again(org, full_reads):
    """A write that reaches the database without the receivers (here a queryset delete of link rows,
    which sends no m2m_changed): the next run brings the kept deals up to date from the log as usual (its
    edit shows at once), and the check after it (``warm.verify``) finds that they disagree with the
    database on how many deals use a deliverable: they are forgotten and every period is requested, so
    the run after reads every deal."""
    Opportunity.deliverables.through.objects.filter(opportunity__org=org).delete()
    assert not logged(org)
    _edit_a_deal(org)
    assert rollups_recompute_pending(org.pk)
    assert full_reads == []
    assert requested(org) == {RecomputeRequest.ALL}
    assert warm.take(org.pk, "any") is None  # forgotten
    assert_fresh_after_the_run(org, full_reads, expected_reads=1)


def test_the_check_after_a_run_leaves_agreeing_deals_kept_and_requests_nothing(org, full_reads):
    _edit_a_deal(org)
    assert rollups_recompute_pending(org.pk)
    assert not requested(org)
    _edit_a_deal(org)
    assert_fresh_after_the_run(org, full_reads, expected_reads=0)


def test_a_catalog_entry_added_without_a_signal_makes_the_kept_deals_read_again(org, full_reads):
    Deliverable.objects.bulk_create([Deliverable(org=org, name="Project document")])
    _edit_a_deal(org)
    assert_fresh_after_the_run(org, full_reads, expected_reads=1)


def test_a_fact_opening_a_new_fiscal_year_also_fills_the_last_stored_years_later_periods(org):
    """Found by the stateful test: with a fiscal year from April the data ends in FY(START+1)'s summer,
    and that year's row holds its periods up to there. A certification earned the next May opens the
    following fiscal year, and the months between — in the year already stored, which the change's own
    periods do not name — now have rows too: the run stores them as well."""
    organization_settings_update(org=org, name=org.name, currency=org.currency, fiscal_year_start_month=4)
    org.refresh_from_db()
    assert rollups_recompute_pending(org.pk)
    years_before = {key[2] for key in stored_rows(org)}
    ann = Rep.objects.get(org=org, name="Ann")
    kind = CertificationType.objects.get(org=org, name="Cloud")
    earned = min(date(START.year + 1, 5, 1), TODAY)
    certification_save(certification=Certification(org=org, rep=ann, type=kind, earned=earned))
    assert_fresh_after_the_run(org)
    if earned.month >= 4:  # the certificate opened a year: the case this test is about
        assert {key[2] for key in stored_rows(org)} - years_before == {f"FY{START.year + 2}"}
