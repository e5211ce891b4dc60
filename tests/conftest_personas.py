"""Personas for page and access tests: one organisation with two regions, and an outsider organisation.

Load with ``pytest_plugins = ["tests.conftest_personas"]`` in a test module.

    Acme (root)                          Globex (root)       <- outsider's organisation
    ├── Nordics   (manager "manny")      └── Globex HQ
    │   └── Stockholm  rep Nora Nordin (user "nora"), 2 deals
    └── Iberia    (manager "isabel", not the territory's named owner)
        └── Madrid     rep Sergio Sanz (user "sergio"), 3 deals

Names are chosen so that none of them appears in the page chrome: a page that does not contain
"Iberia" really did not show that territory.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from django.test import RequestFactory

from sales.models import Opportunity
from scorecard.models import Organization, Role
from territories.models import Rep, Territory
from tests.factories import (
    PASSWORD,
    START,
    MembershipFactory,
    OpportunityFactory,
    OrganizationFactory,
    RepFactory,
    TerritoryFactory,
    UserFactory,
)

__all__ = ["PASSWORD", "START", "World", "login", "world"]


@dataclass
class World:
    org: Organization
    other_org: Organization
    territories: dict[str, Territory] = field(default_factory=dict)
    reps: dict[str, Rep] = field(default_factory=dict)
    users: dict[str, Any] = field(default_factory=dict)
    opportunities: dict[str, Opportunity] = field(default_factory=dict)

    def request(self, persona: str, path: str = "/"):
        """A request as ``persona`` (as access.py sees it), with a plain dict as session."""
        request = RequestFactory().get(path)
        request.user = self.users[persona]
        request.session = {}  # type: ignore[assignment]
        return request


def _deals(rep: Rep, prefix: str, count: int) -> list[Opportunity]:
    """``count`` deals of ``rep``: every second one won, amounts 1000, 2000, ..."""
    return [
        OpportunityFactory.create(
            rep=rep, external_id=f"{prefix}-{i}", amount=Decimal(1000 * (i + 1)), won=i % 2 == 1
        )
        for i in range(count)
    ]


def _needs_committed_rows(item: pytest.Item) -> bool:
    """A test whose rows another connection must see (a live server, a worker): in a transaction."""
    marker = item.get_closest_marker("django_db")
    fixtures = set(getattr(item, "fixturenames", ()))
    return bool(
        fixtures & {"live_server", "transactional_db", "celery_worker"}
        or (marker is not None and marker.kwargs.get("transaction"))
    )


@pytest.fixture(scope="module")
def _module_world(request, django_db_setup, django_db_blocker) -> Iterator[World | None]:
    """The personas built once for a module, inside a transaction rolled back after its last test (each
    test runs in a savepoint of it, so what a test writes is gone for the next). None for a module with a
    test that needs committed rows: there each test builds its own."""
    module_items = [i for i in request.session.items if getattr(i, "module", None) is request.module]
    if any(_needs_committed_rows(item) for item in module_items):
        yield None
        return
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            yield _build_world()
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.fixture
def world(_module_world, db) -> World:
    """The personas (a copy of the module's, as Django's ``setUpTestData`` gives each test: what a test
    changes on the objects stays in that test)."""
    return _build_world() if _module_world is None else copy.deepcopy(_module_world)


def _build_world() -> World:
    org = OrganizationFactory.create(name="Acme Test Org", slug="acme-test", root_name="Acme")
    other = OrganizationFactory.create(name="Globex Outsider Org", slug="globex-test", root_name="Globex")
    w = World(org=org, other_org=other)

    root = org.root_territory()
    manny = UserFactory.create(username="manny", first_name="Manny", last_name="Manager")
    w.territories["root"] = root
    w.territories["nordics"] = TerritoryFactory.create(parent=root, name="Nordics", owner=manny)
    w.territories["iberia"] = TerritoryFactory.create(
        parent=root, name="Iberia", owner_name="Ines Iberia-Owner"
    )
    w.territories["stockholm"] = TerritoryFactory.create(parent=w.territories["nordics"], name="Stockholm")
    w.territories["madrid"] = TerritoryFactory.create(parent=w.territories["iberia"], name="Madrid")
    w.territories["globex_hq"] = TerritoryFactory.create(parent=other.root_territory(), name="Globex HQ")

    nora = UserFactory.create(username="nora", first_name="Nora", last_name="Nordin")
    sergio = UserFactory.create(username="sergio", first_name="Sergio", last_name="Sanz")
    w.reps["nora"] = RepFactory.create(
        org=org, name="Nora Nordin", email="nora@acme.test", user=nora, territory=w.territories["stockholm"]
    )
    w.reps["sergio"] = RepFactory.create(
        org=org, name="Sergio Sanz", email="sergio@acme.test", user=sergio, territory=w.territories["madrid"]
    )
    w.reps["gus"] = RepFactory.create(org=other, name="Gustav Globex", territory=w.territories["globex_hq"])

    nora_deals = _deals(w.reps["nora"], "NORA", 2)
    sergio_deals = _deals(w.reps["sergio"], "SERGIO", 3)
    gus_deals = _deals(w.reps["gus"], "GUS", 1)
    w.opportunities.update(nora=nora_deals[0], sergio=sergio_deals[0], gus=gus_deals[0])

    # The organisation's admin works in the product's pages; the Django admin is for the operator.
    admin = UserFactory.create(username="ada", first_name="Ada", last_name="Admin")
    operator = UserFactory.create(
        username="opal", first_name="Opal", last_name="Operator", is_staff=True, is_superuser=True
    )
    viewer = UserFactory.create(username="vic", first_name="Vic", last_name="Viewer")
    outsider = UserFactory.create(username="otto", first_name="Otto", last_name="Outsider")
    nobody = UserFactory.create(username="nemo", first_name="Nemo", last_name="Nobody")
    isabel = UserFactory.create(username="isabel", first_name="Isabel", last_name="Ibarra")
    MembershipFactory.create(user=admin, org=org, role=Role.ADMIN)
    MembershipFactory.create(user=manny, org=org, role=Role.MANAGER, territory=w.territories["nordics"])
    MembershipFactory.create(user=isabel, org=org, role=Role.MANAGER, territory=w.territories["iberia"])
    MembershipFactory.create(user=nora, org=org, role=Role.REP, rep=w.reps["nora"])
    MembershipFactory.create(user=sergio, org=org, role=Role.REP, rep=w.reps["sergio"])
    MembershipFactory.create(user=viewer, org=org, role=Role.VIEWER)
    MembershipFactory.create(user=outsider, org=other, role=Role.ADMIN)
    w.users.update(
        admin=admin,
        manager=manny,
        other_manager=isabel,
        rep=nora,
        other_rep=sergio,
        viewer=viewer,
        outsider=outsider,
        nobody=nobody,
        operator=operator,
    )
    return w


@pytest.fixture
def login(client, world):
    """``login("manager")`` signs the test client in as that persona and returns the client."""

    def _login(persona: str):
        client.force_login(world.users[persona])
        return client

    return _login
