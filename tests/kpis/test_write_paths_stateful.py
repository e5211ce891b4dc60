"""Stored rollups never go stale, whatever is written: random sequences of every write path (deals and
their links from either side, catalog entries and their deletes, reps, assignments, the tree, KPI
definitions, targets, measurements, the fiscal year, imports), each followed by the change-driven
recompute in a process that keeps the deals warm, equal a recompute from scratch after every step
(``tests/kpis/write_paths.py``)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from kpis.rollup import warm
from kpis.services import rollups_recompute_pending
from kpis.tasks import recompute_pending
from tests.examples import examples
from tests.kpis.write_paths import WritePaths

RUNS = settings(
    max_examples=examples(15),
    stateful_step_count=10,
    deadline=None,
    # Shrinking replays whole sequences against the database: minutes for little gain; the failure
    # message lists the writes of the failing sequence.
    phases=(Phase.explicit, Phase.generate),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# Through the worker each sequence builds its organisation (the worker sees committed rows only).
WORKER_RUNS = settings(RUNS, max_examples=8)


@pytest.fixture
def warm_worker(settings):
    """One process keeping up to two organisations' deals warm, as a long-lived worker does."""
    settings.SCORECARD_WARM_ORGS = 2
    warm.forget()
    yield
    warm.forget()


@pytest.mark.django_db
def test_every_write_keeps_the_stored_rollups_equal_to_a_fresh_recompute(warm_worker):
    class InProcess(WritePaths):
        reuse_base = True

        @staticmethod
        def run_pending(org_id: int) -> object:
            stored = rollups_recompute_pending(org_id)
            assert isinstance(stored, int), f"the run did not happen: {stored}"  # a lock left held, say
            return stored

    run_state_machine_as_test(InProcess, settings=RUNS)


@pytest.mark.postgres
@pytest.mark.worker
def test_every_write_keeps_the_stored_rollups_equal_through_the_worker(warm_worker, celery_worker, settings):
    """The same on PostgreSQL, each change committed and recomputed by a real Celery worker (a thread of
    this process, so it keeps the deals warm across steps like a worker process does)."""
    settings.SCORECARD_AUTO_RECOMPUTE = False  # the test sends the task to its own worker's queue
    settings.SCORECARD_RECOMPUTE_SETTLE_SECONDS = 0

    class ThroughTheWorker(WritePaths):
        @staticmethod
        def run_pending(org_id: int) -> object:
            return celery_worker.run(recompute_pending, org_id, timeout=60)

    run_state_machine_as_test(ThroughTheWorker, settings=WORKER_RUNS)
