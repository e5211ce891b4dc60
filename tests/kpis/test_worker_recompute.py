"""The change-driven recompute through a real Celery worker process on PostgreSQL and Redis.

The worker is a separate ``celery -A scorecard worker`` process pointed at pytest's test database and a
queue private to the test, so it can be killed with SIGKILL in the middle of a recompute.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.core.cache import cache
from django.db import connection

from kpis import recompute
from kpis.models import RecomputeRequest, ScopeRollup
from kpis.services import rollups_recompute
from sales.models import Opportunity
from scorecard.celery import app
from tests.kpis.stored import stored_actual, stored_figures

pytestmark = [pytest.mark.postgres, pytest.mark.worker]

ROOT = Path(__file__).resolve().parents[2]
LOCK_SECONDS = 4


def wait_for(condition: Callable[[], bool], timeout: float = 60, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class WorkerProcess:
    pause_seconds = 0.0

    def __init__(self, queue: str, shards: int = 1) -> None:
        self.queue = queue
        self.shards = shards
        # The shard queues this worker consumes (default: all of them).
        self.consumes = list(range(shards))
        self.process: subprocess.Popen | None = None
        self.log = Path(f"/tmp/scorecard-test-worker-{queue}.log")

    def start(self) -> None:
        self.log.write_bytes(b"")
        url = urlsplit(os.environ["DATABASE_URL"])
        test_db = connection.settings_dict["NAME"]
        env = {
            **os.environ,
            "DATABASE_URL": urlunsplit(url._replace(path=f"/{test_db}")),
            "CELERY_QUEUE": self.queue,
            "SCORECARD_RECOMPUTE_QUEUE": self.recompute_queue,
            "SCORECARD_RECOMPUTE_SHARDS": str(self.shards),
            "CELERY_VISIBILITY_TIMEOUT": "2",
            "SCORECARD_RECOMPUTE_LOCK_SECONDS": str(LOCK_SECONDS),
            "SCORECARD_RECOMPUTE_BEFORE_WRITE": "tests.kpis.faults.pause_before_write",
            "SCORECARD_TEST_PAUSE_SECONDS": str(self.pause_seconds),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        }
        celery = str(Path(sys.executable).with_name("celery"))
        queues = ",".join([self.queue, *(f"{self.recompute_queue}-{i}" for i in self.consumes)])
        command = [celery, "-A", "scorecard", "worker", "-Q", queues, "--pool", "solo", "-l", "info"]
        name = "-".join([self.queue, *map(str, self.consumes)])
        command += ["--without-gossip", "--without-mingle", "-n", f"{name}@%h"]
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=self.log.open("ab"), stderr=subprocess.STDOUT
        )

    @property
    def recompute_queue(self) -> str:
        return f"{self.queue}.recompute"

    def wait_ready(self, timeout: float = 60) -> None:
        """Until the worker logs "ready" (its start-up sweep is then queued ahead of anything we send)."""
        wait_for(
            lambda: b" ready." in self.log.read_bytes() if self.log.exists() else False, timeout, "the worker"
        )

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def worker(transactional_db, settings) -> Iterator[WorkerProcess]:
    queue = f"test-{uuid.uuid4().hex[:8]}"
    settings.SCORECARD_AUTO_RECOMPUTE = True
    process = WorkerProcess(queue)
    settings.SCORECARD_RECOMPUTE_QUEUE = process.recompute_queue
    previous = app.conf.task_default_queue, app.conf.task_always_eager
    app.conf.task_default_queue, app.conf.task_always_eager = queue, False
    cache.clear()
    try:
        yield process
    finally:
        process.stop()
        app.conf.task_default_queue, app.conf.task_always_eager = previous


def _snapshot(org) -> list[tuple]:
    return stored_figures(org)


def _drained(org) -> bool:
    return (
        not RecomputeRequest.objects.filter(org=org).exists()
        and cache.get(recompute.lock_key(org.pk)) is None
    )


def test_editing_a_deal_updates_the_stored_rollup_through_the_worker(build, worker):
    b = build()
    ann = b.rep("Ann", ("Acme/East", date(2017, 1, 1), None))
    opp = b.deal(ann, "won", engage=date(2017, 2, 1), close=date(2017, 4, 10), amount=100)
    rollups_recompute(org=b.org)
    RecomputeRequest.objects.filter(org=b.org).delete()
    worker.start()
    worker.wait_ready()
    opp.amount = Decimal("275")
    opp.save()

    def stored() -> float | None:
        return stored_actual(b.org, "won_revenue", "2017-Q2", "Acme")

    wait_for(lambda: stored() == 275, what="the worker to store the edited amount")
    wait_for(lambda: _drained(b.org), what="the queue to drain")
    assert recompute.runs(b.org.pk) == 1


def test_a_burst_of_100_edits_runs_at_most_two_recomputes(build, worker):
    b = build()
    ann = b.rep("Ann", ("Acme/East", date(2017, 1, 1), None))
    opp = b.deal(ann, "won", engage=date(2017, 2, 1), close=date(2017, 4, 10), amount=1)
    rollups_recompute(org=b.org)
    RecomputeRequest.objects.filter(org=b.org).delete()
    cache.clear()
    worker.start()
    worker.wait_ready()
    for amount in range(1, 101):
        opp.amount = Decimal(amount)
        opp.save()
    wait_for(lambda: _drained(b.org), timeout=90, what="the queue to drain")
    assert 1 <= recompute.runs(b.org.pk) <= 2
    assert stored_actual(b.org, "won_revenue", "2017-Q2", "Acme") == 100


def test_killing_the_worker_mid_recompute_ends_with_the_clean_rollups(build, worker):
    b = build()
    teams = [f"Acme/R{r}/T{t}" for r in range(3) for t in range(3)]
    reps = [b.rep(f"Rep {i}", (teams[i % len(teams)], date(2016, 1, 1), None)) for i in range(30)]
    deals = []
    for i in range(600):
        close = date(2016, 1, 1) + timedelta(days=(i * 7) % 720)
        stage = "won" if i % 3 else "lost"
        deal = Opportunity(
            org=b.org, external_id=f"K{i}", rep=reps[i % len(reps)], stage=stage, close_date=close
        )
        deal.engage_date, deal.amount = close - timedelta(days=20), Decimal(1000 + i)
        deals.append(deal)
    Opportunity.objects.bulk_create(deals)
    recompute.request(b.org.pk, None)  # commits at once (no atomic block): the worker will find it
    worker.pause_seconds = 30  # a recompute takes milliseconds: hold it open long enough to kill it
    worker.start()
    wait_for(lambda: cache.get(recompute.lock_key(b.org.pk)) is not None, what="the recompute to start")
    worker.kill()
    worker.pause_seconds = 0
    assert RecomputeRequest.objects.filter(org=b.org).exists(), "a killed recompute must leave its request"
    # The dead worker's transaction rolled back: nothing half-written.
    assert not ScopeRollup.objects.filter(org=b.org).exists()

    worker.start()
    wait_for(
        lambda: _drained(b.org) and ScopeRollup.objects.filter(org=b.org).exists(),
        timeout=120,
        what="recovery",
    )
    after_recovery = _snapshot(b.org)
    rollups_recompute(org=b.org)
    assert after_recovery == _snapshot(b.org)
    assert len(after_recovery) > 1000


def test_an_organisations_recompute_goes_to_the_worker_of_its_shard(build, worker, settings):
    """With two shards, a worker consuming one shard's queue recomputes its organisations only; the
    other organisation's task waits in its own shard queue for that shard's worker."""
    settings.SCORECARD_RECOMPUTE_SHARDS = 2
    mine, theirs = build(), build(slug="other")
    assert mine.org.pk % 2 != theirs.org.pk % 2
    deals = {}
    for b in (mine, theirs):
        rep = b.rep("Ann", ("Acme/East", date(2017, 1, 1), None))
        deals[b] = b.deal(rep, "won", engage=date(2017, 2, 1), close=date(2017, 4, 10), amount=100)
        rollups_recompute(org=b.org)
    RecomputeRequest.objects.all().delete()
    worker.shards, worker.consumes = 2, [mine.org.pk % 2]
    worker.start()
    worker.wait_ready()
    for b in (mine, theirs):
        deals[b].amount = Decimal("275")
        deals[b].save()

    def stored(b) -> float | None:
        return stored_actual(b.org, "won_revenue", "2017-Q2", "Acme")

    wait_for(lambda: stored(mine) == 275 and _drained(mine.org), what="the shard's worker")
    other_queue = recompute.queue_for(theirs.org.pk)
    assert other_queue == f"{worker.recompute_queue}-{theirs.org.pk % 2}"
    with app.connection_for_write() as conn:
        assert conn.default_channel.queue_declare(queue=other_queue, passive=True).message_count >= 1
    assert stored(theirs) == 100 and RecomputeRequest.objects.filter(org=theirs.org).exists()

    other = WorkerProcess(worker.queue, shards=2)
    other.consumes = [theirs.org.pk % 2]
    other.log = other.log.with_name(f"scorecard-test-worker-{worker.queue}-shard.log")
    try:
        other.start()
        wait_for(lambda: stored(theirs) == 275 and _drained(theirs.org), what="the other shard's worker")
    finally:
        other.stop()
