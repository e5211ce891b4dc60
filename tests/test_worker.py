"""A real Celery worker (broker round trip, own thread and database connection) against the test DB.

These run on the PostgreSQL + Redis pass of ``make test``; see ``celery_worker`` in tests/conftest.py.
"""

from __future__ import annotations

import threading

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
