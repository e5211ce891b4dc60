"""Shared test setup: which services this run has, and the fixtures that need them.

Markers (declared in pyproject.toml):

- ``postgres``: needs DATABASE_URL to point at PostgreSQL; skipped on SQLite.
- ``worker``: needs a reachable broker (CELERY_BROKER_URL) and a result backend
  (CELERY_RESULT_BACKEND); use the ``celery_worker`` fixture to get a real worker.
- ``browser``: drives the system Chromium through Playwright (``page``, ``live_server``).
- ``data``: needs the public data sets in ``settings.SCORECARD_DATA_DIR`` (``$SCORECARD_DATA_DIR``,
  default ``../shared/data``); ``@pytest.mark.data("maven-crm-sales-opportunities", ...)`` names the
  folders it reads, a bare ``@pytest.mark.data`` needs only the directory.

A marked test whose service or data is missing is skipped with the reason; with
``SCORECARD_REQUIRE_SERVICES=1`` (CI) such a skip is reported as a failure instead, and so is any skip
whose reason starts with ``[data]`` (what ``tests/imports/helpers.dataset_dir`` raises).

Celery: when a broker is configured (the PostgreSQL + Redis pass of ``make test``), every test that
does *not* use the ``celery_worker`` fixture (or the ``worker`` marker) still runs tasks eagerly, so
results do not depend on whether a worker happens to be consuming. Tests that want the real path
request ``celery_worker`` and send tasks with ``celery_worker.send(task, ...)``.

App-specific fixtures belong in ``tests/<app>/conftest.py``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

# The Playwright fixtures run an event loop in the main thread for the rest of the session; ORM calls
# made by the tests after that would raise SynchronousOnlyOperation. The project has no async code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("SCORECARD_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SERVICE_MARKERS = ("postgres", "worker", "browser")
DATA_MARKER = "data"
# A skipped test carrying one of these markers fails when require_services() is on.
REQUIRED_MARKERS = (*SERVICE_MARKERS, DATA_MARKER)


def require_services() -> bool:
    return os.environ.get("SCORECARD_REQUIRE_SERVICES", "").strip().lower() in {"1", "true", "yes", "on"}


# --- service detection ------------------------------------------------------------------------------


def postgres_unavailable_reason() -> str | None:
    from django.conf import settings

    engine = settings.DATABASES["default"]["ENGINE"]
    if engine != "django.db.backends.postgresql":
        return f"DATABASE_URL is not PostgreSQL (this run uses {engine.rsplit('.', 1)[-1]})"
    return None


_broker_reason_cache: list[str | None] = []


def broker_unavailable_reason() -> str | None:
    """None when a real worker can be used: broker set and reachable, result backend set."""
    if _broker_reason_cache:
        return _broker_reason_cache[0]
    from django.conf import settings

    reason: str | None = None
    if not settings.CELERY_BROKER_URL:
        reason = "CELERY_BROKER_URL is not set (Celery runs eagerly)"
    elif not settings.CELERY_RESULT_BACKEND:
        reason = "CELERY_RESULT_BACKEND is not set (a worker test could not wait for its result)"
    else:
        from scorecard.celery import app

        try:
            with app.connection_for_write() as conn:
                conn.ensure_connection(max_retries=1, timeout=3)
        except Exception as exc:
            reason = f"broker {settings.CELERY_BROKER_URL} unreachable: {exc.__class__.__name__}: {exc}"
    _broker_reason_cache.append(reason)
    return reason


def chromium_unavailable_reason() -> str | None:
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        return f"Chromium not found at {CHROMIUM} (apt-get install chromium, or set SCORECARD_CHROMIUM)"
    return None


def data_unavailable_reason(names: Iterable[str] = ()) -> str | None:
    """None when SCORECARD_DATA_DIR is a directory holding every data set folder in ``names``."""
    from django.conf import settings

    root = Path(settings.SCORECARD_DATA_DIR)
    if not root.is_dir():
        return f"public data sets not found: SCORECARD_DATA_DIR ({root}) is not a directory"
    missing = [name for name in names if not (root / name).exists()]
    if missing:
        return f"data set(s) {', '.join(missing)} not found in SCORECARD_DATA_DIR ({root})"
    return None


def skip_becomes_failure(markers: Iterable[str], reason: str, *, required: bool) -> bool:
    """With ``required`` (SCORECARD_REQUIRE_SERVICES=1), a skip of a service/data test is a failure."""
    return required and (any(m in REQUIRED_MARKERS for m in markers) or reason.startswith(f"[{DATA_MARKER}]"))


_REASONS = {
    "postgres": postgres_unavailable_reason,
    "worker": broker_unavailable_reason,
    "browser": chromium_unavailable_reason,
}


# Passwords are hashed with MD5 in this process's tests: the production hasher (PBKDF2, a million
# iterations) takes ~0.6 s a password on these machines by design, and the suite creates and signs in
# hundreds of users (personas, the demo's logins, throttling and two-factor tests). What the tests check
# is who may sign in and what they see, not the hasher's cost. Commands run in subprocesses keep their
# settings' hasher.
TEST_PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def pytest_configure(config: pytest.Config) -> None:
    from django.conf import settings
    from django.test.signals import setting_changed

    settings.PASSWORD_HASHERS = TEST_PASSWORD_HASHERS
    # As override_settings does: Django's receiver forgets the hashers it loaded.
    setting_changed.send(None, setting="PASSWORD_HASHERS", value=TEST_PASSWORD_HASHERS, enter=True)


def pytest_report_header(config: pytest.Config) -> list[str]:
    from django.conf import settings

    db = settings.DATABASES["default"]
    where = f"{db.get('HOST') or ''}:{db.get('PORT') or ''}" if db.get("HOST") else db.get("NAME")
    return [
        f"scorecard: database={db['ENGINE'].rsplit('.', 1)[-1]} ({where}), "
        f"broker={settings.CELERY_BROKER_URL or 'eager'}, "
        f"cache={settings.CACHES['default']['BACKEND'].rsplit('.', 1)[-1]}, "
        f"chromium={'yes' if chromium_unavailable_reason() is None else 'missing'}, "
        f"data={'yes' if data_unavailable_reason() is None else 'missing'}, "
        f"require_services={'yes' if require_services() else 'no'}"
    ]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reasons: dict[str, str | None] = {}
    data_reasons: dict[tuple[str, ...], str | None] = {}
    for item in items:
        for marker in SERVICE_MARKERS:
            if item.get_closest_marker(marker) is None:
                continue
            if marker not in reasons:
                reasons[marker] = _REASONS[marker]()
            if reasons[marker]:
                item.add_marker(pytest.mark.skip(reason=f"[{marker}] {reasons[marker]}"))
        data_marks = list(item.iter_markers(DATA_MARKER))
        if data_marks:
            names = tuple(sorted({str(name) for mark in data_marks for name in mark.args}))
            if names not in data_reasons:
                data_reasons[names] = data_unavailable_reason(names)
            if data_reasons[names]:
                item.add_marker(pytest.mark.skip(reason=f"[{DATA_MARKER}] {data_reasons[names]}"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.skipped and not hasattr(report, "wasxfail"):
        markers = [m for m in REQUIRED_MARKERS if item.get_closest_marker(m) is not None]
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        reason = reason.removeprefix("Skipped: ")
        if skip_becomes_failure(markers, reason, required=require_services()):
            what = "/".join(markers or [DATA_MARKER])
            report.outcome = "failed"
            report.longrepr = f"SCORECARD_REQUIRE_SERVICES=1, but this {what} test was skipped: {reason}"
    return report


# --- Celery ---------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _fresh_local_cache() -> None:
    """Each test starts with an empty local-memory cache: SQLite hands a rolled-back test's ids out
    again, so a recompute lock or pending flag one test left on its organisation would otherwise hold
    up the next test's organisation of the same id. (Redis, in the PostgreSQL pass, is shared with the
    worker thread and left alone: PostgreSQL does not reuse ids.)"""
    from django.core.cache import caches
    from django.core.cache.backends.locmem import LocMemCache

    if isinstance(caches["default"], LocMemCache):
        caches["default"].clear()


@pytest.fixture(autouse=True)
def _celery_eager_unless_real_worker(request: pytest.FixtureRequest) -> Iterator[None]:
    """Run tasks in-process unless the test asked for the real worker."""
    if "celery_worker" in request.fixturenames or request.node.get_closest_marker("worker"):
        yield
        return
    from scorecard.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = previous


@dataclass
class CeleryWorker:
    """A real Celery worker (solo pool, own thread) consuming queues private to this test session: a
    default one, and the recompute shard queues under a private name (``SCORECARD_RECOMPUTE_QUEUE``)."""

    app: Any
    queue: str
    recompute_queue: str

    def send(self, task: Any, *args: Any, **kwargs: Any) -> Any:
        """Send ``task(*args, **kwargs)`` through the broker to this worker; returns the AsyncResult."""
        return task.apply_async(args=args, kwargs=kwargs, queue=self.queue)

    def run(self, task: Any, *args: Any, timeout: float = 30, **kwargs: Any) -> Any:
        """Send and wait for the return value (re-raises the task's exception)."""
        return self.send(task, *args, **kwargs).get(timeout=timeout)


@pytest.fixture(scope="session")
def _celery_session_worker(django_db_setup: None, django_db_blocker: Any) -> Iterator[CeleryWorker]:
    reason = broker_unavailable_reason()
    if reason:
        pytest.skip(f"[worker] {reason}")
    from celery.contrib.testing.worker import start_worker
    from django.conf import settings

    from scorecard.celery import app

    # The worker thread opens its own database connection on first use; it goes to the test database
    # because pytest-django has already renamed settings.DATABASES[...]["NAME"] (django_db_setup).
    app.conf.worker_hijack_root_logger = False
    queue = f"{app.conf.task_default_queue}.pytest.{uuid.uuid4().hex[:10]}"
    recompute_queue = f"{queue}.recompute"
    shards = [f"{recompute_queue}-{i}" for i in range(settings.SCORECARD_RECOMPUTE_SHARDS)]
    with start_worker(
        app,
        pool="solo",
        concurrency=1,
        perform_ping_check=False,
        queues=[queue, *shards],
        loglevel="WARNING",
        shutdown_timeout=30,
    ):
        yield CeleryWorker(app=app, queue=queue, recompute_queue=recompute_queue)


@pytest.fixture
def celery_worker(_celery_session_worker: CeleryWorker, transactional_db: None) -> Iterator[CeleryWorker]:
    """A real worker; the test's data is committed (transactional_db) so the worker's connection sees it.

    Send work with ``celery_worker.send(task, *args)`` / ``celery_worker.run(task, *args, timeout=...)``.
    """
    from django.test import override_settings

    app = _celery_session_worker.app
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        # Recomputes a test's changes enqueue are routed to the worker's private shard queues.
        with override_settings(SCORECARD_RECOMPUTE_QUEUE=_celery_session_worker.recompute_queue):
            yield _celery_session_worker
    finally:
        app.conf.task_always_eager = previous


# --- Playwright -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """pytest-playwright cannot download browsers here: use the system Chromium."""
    args = list(browser_type_launch_args.get("args", []))
    args += [a for a in CHROMIUM_ARGS if a not in args]
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": args}
