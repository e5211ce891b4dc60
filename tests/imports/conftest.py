"""Fixtures for the importer tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import transaction


@pytest.fixture(scope="module")
def module_db(django_db_setup, django_db_blocker) -> Iterator[None]:
    """Database access for a module-scoped fixture; everything it writes is rolled back afterwards."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield
        transaction.set_rollback(True)
