"""A real Celery worker (broker round trip, own thread and database connection) against the test DB.

These run on the PostgreSQL + Redis pass of ``make test``; see ``celery_worker`` in tests/conftest.py.
The first two prove the harness with throwaway tasks; the others send the real ``kpis.tasks.recompute_org``
and let a saved deal's recompute reach the worker through its shard queue.
"""

from __future__ import annotations

import threading
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection

from scorecard.celery import app
from scorecard.models import Organization

pytestmark = pytest.mark.worker


@app.task(name="tests.worker_probe")
def worker_probe(slug: str) -> dict[str, object]:
    """Reads and writes through the worker's own database connection."""
    org = Organization.objects.get(slug=slug)
    Organization.objects.filter(pk=org.pk).update(name=f"{org.name} (seen by worker)")
    return {
        "org_id": org.pk,
        "thread": threading.current_thread().name,
        "database": connection.settings_dict["NAME"],
    }


@app.task(name="tests.worker_fails")
def worker_fails() -> None:
    raise ValueError("boom from the worker")


def test_worker_runs_task_against_the_test_database(celery_worker):
    org = Organization.objects.create(name="Probe", slug="probe")

    result = celery_worker.run(worker_probe, "probe", timeout=30)

    assert result["org_id"] == org.pk
    assert result["thread"] != threading.current_thread().name, "task ran eagerly, not in the worker"
    assert result["database"] == connection.settings_dict["NAME"]
    org.refresh_from_db()
    assert org.name == "Probe (seen by worker)"


def test_worker_propagates_task_errors(celery_worker):
    with pytest.raises(ValueError, match="boom from the worker"):
        celery_worker.run(worker_fails, timeout=30)


def test_recompute_org_through_the_worker_stores_won_revenue(celery_worker, settings):
    settings.SCORECARD_AUTO_RECOMPUTE = False  # only the task sent here recomputes
    from kpis.models import ScopeRollup
    from kpis.tasks import recompute_org
    from sales.models import Opportunity, Stage
    from scorecard.services import organization_create
    from territories.models import Rep
    from territories.services import assignment_create, territory_child_create
    from tests.kpis.stored import stored_actual

    org = organization_create(name="Worker Co", slug="worker-co")
    root = org.root_territory()
    east = territory_child_create(parent=root, name="East")
    rep = Rep.objects.create(org=org, name="Rita Rep")
    assignment_create(rep=rep, territory=east, start=date(2025, 1, 1))
    Opportunity.objects.create(
        org=org,
        external_id="D-1",
        rep=rep,
        stage=Stage.WON,
        engage_date=date(2025, 4, 2),
        close_date=date(2025, 5, 14),
        amount=Decimal("12345.50"),
    )
    quarter = org.parse_period("2025-Q2").key
    assert not ScopeRollup.objects.filter(org=org).exists()

    stored = celery_worker.run(recompute_org, org.pk, [quarter], timeout=60)

    assert stored > 0
    assert stored_actual(org, "won_revenue", quarter, root.full_name) == pytest.approx(12345.50)
    assert stored_actual(org, "won_revenue", quarter, east.full_name) == pytest.approx(12345.50)


def test_a_saved_deals_recompute_reaches_the_worker_through_its_shard_queue(celery_worker, settings):
    import time

    from kpis import recompute
    from kpis.models import RecomputeRequest
    from sales.models import Opportunity, Stage
    from scorecard.services import organization_create
    from territories.models import Rep
    from territories.services import assignment_create
    from tests.kpis.stored import stored_actual

    settings.SCORECARD_AUTO_RECOMPUTE = True
    org = organization_create(name="Shard Co", slug="shard-co")
    rep = Rep.objects.create(org=org, name="Rita Rep")
    assignment_create(rep=rep, territory=org.root_territory(), start=date(2025, 1, 1))
    assert recompute.queue_for(org.pk) == f"{celery_worker.recompute_queue}-0"
    Opportunity.objects.create(
        org=org,
        external_id="D-1",
        rep=rep,
        stage=Stage.WON,
        engage_date=date(2025, 4, 2),
        close_date=date(2025, 5, 14),
        amount=Decimal("500"),
    )
    root = org.root_territory().full_name
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if not RecomputeRequest.objects.filter(org=org).exists() and stored_actual(
            org, "won_revenue", "2025-Q2", root
        ) == pytest.approx(500):
            break
        time.sleep(0.2)
    else:
        raise AssertionError("the worker did not recompute the saved deal")
