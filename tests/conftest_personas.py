"""Personas for page and access tests: one organisation with two regions, and an outsider organisation.

Load with ``pytest_plugins = ["tests.conftest_personas"]`` in a test module.

    Acme (root)                          Globex (root)       <- outsider's organisation
    ├── Nordics   (manager "manny")      └── Globex HQ
    │   └── Stockholm  rep Nora Nordin (user "nora"), 2 deals
    └── Iberia
        └── Madrid     rep Sergio Sanz (user "sergio"), 3 deals

Names are chosen so that none of them appears in the page chrome: a page that does not contain
"Iberia" really did not show that territory.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import RequestFactory

from sales.models import Opportunity, Stage
from scorecard.models import Membership, Organization, Role
from scorecard.services import organization_create
from territories.models import Rep, Territory
from territories.services import assignment_create, territory_child_create

PASSWORD = "persona-password"
START = dt.date(2020, 1, 1)


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


def _child(parent: Territory, name: str, **kwargs) -> Territory:
    parent.refresh_from_db()  # treebeard needs the parent's current numchild
    return territory_child_create(parent=parent, name=name, **kwargs)


def _user(username: str, **kwargs):
    return get_user_model().objects.create_user(username=username, password=PASSWORD, **kwargs)


def _deals(org: Organization, rep: Rep, prefix: str, count: int) -> list[Opportunity]:
    deals = []
    for i in range(count):
        won = i % 2 == 1
        deals.append(
            Opportunity.objects.create(
                org=org,
                external_id=f"{prefix}-{i}",
                rep=rep,
                stage=Stage.WON if won else Stage.PROSPECTING,
                close_date=dt.date(2024, 3, 1) if won else None,
                amount=Decimal(1000 * (i + 1)),
            )
        )
    return deals


@pytest.fixture
def world(db, settings) -> World:
    # Personas are created per test; the production hasher would spend seconds on their passwords.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    org = organization_create(name="Acme Test Org", slug="acme-test", root_name="Acme")
    other = organization_create(name="Globex Outsider Org", slug="globex-test", root_name="Globex")
    w = World(org=org, other_org=other)

    root = org.root_territory()
    manny = _user("manny", first_name="Manny", last_name="Manager")
    w.territories["root"] = root
    w.territories["nordics"] = _child(root, "Nordics", owner=manny)
    w.territories["iberia"] = _child(root, "Iberia", owner_name="Ines Iberia-Owner")
    w.territories["stockholm"] = _child(w.territories["nordics"], "Stockholm")
    w.territories["madrid"] = _child(w.territories["iberia"], "Madrid")
    other_root = other.root_territory()
    w.territories["globex_hq"] = _child(other_root, "Globex HQ")

    nora = _user("nora", first_name="Nora", last_name="Nordin")
    sergio = _user("sergio", first_name="Sergio", last_name="Sanz")
    w.reps["nora"] = Rep.objects.create(org=org, name="Nora Nordin", email="nora@acme.test", user=nora)
    w.reps["sergio"] = Rep.objects.create(org=org, name="Sergio Sanz", email="sergio@acme.test", user=sergio)
    w.reps["gus"] = Rep.objects.create(org=other, name="Gustav Globex")
    assignment_create(rep=w.reps["nora"], territory=w.territories["stockholm"], start=START)
    assignment_create(rep=w.reps["sergio"], territory=w.territories["madrid"], start=START)
    assignment_create(rep=w.reps["gus"], territory=w.territories["globex_hq"], start=START)

    nora_deals = _deals(org, w.reps["nora"], "NORA", 2)
    sergio_deals = _deals(org, w.reps["sergio"], "SERGIO", 3)
    gus_deals = _deals(other, w.reps["gus"], "GUS", 1)
    w.opportunities.update(nora=nora_deals[0], sergio=sergio_deals[0], gus=gus_deals[0])

    admin = _user("ada", first_name="Ada", last_name="Admin", is_staff=True, is_superuser=True)
    viewer = _user("vic", first_name="Vic", last_name="Viewer")
    outsider = _user("otto", first_name="Otto", last_name="Outsider")
    nobody = _user("nemo", first_name="Nemo", last_name="Nobody")
    Membership.objects.create(user=admin, org=org, role=Role.ADMIN)
    Membership.objects.create(user=manny, org=org, role=Role.MANAGER, territory=w.territories["nordics"])
    Membership.objects.create(user=nora, org=org, role=Role.REP, rep=w.reps["nora"])
    Membership.objects.create(user=sergio, org=org, role=Role.REP, rep=w.reps["sergio"])
    Membership.objects.create(user=viewer, org=org, role=Role.VIEWER)
    Membership.objects.create(user=outsider, org=other, role=Role.ADMIN)
    w.users.update(
        admin=admin,
        manager=manny,
        rep=nora,
        other_rep=sergio,
        viewer=viewer,
        outsider=outsider,
        nobody=nobody,
    )
    return w


@pytest.fixture
def login(client, world):
    """``login("manager")`` signs the test client in as that persona and returns the client."""

    def _login(persona: str):
        client.force_login(world.users[persona])
        return client

    return _login
