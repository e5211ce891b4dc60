"""factory_boy factories for the core objects; the personas in tests/conftest_personas.py are built from them.

Organisations and territories go through the services (``organization_create`` makes the root territory
and the scorecard template, ``territory_child_create`` keeps the treebeard path), so a factory-made
object is what the application itself would have made.

    org = OrganizationFactory.create(root_name="Acme")
    east = TerritoryFactory.create(parent=org.root_territory(), name="East")
    alice = RepFactory.create(org=org, name="Alice", territory=east)        # assigned from START
    OpportunityFactory.create(rep=alice, won=True, amount=Decimal("500"))   # org comes from the rep
    MembershipFactory.create(user=UserFactory.create(username="vic"), org=org, role=Role.VIEWER)

``Factory.create(...)`` rather than ``Factory(...)``: it is typed to return the model instance.
Users get the password ``PASSWORD``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import factory
from django.contrib.auth.models import User
from django.utils.text import slugify

from sales.models import Opportunity, Stage
from scorecard.models import Membership, Organization, Role
from scorecard.services import organization_create
from territories.models import Rep, Territory
from territories.services import assignment_create, territory_child_create

PASSWORD = "persona-password"
START = dt.date(2020, 1, 1)
WON_ON = dt.date(2024, 3, 1)


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password(PASSWORD)


class OrganizationFactory(factory.django.DjangoModelFactory[Organization]):
    """An organisation with its root territory (named ``root_name``, default the organisation's name)."""

    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Organisation {n}")
    slug = factory.LazyAttribute(lambda o: slugify(o.name))
    root_name = None

    @classmethod
    def _create(cls, model_class: type[Organization], *args: Any, **kwargs: Any) -> Organization:
        return organization_create(**kwargs)


class TerritoryFactory(factory.django.DjangoModelFactory[Territory]):
    """A child of ``parent`` (default: the root of a new organisation)."""

    class Meta:
        model = Territory

    parent = factory.LazyFunction(lambda: OrganizationFactory.create().root_territory())
    name = factory.Sequence(lambda n: f"Territory {n}")
    owner = None
    owner_name = ""

    @classmethod
    def _create(cls, model_class: type[Territory], *args: Any, **kwargs: Any) -> Territory:
        kwargs["parent"].refresh_from_db()  # treebeard needs the parent's current numchild
        return territory_child_create(**kwargs)


class RepFactory(factory.django.DjangoModelFactory[Rep]):
    """A rep; ``territory=t`` also assigns them to ``t`` from ``START`` (``territory__start=`` to change)."""

    class Meta:
        model = Rep
        skip_postgeneration_save = True

    org = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Rep {n}")

    @factory.post_generation
    def territory(obj: Rep, create: bool, extracted: Territory | None, **kwargs: Any) -> None:
        if create and extracted is not None:
            assignment_create(rep=obj, territory=extracted, start=kwargs.get("start", START))


class OpportunityFactory(factory.django.DjangoModelFactory[Opportunity]):
    """An open deal of ``rep`` in the rep's organisation; ``won=True`` closes it won on ``WON_ON``."""

    class Meta:
        model = Opportunity

    rep = factory.SubFactory(RepFactory)
    org = factory.LazyAttribute(lambda o: o.rep.org)
    external_id = factory.Sequence(lambda n: f"OPP-{n}")
    stage = Stage.PROSPECTING
    amount = Decimal("1000")

    class Params:
        won = factory.Trait(stage=Stage.WON, close_date=WON_ON)


class MembershipFactory(factory.django.DjangoModelFactory[Membership]):
    """A viewer by default; give ``role`` with ``territory`` (manager) or ``rep`` (rep)."""

    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    org = factory.SubFactory(OrganizationFactory)
    role = Role.VIEWER
