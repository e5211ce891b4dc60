"""Organisation integrity in the model layer (issue 13, item 6): every foreign key of a row belongs to
the row's organisation. Each model's clean() refuses a cross-organisation reference on its field, and
the services that write the rows refuse it too. Each "cannot" is paired with the same row inside one
organisation, which passes."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError

from kpis.models import KPI, Measurement, Note, Target
from kpis.services import measurement_set, note_create, target_set
from people.models import Certification, CertificationType, Program, ProgramParticipation
from perspectives.models import Objective
from sales.models import Account, Opportunity, Product
from sales.services import opportunity_save
from scorecard import access
from scorecard.integrity import FOREIGN
from scorecard.models import Membership, Role
from territories.models import TerritoryAssignment
from territories.services import rep_assign
from tests.conftest_personas import World

pytest_plugins = ["tests.conftest_personas"]


def _field_error(exc: pytest.ExceptionInfo[ValidationError], field: str) -> list[str]:
    return exc.value.message_dict.get(field, [])


def test_opportunity_refuses_another_organisations_rep_account_and_territory(world: World) -> None:
    gus, globex_hq = world.reps["gus"], world.territories["globex_hq"]
    foreign_account = Account.objects.create(org=world.other_org, name="Globex Account")
    deal = Opportunity(org=world.org, external_id="X-1", stage="prospecting", rep=gus, identified_by=gus)
    deal.territory, deal.account = globex_hq, foreign_account
    with pytest.raises(ValidationError) as exc:
        deal.full_clean()
    for field in ("rep", "identified_by", "territory", "account"):
        assert _field_error(exc, field) == [FOREIGN], field


def test_opportunity_with_its_own_organisations_entries_is_clean(world: World) -> None:
    account = Account.objects.create(org=world.org, name="Acme Account")
    deal = Opportunity(
        org=world.org, external_id="X-1", stage="prospecting", rep=world.reps["nora"], account=account
    )
    deal.territory = world.territories["nordics"]
    deal.full_clean()


def test_opportunity_save_refuses_another_organisations_product(world: World) -> None:
    deal = Opportunity(org=world.org, external_id="X-2", stage="prospecting", rep=world.reps["nora"])
    foreign = Product.objects.create(org=world.other_org, name="Globex widget", line="w")
    with pytest.raises(ValidationError) as exc:
        opportunity_save(opportunity=deal, products=[foreign])
    assert _field_error(exc, "products") == [FOREIGN]
    own = Product.objects.create(org=world.org, name="Acme widget", line="w")
    opportunity_save(opportunity=deal, products=[own])
    assert list(deal.products.all()) == [own]


def test_certification_and_participation_refuse_another_organisations_rep_and_catalog(world: World) -> None:
    foreign_type = CertificationType.objects.create(org=world.other_org, name="G cert", category="product")
    own_type = CertificationType.objects.create(org=world.org, name="A cert", category="product")
    cert = Certification(org=world.org, rep=world.reps["gus"], type=foreign_type, earned=date(2024, 1, 1))
    with pytest.raises(ValidationError) as exc:
        cert.full_clean()
    assert _field_error(exc, "rep") == [FOREIGN]
    assert _field_error(exc, "type") == [FOREIGN]
    Certification(org=world.org, rep=world.reps["nora"], type=own_type, earned=date(2024, 1, 1)).full_clean()

    foreign_prog = Program.objects.create(org=world.other_org, name="G prog", kind="education")
    own_prog = Program.objects.create(org=world.org, name="A prog", kind="education")
    part = ProgramParticipation(
        org=world.org, rep=world.reps["gus"], program=foreign_prog, start=date(2024, 1, 1)
    )
    with pytest.raises(ValidationError) as exc:
        part.full_clean()
    assert _field_error(exc, "rep") == [FOREIGN]
    assert _field_error(exc, "program") == [FOREIGN]
    ProgramParticipation(
        org=world.org, rep=world.reps["nora"], program=own_prog, start=date(2024, 1, 1)
    ).full_clean()


def test_assignment_refuses_another_organisations_territory(world: World) -> None:
    row = TerritoryAssignment(
        org=world.org,
        rep=world.reps["nora"],
        territory=world.territories["globex_hq"],
        start=date(2030, 1, 1),
    )
    with pytest.raises(ValidationError) as exc:
        row.clean()
    assert _field_error(exc, "territory") == [FOREIGN]
    row.territory = world.territories["stockholm"]
    row.clean_fields()


def test_target_and_measurement_refuse_another_organisations_territory_and_rep(world: World) -> None:
    kpi = KPI.objects.filter(org=world.org).first()
    foreign_kpi = KPI.objects.filter(org=world.other_org).first()
    assert kpi is not None and foreign_kpi is not None
    for model in (Target, Measurement):
        with pytest.raises(ValidationError) as exc:
            model(org=world.org, kpi=foreign_kpi, territory=world.territories["globex_hq"]).clean()
        assert _field_error(exc, "kpi") == [FOREIGN]
        assert _field_error(exc, "territory") == [FOREIGN]
        model(org=world.org, kpi=kpi, rep=world.reps["nora"]).clean()
    with pytest.raises(ValidationError) as exc:
        target_set(kpi=kpi, period="2024-Q1", goal=1, rep=world.reps["gus"])
    assert _field_error(exc, "rep") == [FOREIGN]
    assert not Target.objects.filter(rep=world.reps["gus"]).exists()
    manual = KPI.objects.filter(org=world.org, source="manual").first()
    if manual is not None:
        with pytest.raises(ValidationError) as exc:
            measurement_set(kpi=manual, period="2024-Q1", value="1", territory=world.territories["globex_hq"])
        assert _field_error(exc, "territory") == [FOREIGN]


def test_note_refuses_another_organisations_kpi_and_objective(world: World) -> None:
    foreign_kpi = KPI.objects.filter(org=world.other_org).first()
    foreign_objective = Objective.objects.filter(org=world.other_org).first()
    admin = Membership.objects.get(user=world.users["admin"], org=world.org)
    with pytest.raises(ValidationError) as exc:
        note_create(
            membership=admin,
            kind="comment",
            period="2024-Q1",
            text="hi",
            territory=world.territories["nordics"],
            kpi=foreign_kpi,
            objective=foreign_objective,
        )
    assert _field_error(exc, "kpi") == [FOREIGN]
    assert _field_error(exc, "objective") == [FOREIGN]
    assert not Note.objects.exists()
    own_kpi = KPI.objects.filter(org=world.org).first()
    note = note_create(
        membership=admin,
        kind="comment",
        period="2024-Q1",
        text="hi",
        territory=world.territories["nordics"],
        kpi=own_kpi,
    )
    assert note.pk is not None


def test_membership_refuses_another_organisations_territory_and_rep(world: World) -> None:
    row = Membership(
        user=world.users["nobody"],
        org=world.org,
        role=Role.MANAGER,
        territory=world.territories["globex_hq"],
        rep=world.reps["gus"],
    )
    with pytest.raises(ValidationError) as exc:
        row.clean()
    assert _field_error(exc, "territory") == [FOREIGN]
    assert _field_error(exc, "rep") == [FOREIGN]
    row.territory, row.rep = world.territories["nordics"], None
    row.clean()


def test_a_managers_deals_are_the_deals_credited_to_the_subtree(world: World) -> None:
    """Nora closed a deal in Stockholm, then moved to Madrid and closed another there: Nordics' manager
    sees the first and not the second, Iberia's manager the reverse; her open deal goes with her; a house
    deal is its credited territory's."""
    nora = world.reps["nora"]
    moved = date(2024, 6, 1)
    before = Opportunity.objects.create(
        org=world.org, rep=nora, external_id="N-BEFORE", stage="won", close_date=moved - timedelta(days=1)
    )
    rep_assign(rep=nora, territory=world.territories["madrid"], start=moved)
    after = Opportunity.objects.create(
        org=world.org, rep=nora, external_id="N-AFTER", stage="won", close_date=moved
    )
    open_deal = Opportunity.objects.create(org=world.org, rep=nora, external_id="N-OPEN", stage="prospecting")
    house = Opportunity.objects.create(
        org=world.org, external_id="HOUSE", stage="prospecting", territory=world.territories["stockholm"]
    )
    manny = Membership.objects.get(user=world.users["manager"], org=world.org)
    isabel = Membership.objects.get(user=world.users["other_manager"], org=world.org)
    nordics = set(access.visible_opportunities(manny).values_list("external_id", flat=True))
    iberia = set(access.visible_opportunities(isabel).values_list("external_id", flat=True))
    assert {before.external_id, house.external_id} <= nordics
    assert not {after.external_id, open_deal.external_id} & nordics
    assert {after.external_id, open_deal.external_id} <= iberia
    assert not {before.external_id, house.external_id} & iberia
