"""Fixtures for the importer tests."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest
from django.db import transaction

from sales.models import Product
from scorecard.services import organization_create
from territories.models import Rep
from territories.services import assignment_create, territory_get_or_create_path


@pytest.fixture(scope="module")
def module_db(django_db_setup, django_db_blocker) -> Iterator[None]:
    """Database access for a module-scoped fixture; everything it writes is rolled back afterwards."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield
        transaction.set_rollback(True)


@pytest.fixture
def acme(db):
    """Organisation "acme" (root Acme): Alice Smith in Acme/East since 2017, Bob Jones unassigned,
    products Widget (line Tools) and Gadget (line Gizmos)."""
    org = organization_create(name="Acme", slug="acme")
    east = territory_get_or_create_path(org=org, path="Acme/East")
    alice = Rep.objects.create(org=org, name="Alice Smith", email="alice@acme.test")
    assignment_create(rep=alice, territory=east, start=date(2017, 1, 1))
    Rep.objects.create(org=org, name="Bob Jones")
    Product.objects.create(org=org, name="Widget", line="Tools", list_price=Decimal("100"))
    Product.objects.create(org=org, name="Gadget", line="Gizmos", list_price=Decimal("250"))
    return org
