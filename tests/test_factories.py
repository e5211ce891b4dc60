"""tests/factories.py builds what the services would: roots, tree paths, assignments, one organisation."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from sales.models import Stage
from scorecard.models import Role
from territories.models import Territory, TerritoryAssignment
from tests.factories import (
    PASSWORD,
    START,
    WON_ON,
    MembershipFactory,
    OpportunityFactory,
    OrganizationFactory,
    RepFactory,
    TerritoryFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def test_organisation_comes_with_its_named_root_territory():
    org = OrganizationFactory.create(name="Initech Ltd", root_name="Initech")

    assert org.slug == "initech-ltd"
    roots = Territory.objects.get_root_nodes().filter(org=org)
    assert [(t.name, t.full_name) for t in roots] == [("Initech", "Initech")]


def test_territory_hangs_under_its_parent():
    org = OrganizationFactory.create(root_name="Top")
    east = TerritoryFactory.create(parent=org.root_territory(), name="East")
    boston = TerritoryFactory.create(parent=east, name="Boston")

    assert boston.org_id == org.pk
    assert boston.full_name == "Top/East/Boston"
    assert (east.depth, boston.depth) == (2, 3)
    assert boston.path.startswith(east.path)


def test_rep_is_assigned_only_when_given_a_territory():
    east = TerritoryFactory.create()
    assigned = RepFactory.create(org=east.org, territory=east)
    unassigned = RepFactory.create(org=east.org)

    assert list(TerritoryAssignment.objects.values_list("rep_id", "territory_id", "start", "end")) == [
        (assigned.pk, east.pk, START, None)
    ]
    assert not unassigned.assignments.exists()


def test_rep_cannot_be_assigned_to_another_organisations_territory():
    with pytest.raises(ValidationError, match="different organisations"):
        RepFactory.create(territory=TerritoryFactory.create())


def test_opportunity_belongs_to_its_reps_organisation_and_is_open_unless_won():
    rep = RepFactory.create()
    open_deal = OpportunityFactory.create(rep=rep)
    won_deal = OpportunityFactory.create(rep=rep, won=True, amount=Decimal("250"))

    assert open_deal.org_id == won_deal.org_id == rep.org_id
    assert (open_deal.stage, open_deal.close_date, open_deal.amount) == (Stage.PROSPECTING, None, 1000)
    assert (won_deal.stage, won_deal.close_date, won_deal.amount) == (Stage.WON, WON_ON, 250)


def test_user_signs_in_with_the_persona_password_and_no_other(client):
    user = UserFactory.create()
    MembershipFactory.create(user=user, role=Role.VIEWER)

    assert user.check_password(PASSWORD)
    assert not user.check_password("not the password")
    # Through the login page: authentication goes through django-axes, which needs the request.
    response = client.post(reverse("login"), {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(user.pk)
