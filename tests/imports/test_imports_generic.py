"""The generic rep and opportunity files: import, re-import, updates, exports and round trips."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest
from django.core.management import call_command

from imports.services import opportunities_export, opportunities_import, reps_export, reps_import
from kpis.models import KPI, RecomputeRequest
from sales.models import Account, Deliverable, Opportunity, Partner, Product, StrategicPlay
from scorecard.models import Organization
from territories.models import Rep, Territory, TerritoryAssignment
from territories.services import territory_get_or_create_path

from .helpers import (
    CLASSICMODELS,
    REP_COLUMNS,
    dataset_dir,
    import_dataset,
    opportunity_rows,
    org_checksum,
    org_counts,
    write_csv,
    write_xlsx,
)

FULL = {
    "opportunity_id": "OPP-9",
    "rep": "Bob Jones",
    "account": "Initech",
    "products": "Gadget;Widget",
    "stage": "lost",
    "created_date": "2017-01-02",
    "engage_date": "2017-01-05",
    "close_date": "2017-04-30",
    "amount": "9999.1234",
    "profit": "-12.5",
    "channel": "partner",
    "partner": "Channel Co",
    "strategic_play": "Cloud migration",
    "poc": "failure",
    "deliverables": "Architecture overview; Project plan",
    "identified_by": "Alice Smith",
}


def run(command: str, path, org: str = "acme") -> str:
    out = io.StringIO()
    call_command(command, str(path), "--org", org, stdout=out)
    return out.getvalue()


def test_opportunity_row_is_stored_with_every_column(acme, tmp_path):
    path = write_csv(tmp_path / "o.csv", [FULL])
    assert "1 row(s) into 'acme': 1 created" in run("import_opportunities", path)
    deal = Opportunity.objects.get(org=acme, external_id="OPP-9")
    assert (deal.rep.name, deal.identified_by.name, deal.account.external_id) == (
        "Bob Jones",
        "Alice Smith",
        "Initech",
    )
    assert sorted(deal.products.values_list("name", flat=True)) == ["Gadget", "Widget"]
    assert (deal.stage, deal.channel, deal.partner.name, deal.poc) == (
        "lost",
        "partner",
        "Channel Co",
        "failure",
    )
    assert (deal.created_date, deal.engage_date, deal.close_date) == (
        date(2017, 1, 2),
        date(2017, 1, 5),
        date(2017, 4, 30),
    )
    assert (deal.amount, deal.profit) == (Decimal("9999.1234"), Decimal("-12.5"))
    assert deal.strategic_play.name == "Cloud migration"
    assert sorted(deal.deliverables.values_list("name", flat=True)) == [
        "Architecture overview",
        "Project plan",
    ]


def test_accounts_partners_plays_deliverables_are_created_on_demand_reps_products_are_not(acme, tmp_path):
    path = write_csv(tmp_path / "o.csv", [FULL])
    run("import_opportunities", path)
    assert Account.objects.get(org=acme, external_id="Initech").name == "Initech"
    assert Partner.objects.filter(org=acme, name="Channel Co").exists()
    assert StrategicPlay.objects.filter(org=acme, name="Cloud migration").exists()
    assert Deliverable.objects.filter(org=acme).count() == 2
    assert Rep.objects.filter(org=acme).count() == 2
    assert Product.objects.filter(org=acme).count() == 2


def test_house_deal_without_rep_and_open_deal_without_close(acme, tmp_path):
    rows = opportunity_rows({"rep": ""}, {"stage": "Proposal", "close_date": "", "amount": "", "account": ""})
    run("import_opportunities", write_csv(tmp_path / "o.csv", rows))
    house, proposal = Opportunity.objects.filter(org=acme).order_by("external_id")
    assert house.rep is None
    assert (proposal.stage, proposal.close_date, proposal.amount, proposal.account) == (
        "proposal",
        None,
        None,
        None,
    )


def test_reimporting_the_same_file_changes_nothing(acme, tmp_path):
    path = write_csv(tmp_path / "o.csv", [FULL, *opportunity_rows({}, {"rep": ""})])
    run("import_opportunities", path)
    before = (org_counts(acme), org_checksum(acme))
    assert "3 row(s) into 'acme': 0 created, 0 updated, 3 unchanged" in run("import_opportunities", path)
    assert (org_counts(acme), org_checksum(acme)) == before


def test_reimporting_a_changed_row_updates_it_and_only_it(acme, tmp_path):
    run("import_opportunities", write_csv(tmp_path / "o.csv", [FULL, *opportunity_rows({}, {})]))
    untouched = list(
        Opportunity.objects.filter(org=acme).exclude(external_id="OPP-9").values_list("pk", "updated_at")
    )
    changed = {
        **FULL,
        "amount": "10",
        "products": "Widget",
        "deliverables": "",
        "stage": "won",
        "poc": "success",
    }
    output = run("import_opportunities", write_csv(tmp_path / "o2.csv", [changed, *opportunity_rows({}, {})]))
    assert "0 created, 1 updated, 2 unchanged" in output
    deal = Opportunity.objects.get(org=acme, external_id="OPP-9")
    assert (deal.amount, deal.stage, deal.poc) == (Decimal("10"), "won", "success")
    assert list(deal.products.values_list("name", flat=True)) == ["Widget"]
    assert not deal.deliverables.exists()
    assert (
        list(
            Opportunity.objects.filter(org=acme).exclude(external_id="OPP-9").values_list("pk", "updated_at")
        )
        == untouched
    )


def test_xlsx_file_imports_like_the_csv(acme, tmp_path):
    rows = [FULL, *opportunity_rows({}, {"rep": "", "amount": "12.3456"})]
    run("import_opportunities", write_xlsx(tmp_path / "o.xlsx", rows))
    xlsx = org_checksum(acme)
    assert "0 created, 0 updated, 3 unchanged" in run(
        "import_opportunities", write_csv(tmp_path / "o.csv", rows)
    )
    assert org_checksum(acme) == xlsx


def test_generic_reimport_keeps_the_credited_territory_of_a_house_deal(acme, tmp_path):
    path = write_csv(tmp_path / "o.csv", opportunity_rows({"rep": ""}))
    run("import_opportunities", path)
    east = Territory.objects.get(org=acme, full_name="Acme/East")
    Opportunity.objects.filter(org=acme).update(territory=east)
    run("import_opportunities", path)
    assert Opportunity.objects.get(org=acme).territory == east


# --- reps ----------------------------------------------------------------------------------------


def rep_file(path, *rows):
    return write_csv(path, [dict(zip(REP_COLUMNS, r, strict=True)) for r in rows], REP_COLUMNS)


def test_reps_import_creates_the_organisation_its_template_and_the_tree(db, tmp_path):
    path = rep_file(
        tmp_path / "r.csv",
        ("Carol King", "carol@x.test", "Globex/EMEA/Paris", "2016-01-01", "2016-12-31"),
        ("Carol King", "", "Globex/EMEA/London", "2017-01-01", ""),
        ("Dan Brown", "", "Globex/NA", "2016-03-01", ""),
        ("Eve Adams", "", "", "", ""),
    )
    output = run("import_reps", path, org="globex")
    assert "(organisation created)" in output
    org = Organization.objects.get(slug="globex")
    assert org.root_territory().name == "Globex"
    assert KPI.objects.filter(org=org).exists()
    assert sorted(Territory.objects.filter(org=org).values_list("full_name", flat=True)) == [
        "Globex",
        "Globex/EMEA",
        "Globex/EMEA/London",
        "Globex/EMEA/Paris",
        "Globex/NA",
    ]
    carol = Rep.objects.get(org=org, name="Carol King")
    assert carol.email == "carol@x.test"
    assert list(carol.assignments.order_by("start").values_list("territory__name", "start", "end")) == [
        ("Paris", date(2016, 1, 1), date(2016, 12, 31)),
        ("London", date(2017, 1, 1), None),
    ]
    assert not Rep.objects.get(org=org, name="Eve Adams").assignments.exists()


def test_reps_reimport_changes_nothing_and_a_file_move_is_applied(acme, tmp_path):
    first = rep_file(
        tmp_path / "r1.csv",
        ("Alice Smith", "alice@acme.test", "Acme/East", "2017-01-01", ""),
        ("Bob Jones", "", "Acme/West", "2017-01-01", ""),
    )
    run("import_reps", first)
    before = (org_counts(acme), org_checksum(acme))
    assert "assignments: 0 created, 0 updated, 2 unchanged" in run("import_reps", first)
    assert (org_counts(acme), org_checksum(acme)) == before

    moved = rep_file(
        tmp_path / "r2.csv",
        ("Alice Smith", "alice@acme.test", "Acme/East", "2017-01-01", "2017-06-30"),
        ("Alice Smith", "", "Acme/West", "2017-07-01", ""),
        ("Bob Jones", "bob@acme.test", "Acme/West", "2017-02-01", ""),
    )
    output = run("import_reps", moved)
    assert "assignments: 2 created, 1 updated, 0 unchanged, 1 deleted" in output
    alice = Rep.objects.get(org=acme, name="Alice Smith")
    assert list(alice.assignments.order_by("start").values_list("territory__name", "start", "end")) == [
        ("East", date(2017, 1, 1), date(2017, 6, 30)),
        ("West", date(2017, 7, 1), None),
    ]
    bob = Rep.objects.get(org=acme, name="Bob Jones")
    assert bob.email == "bob@acme.test"
    assert list(bob.assignments.values_list("start", flat=True)) == [date(2017, 2, 1)]


def test_reps_not_in_the_file_are_left_alone(acme, tmp_path):
    run("import_reps", rep_file(tmp_path / "r.csv", ("Carol King", "", "Acme/South", "2017-01-01", "")))
    alice = Rep.objects.get(org=acme, name="Alice Smith")
    assert alice.assignments.count() == 1
    assert alice.email == "alice@acme.test"


def test_an_organisation_without_territories_takes_the_files_root(db, tmp_path):
    org = Organization.objects.create(name="Bare", slug="bare")
    run(
        "import_reps",
        rep_file(tmp_path / "r.csv", ("Carol King", "", "Bare Inc/North", "2017-01-01", "")),
        "bare",
    )
    assert org.root_territory().name == "Bare Inc"
    assert TerritoryAssignment.objects.get(org=org).territory.full_name == "Bare Inc/North"


# --- export and round trip -----------------------------------------------------------------------


def test_export_writes_the_import_columns(acme, tmp_path):
    run("import_opportunities", write_csv(tmp_path / "o.csv", [FULL]))
    out = io.StringIO()
    call_command("export_opportunities", "-", "--org", "acme", stdout=out)
    assert out.getvalue().splitlines() == [
        ",".join(FULL),
        "OPP-9,Bob Jones,Initech,Gadget;Widget,lost,2017-01-02,2017-01-05,2017-04-30,9999.1234,-12.5,"
        "partner,Channel Co,Cloud migration,failure,Architecture overview;Project plan,Alice Smith",
    ]
    out = io.StringIO()
    call_command("export_reps", "-", "--org", "acme", stdout=out)
    assert out.getvalue().splitlines() == [
        ",".join(REP_COLUMNS),
        "Alice Smith,alice@acme.test,Acme/East,2017-01-01,",
        "Bob Jones,,,,",
    ]


def _copy_products(source: Organization, target: Organization) -> None:
    Product.objects.bulk_create(
        Product(org=target, name=p.name, line=p.line, list_price=p.list_price, description=p.description)
        for p in Product.objects.filter(org=source)
    )


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_round_trip_through_export_and_import(acme, tmp_path, suffix):
    run("import_opportunities", write_csv(tmp_path / "o.csv", [FULL, *opportunity_rows({}, {"rep": ""})]))
    reps, opps = tmp_path / f"reps.{suffix}", tmp_path / f"opps.{suffix}"
    reps_export(org=acme, path=reps)
    opportunities_export(org=acme, path=opps)

    before = org_checksum(acme)
    reps_import(org_slug="acme", path=reps)
    opportunities_import(org_slug="acme", path=opps)
    assert org_checksum(acme) == before

    copy = reps_import(org_slug="acme-copy", path=reps).org
    _copy_products(acme, copy)
    opportunities_import(org_slug="acme-copy", path=opps)
    for export in (reps_export, opportunities_export):
        original, again = io.StringIO(), io.StringIO()
        export(org=acme, path=original)
        export(org=copy, path=again)
        assert again.getvalue() == original.getvalue()


@pytest.mark.data(CLASSICMODELS)
def test_round_trip_of_a_public_data_set(db, tmp_path):
    source = import_dataset("classicmodels", dataset_dir(CLASSICMODELS), "classic").org
    reps, opps = tmp_path / "reps.csv", tmp_path / "opps.xlsx"
    reps_export(org=source, path=reps)
    assert opportunities_export(org=source, path=opps) == 326
    copy = reps_import(org_slug="classic-copy", path=reps).org
    _copy_products(source, copy)
    opportunities_import(org_slug="classic-copy", path=opps)
    for export in (reps_export, opportunities_export):
        original, again = io.StringIO(), io.StringIO()
        export(org=source, path=original)
        export(org=copy, path=again)
        assert again.getvalue() == original.getvalue()
    assert territory_get_or_create_path(org=copy, path="Classic Models Inc./NA/NYC").assignments.count() == 2


def test_an_import_that_changes_something_marks_every_period_stale_a_no_op_does_not(acme, tmp_path):
    path = write_csv(tmp_path / "o.csv", opportunity_rows({}))
    RecomputeRequest.objects.filter(org=acme).delete()
    run("import_opportunities", path)
    assert list(RecomputeRequest.objects.filter(org=acme).values_list("period", flat=True)) == [
        RecomputeRequest.ALL
    ]
    RecomputeRequest.objects.filter(org=acme).delete()
    run("import_opportunities", path)
    assert not RecomputeRequest.objects.filter(org=acme).exists()
