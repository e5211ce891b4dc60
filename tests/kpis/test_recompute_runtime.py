"""The recompute's runtime (issue 14, items 3-6): no request lost to a race, readers see one snapshot,
the embedded mode never raises into a save, shard routing, the lock's atomic release, retry backoff.

The PostgreSQL tests race two real connections (threads); the others hold on SQLite and PostgreSQL.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import date, timedelta

import pytest
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from django.db import connection, transaction
from django.utils import timezone

from kpis import recompute
from kpis import tasks as tasks_module
from kpis.models import RecomputeRequest, RollupRun
from kpis.services import Later, rollups_recompute, rollups_recompute_pending
from kpis.store import StoredRows
from kpis.tasks import recompute_pending
from sales.models import Opportunity
from scorecard.celery import app
from tests.kpis import faults
from tests.kpis.conftest import OrgBuilder
from tests.kpis.stored import stored_actual


def _org_with_deal(slug: str = "acme") -> OrgBuilder:
    """Ann in Acme/East with one won deal of 100 closed in 2017-Q2, recomputed; no request left."""
    b = OrgBuilder(slug=slug)
    b.ann = b.rep("Ann", ("Acme/East", date(2017, 1, 1), None))  # type: ignore[attr-defined]
    b.opp = b.deal(  # type: ignore[attr-defined]
        b.ann,  # type: ignore[attr-defined]
        "won",
        engage=date(2017, 2, 1),
        close=date(2017, 4, 10),
        amount=100,
    )
    rollups_recompute(org=b.org)
    RecomputeRequest.objects.filter(org=b.org).delete()
    return b


def _won(b: OrgBuilder, period: str = "2017-Q2", path: str = "Acme") -> float | None:
    return stored_actual(b.org, "won_revenue", period, path)


def _wait_for(condition: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class _Thread(threading.Thread):
    """Runs ``target`` on its own database connection; re-raises its exception on ``result()``."""

    def __init__(self, target: Callable[[], object]) -> None:
        super().__init__(daemon=True)
        self._target_fn = target
        self.value: object = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.value = self._target_fn()
        except BaseException as exc:  # handed to the test thread
            self.error = exc
        finally:
            connection.close()

    def result(self, timeout: float = 60) -> object:
        self.join(timeout)
        assert not self.is_alive(), "the thread did not finish"
        if self.error is not None:
            raise self.error
        return self.value


# --- item 3: no lost requests ---------------------------------------------------------------------


def test_a_run_deletes_only_the_requests_it_read_as_it_read_them(db):
    b = OrgBuilder()
    RecomputeRequest.objects.filter(org=b.org).delete()  # building the tree requested every period
    recompute.request(b.org.pk, ["2017-Q1", "2017-Q2"])
    taken = recompute.requests_taken(b.org.pk)
    assert sorted(period for _pk, period, _stamp in taken) == ["2017-Q1", "2017-Q2"]
    q2 = RecomputeRequest.objects.get(org=b.org, period="2017-Q2")
    recompute.request(b.org.pk, ["2017-Q2", "2018-Q1"])  # re-stamps Q2, adds 2018-Q1
    q2_after = RecomputeRequest.objects.get(org=b.org, period="2017-Q2")
    assert (q2_after.pk, q2_after.requested_at) != (q2.pk, q2.requested_at)

    assert recompute.requests_done(taken) == 1  # only 2017-Q1: read, and unchanged since
    left = RecomputeRequest.objects.filter(org=b.org)
    assert sorted(left.values_list("period", flat=True)) == ["2017-Q2", "2018-Q1"]
    assert left.get(period="2017-Q2").requested_at == q2_after.requested_at


def test_requests_made_while_a_run_computes_stay_for_the_next_run(db, settings):
    b = _org_with_deal()
    recompute.request(b.org.pk, ["2017-Q1"])
    restamped: list[str] = []

    def meanwhile(org) -> None:  # the run has read its requests and computed
        recompute.request(org.pk, ["2017-Q1", "2017-Q3"])
        restamped.append("done")

    settings.SCORECARD_RECOMPUTE_BEFORE_WRITE = "tests.kpis.faults.call_hook"
    faults.hook = meanwhile
    try:
        assert rollups_recompute_pending(b.org.pk) > 0
    finally:
        faults.hook = None
    assert restamped == ["done"]
    assert sorted(RecomputeRequest.objects.filter(org=b.org).values_list("period", flat=True)) == [
        "2017-Q1",
        "2017-Q3",
    ]


@pytest.mark.postgres
def test_a_request_committed_while_a_run_computes_is_not_lost(transactional_db, settings):
    """The issue's reproduction: an edit's transaction has requested its periods and changed a deal;
    a run starts, reads and computes without it; the edit commits; the run writes and cleans up. The
    edit's requests must survive, and the next run must store the edited figures."""
    b = _org_with_deal()
    recompute.request(b.org.pk, ["2017-Q1"])  # committed: the run has something to do
    edited, commit_now, committed = threading.Event(), threading.Event(), threading.Event()

    def edit() -> None:
        with transaction.atomic():
            opp = Opportunity.objects.get(pk=b.opp.pk)  # type: ignore[attr-defined]
            opp.amount = 250
            opp.save()  # its signals request the affected periods and log the deal
            edited.set()
            assert commit_now.wait(30)
        committed.set()

    def commit_the_edit(org) -> None:
        commit_now.set()
        assert committed.wait(30)

    editor = _Thread(edit)
    editor.start()
    assert edited.wait(30)
    settings.SCORECARD_RECOMPUTE_BEFORE_WRITE = "tests.kpis.faults.call_hook"
    faults.hook = commit_the_edit
    try:
        rollups_recompute_pending(b.org.pk)
    finally:
        faults.hook = None
    editor.result()
    assert _won(b) == 100  # the run computed before the edit committed
    assert RecomputeRequest.objects.filter(org=b.org, period="2017-Q2").exists()

    settings.SCORECARD_RECOMPUTE_BEFORE_WRITE = None
    rollups_recompute_pending(b.org.pk)
    assert _won(b) == 250
    assert not RecomputeRequest.objects.filter(org=b.org).exists()


@pytest.mark.postgres
def test_an_uncommitted_restamp_of_a_request_the_run_read_is_not_lost(transactional_db):
    """The upsert in ``request`` re-stamps an existing row. The run read the row's old stamp; its DELETE
    waits for the re-stamping transaction's row lock and, once that commits, PostgreSQL re-checks the
    condition against the new row (READ COMMITTED): the stamp differs, so the row stays."""
    b = _org_with_deal()
    recompute.request(b.org.pk, ["2017-Q2"])
    before = RecomputeRequest.objects.get(org=b.org, period="2017-Q2")
    edited, commit_now = threading.Event(), threading.Event()

    def edit() -> None:  # a bulk write: changes the deal and tells kpis.recompute itself
        with transaction.atomic():
            Opportunity.objects.filter(pk=b.opp.pk).update(amount=250)  # type: ignore[attr-defined]
            recompute.deals_changed(b.org.pk, [b.opp.pk])  # type: ignore[attr-defined]
            recompute.request(b.org.pk, ["2017-Q2"])
            edited.set()
            assert commit_now.wait(30)

    def waiting_on_a_lock() -> bool:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND query LIKE 'DELETE%%'"
            )
            return cursor.fetchone()[0] > 0

    editor = _Thread(edit)
    editor.start()
    assert edited.wait(30)
    run = _Thread(lambda: rollups_recompute_pending(b.org.pk))
    run.start()
    _wait_for(waiting_on_a_lock, "the run's DELETE to wait for the re-stamp's row lock")
    commit_now.set()
    editor.result()
    run.result()

    after = RecomputeRequest.objects.get(org=b.org, period="2017-Q2")
    assert after.pk == before.pk and after.requested_at != before.requested_at
    assert _won(b) == 100  # the run read the deal before the edit committed
    rollups_recompute_pending(b.org.pk)
    assert _won(b) == 250
    assert not RecomputeRequest.objects.filter(org=b.org).exists()


# --- item 4: one snapshot for readers -------------------------------------------------------------


def test_a_reader_shows_whole_figures_when_a_recompute_commits_between_its_statements(db):
    """Right after the reader's first statement (its rows), a recompute that replaces every row, and so
    deletes their run, commits. Decoding the old rows needs that run: the reader notices it is gone and
    reads rows and runs again in one statement, showing the new figures whole (two statements alone
    raised KeyError here)."""
    b = _org_with_deal()
    acme = b.territory("Acme")
    kpi = b.kpi("won_revenue")
    old_run = RollupRun.objects.filter(org=b.org).latest("pk").pk
    statements: list[str] = []
    busy: list[bool] = []

    def recompute_after_the_first(execute, sql, params, many, context):
        if busy:
            return execute(sql, params, many, context)
        statements.append(sql)
        if len(statements) == 2:
            busy.append(True)
            Opportunity.objects.filter(pk=b.opp.pk).update(amount=250)  # type: ignore[attr-defined]
            recompute.deals_changed(b.org.pk, None)
            rollups_recompute(org=b.org)
            assert not RollupRun.objects.filter(pk=old_run).exists()
            busy.clear()
        return execute(sql, params, many, context)

    with connection.execute_wrapper(recompute_after_the_first):
        rows = StoredRows(b.org, "2017-Q2", [("t", acme.pk)])
    assert len(statements) == 3  # rows, their runs (one is gone), rows joined with runs
    figures = rows.row(kpi, ("t", acme.pk))
    assert (figures["actual"], figures["previous"]) == (250, 0)  # 2017-Q1: read in the same statement
    assert rows.computed_on == RollupRun.objects.filter(org=b.org).latest("pk").today


def test_a_reader_without_a_recompute_in_between_reads_rows_then_runs(db, django_assert_num_queries):
    b = _org_with_deal()
    acme = b.territory("Acme")
    with django_assert_num_queries(2):
        rows = StoredRows(b.org, "2017-Q2", [("t", acme.pk)])
    assert rows.row(b.kpi("won_revenue"), ("t", acme.pk))["actual"] == 100


@pytest.mark.postgres
def test_readers_on_another_connection_see_old_or_new_figures_never_an_error(transactional_db):
    b = _org_with_deal()
    acme, east = b.territory("Acme"), b.territory("Acme/East")
    kpi = b.kpi("won_revenue")
    scopes = [("t", acme.pk), ("t", east.pk), ("r", b.ann.pk)]  # type: ignore[attr-defined]
    done = threading.Event()
    seen: set[tuple] = set()

    def read() -> int:
        reads = 0
        while not done.is_set() or reads == 0:
            rows = StoredRows(b.org, "2017-Q2", scopes)
            seen.add(tuple(rows.row(kpi, scope)["actual"] for scope in scopes))
            reads += 1
        return reads

    reader = _Thread(read)
    reader.start()
    for amount in [250, 100] * 5:
        Opportunity.objects.filter(pk=b.opp.pk).update(amount=amount)  # type: ignore[attr-defined]
        recompute.deals_changed(b.org.pk, None)
        rollups_recompute(org=b.org)
    done.set()
    assert reader.result() > 0
    assert seen <= {(100.0, 100.0, 100.0), (250.0, 250.0, 250.0)}


# --- item 5: the embedded mode never raises into a save -------------------------------------------


def test_with_the_lock_held_an_eager_save_returns_and_the_next_save_recomputes_both(
    db, settings, django_capture_on_commit_callbacks
):
    b = _org_with_deal()
    later = b.deal(b.ann, "won", engage=date(2017, 6, 1), close=date(2017, 8, 10), amount=40)  # type: ignore[attr-defined]
    rollups_recompute(org=b.org)
    RecomputeRequest.objects.filter(org=b.org).delete()
    settings.SCORECARD_AUTO_RECOMPUTE = True
    cache.clear()
    assert app.conf.task_always_eager
    held = recompute.lock_acquire(b.org.pk)
    assert held is not None

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        b.opp.amount = 250  # type: ignore[attr-defined]
        b.opp.save()  # type: ignore[attr-defined]
    assert len(callbacks) == 1  # ran, and raised nothing
    assert RecomputeRequest.objects.filter(org=b.org, period="2017-Q2").exists()
    assert cache.get(recompute.pending_key(b.org.pk)) is None  # the next edit enqueues again
    assert _won(b) == 100

    assert recompute.lock_release(b.org.pk, held)
    with django_capture_on_commit_callbacks(execute=True):
        later.amount = 60
        later.save()
    assert (_won(b, "2017-Q2"), _won(b, "2017-Q3")) == (250, 60)
    assert not RecomputeRequest.objects.filter(org=b.org).exists()


def test_an_embedded_run_runs_again_for_requests_made_while_it_held_the_lock(db, settings):
    """Another thread's eager task found the lock taken and left its request: the holder picks it up."""
    b = _org_with_deal()
    recompute.request(b.org.pk, ["2017-Q1"])
    calls: list[int] = []

    def another_thread_edits(org) -> None:
        calls.append(org.pk)
        if len(calls) == 1:  # during the first pass only
            Opportunity.objects.filter(pk=b.opp.pk).update(amount=250)  # type: ignore[attr-defined]
            recompute.deals_changed(org.pk, [b.opp.pk])  # type: ignore[attr-defined]
            recompute.request(org.pk, ["2017-Q2"])

    settings.SCORECARD_RECOMPUTE_BEFORE_WRITE = "tests.kpis.faults.call_hook"
    faults.hook = another_thread_edits
    try:
        assert rollups_recompute_pending(b.org.pk, embedded=True) > 0
    finally:
        faults.hook = None
    assert calls == [b.org.pk, b.org.pk]  # two passes
    assert _won(b) == 250
    assert not RecomputeRequest.objects.filter(org=b.org).exists()


def test_a_failing_embedded_recompute_is_logged_not_raised_into_the_save(
    transactional_db, settings, monkeypatch, caplog
):
    b = _org_with_deal()
    settings.SCORECARD_AUTO_RECOMPUTE = True
    cache.clear()

    def broken(**kwargs):
        raise RuntimeError("recompute failed")

    monkeypatch.setattr("kpis.services.rollups_recompute", broken)
    with transaction.atomic():
        b.opp.amount = 250  # type: ignore[attr-defined]
        b.opp.save()  # type: ignore[attr-defined]
    assert "recompute failed" in caplog.text
    assert Opportunity.objects.get(pk=b.opp.pk).amount == 250  # type: ignore[attr-defined]
    assert RecomputeRequest.objects.filter(org=b.org, period="2017-Q2").exists()
    assert cache.get(recompute.pending_key(b.org.pk)) is None

    monkeypatch.undo()
    settings.SCORECARD_AUTO_RECOMPUTE = True
    with transaction.atomic():
        b.opp.amount = 260  # type: ignore[attr-defined]
        b.opp.save()  # type: ignore[attr-defined]
    assert _won(b) == 260
    assert not RecomputeRequest.objects.filter(org=b.org).exists()


def test_an_embedded_run_first_recomputes_what_other_organisations_left_behind(db):
    b = _org_with_deal()
    other = _org_with_deal(slug="other")
    Opportunity.objects.filter(pk=other.opp.pk).update(amount=70)  # type: ignore[attr-defined]
    recompute.deals_changed(other.org.pk, None)
    recompute.request(other.org.pk, ["2017-Q2"])  # left behind: its run found the lock taken
    recompute.request(b.org.pk, ["2017-Q2"])

    assert rollups_recompute_pending(b.org.pk, embedded=True) > 0
    assert not RecomputeRequest.objects.exists()
    assert _won(other) == 70

    # A worker's run leaves other organisations to the beat's sweep.
    recompute.request(other.org.pk, ["2017-Q2"])
    recompute.request(b.org.pk, ["2017-Q2"])
    rollups_recompute_pending(b.org.pk)
    assert list(RecomputeRequest.objects.values_list("org_id", flat=True)) == [other.org.pk]


# --- item 6: routing, lock, backoff ---------------------------------------------------------------


def test_an_organisations_recompute_tasks_go_to_its_shard_queue(settings):
    settings.SCORECARD_RECOMPUTE_SHARDS = 3
    settings.SCORECARD_RECOMPUTE_QUEUE = "recompute"
    router = app.amqp.router

    def queue(name: str, *args, **kwargs) -> str:
        return router.route({}, name, args=args, kwargs=kwargs)["queue"].name

    assert queue("kpis.tasks.recompute_pending", 4) == "recompute-1"
    assert queue("kpis.tasks.recompute_pending", 5) == "recompute-2"
    assert queue("kpis.tasks.recompute_org", 6, None, None) == "recompute-0"
    assert queue("kpis.tasks.recompute_org", org_id=7) == "recompute-1"
    # Everything else stays on the general queue.
    assert queue("kpis.tasks.recompute_sweep") == app.conf.task_default_queue
    assert queue("imports.tasks.import_job_run", 4) == app.conf.task_default_queue
    # An explicit queue wins (the test worker's).
    assert router.route({"queue": "mine"}, "kpis.tasks.recompute_pending", args=(4,))["queue"].name == "mine"
    settings.SCORECARD_RECOMPUTE_SHARDS = 1
    assert {queue("kpis.tasks.recompute_pending", pk) for pk in range(1, 20)} == {"recompute-0"}


def _check_compare_and_delete() -> None:
    org_id = 987654
    cache.delete(recompute.lock_key(org_id))
    first = recompute.lock_acquire(org_id)
    assert first is not None and recompute.lock_acquire(org_id) is None
    cache.delete(recompute.lock_key(org_id))  # as if it expired while its run went on
    second = recompute.lock_acquire(org_id)
    assert second is not None and second != first
    assert not recompute.lock_release(org_id, first)  # the late run does not release the new holder's
    assert cache.get(recompute.lock_key(org_id)) == second
    assert recompute.lock_release(org_id, second)
    assert cache.get(recompute.lock_key(org_id)) is None
    assert not recompute.lock_release(org_id, second)


def test_releasing_the_lock_deletes_only_the_holders_lock():
    _check_compare_and_delete()


@pytest.mark.worker
def test_releasing_the_lock_on_redis_is_a_compare_and_delete():
    assert isinstance(caches["default"], RedisCache)
    _check_compare_and_delete()


def test_retry_delay_doubles_from_one_second_with_jitter_and_a_cap():
    assert [recompute.retry_delay(n, rng=lambda: 1.0) for n in range(8)] == [1, 2, 4, 8, 16, 32, 60, 60]
    assert [recompute.retry_delay(n, rng=lambda: 0.0) for n in range(8)] == [0.5, 1, 2, 4, 8, 16, 30, 30]
    assert recompute.retry_delay(1000, rng=lambda: 1.0) == 60


def test_a_worker_run_that_finds_the_lock_taken_retries_with_a_growing_backoff(db, monkeypatch):
    b = _org_with_deal()
    recompute.request(b.org.pk, ["2017-Q2"])
    held = recompute.lock_acquire(b.org.pk)
    assert held is not None
    countdowns: list[float] = []

    class Retried(Exception):
        pass

    def retry(**options):
        countdowns.append(options["countdown"])
        assert options["kwargs"] == {"locked": len(countdowns)}  # the next try counts one more
        return Retried()

    monkeypatch.setattr(recompute_pending, "retry", retry)
    for locked in range(8):
        # Settling retries of a long burst before do not lengthen the wait for the lock.
        recompute_pending.push_request(retries=30, is_eager=False)
        try:
            with pytest.raises(Retried):
                recompute_pending.run(b.org.pk, locked=locked)
        finally:
            recompute_pending.pop_request()
    ceilings = [1, 2, 4, 8, 16, 32, 60, 60]
    assert all(c / 2 <= got <= c for c, got in zip(ceilings, countdowns, strict=True)), countdowns
    assert RecomputeRequest.objects.filter(org=b.org).exists()
    # Run eagerly (the embedded mode) the same task returns instead of retrying.
    recompute_pending.push_request(retries=0, is_eager=True)
    try:
        assert recompute_pending.run(b.org.pk) == 0
    finally:
        recompute_pending.pop_request()
    assert recompute.lock_release(b.org.pk, held)
    assert rollups_recompute_pending(b.org.pk) is not Later.LOCKED
    assert not RecomputeRequest.objects.filter(org=b.org).exists()


@pytest.mark.worker
def test_a_real_worker_retries_while_the_lock_is_taken_then_recomputes(celery_worker, settings):
    settings.SCORECARD_RECOMPUTE_SETTLE_SECONDS = 0  # its retry is for the lock, not for settling
    b = _org_with_deal()
    Opportunity.objects.filter(pk=b.opp.pk).update(amount=250)  # type: ignore[attr-defined]
    recompute.deals_changed(b.org.pk, [b.opp.pk])  # type: ignore[attr-defined]
    recompute.request(b.org.pk, ["2017-Q2"])
    held = recompute.lock_acquire(b.org.pk)
    assert held is not None
    try:
        result = celery_worker.send(recompute_pending, b.org.pk)
        _wait_for(lambda: result.state == "RETRY", "the worker to find the lock taken and retry")
        assert _won(b) == 100
    finally:
        assert recompute.lock_release(b.org.pk, held)
    assert result.get(timeout=60) > 0
    assert _won(b) == 250
    assert not RecomputeRequest.objects.filter(org=b.org).exists()


def test_a_long_burst_keeps_settling_past_the_tasks_ten_retries(db, monkeypatch):
    """Celery reads ``retry(max_retries=None)`` as "the task's default" (10): a burst settling for 30 s
    ended in MaxRetriesExceededError (seen in the load test). Waiting retries are bounded by time."""
    monkeypatch.setattr(tasks_module, "rollups_recompute_pending", lambda org_id, embedded: Later.SETTLING)
    asked: list[dict] = []

    class Retried(Exception):
        pass

    def retry(**options):
        asked.append(options)
        return Retried()

    monkeypatch.setattr(recompute_pending, "retry", retry)
    recompute_pending.push_request(retries=50, is_eager=False)
    try:
        with pytest.raises(Retried):
            recompute_pending.run(1)
    finally:
        recompute_pending.pop_request()
    assert asked[0]["max_retries"] > 50 * 100


def test_a_failing_worker_run_clears_the_pending_flag_so_the_next_change_enqueues(db, monkeypatch):
    def broken(org_id, embedded):
        raise RuntimeError("database went away")

    monkeypatch.setattr(tasks_module, "rollups_recompute_pending", broken)
    cache.add(recompute.pending_key(7), "1")
    recompute_pending.push_request(retries=0, is_eager=False)
    try:
        with pytest.raises(RuntimeError):
            recompute_pending.run(7)
    finally:
        recompute_pending.pop_request()
    assert cache.get(recompute.pending_key(7)) is None


def test_the_first_change_after_a_quiet_spell_runs_at_once_and_a_burst_waits_to_settle(db, settings):
    """Leading and trailing edge: an edit to an idle organisation is recomputed without waiting; edits
    arriving just after a run wait until they have been quiet for the settle time (at most the maximum)."""
    settings.SCORECARD_RECOMPUTE_SETTLE_SECONDS = 5
    settings.SCORECARD_RECOMPUTE_MAX_WAIT_SECONDS = 60
    b = _org_with_deal()
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        _leading_and_trailing_edge(b)
    finally:
        app.conf.task_always_eager = eager


def _leading_and_trailing_edge(b: OrgBuilder) -> None:
    org_id = b.org.pk
    cache.delete(recompute.ran_key(org_id))
    recompute.request(org_id, ["2017-Q2"])
    assert not recompute.settling(org_id)  # nothing ran lately: at once
    ran = rollups_recompute_pending(org_id)
    assert isinstance(ran, int) and ran > 0

    recompute.request(org_id, ["2017-Q2"])  # right after that run: a burst
    assert recompute.settling(org_id)
    assert rollups_recompute_pending(org_id) is Later.SETTLING

    # Quiet for the settle time since the last change (and the run): it runs.
    earlier = timezone.now() - timedelta(seconds=6)
    RecomputeRequest.objects.filter(org_id=org_id).update(requested_at=earlier)
    cache.set(recompute.ran_key(org_id), earlier.timestamp())
    assert not recompute.settling(org_id)

    # A burst that never stops runs once it has waited the maximum.
    cache.set(recompute.ran_key(org_id), timezone.now().timestamp())
    RecomputeRequest.objects.filter(org_id=org_id).update(requested_at=timezone.now() - timedelta(seconds=61))
    recompute.request(org_id, ["2017-Q3"])
    assert not recompute.settling(org_id)
