"""Process health and readiness endpoints, and the test harness's own service and data rules."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from django.conf import settings

from scorecard.celery import app as celery_app

REPO = Path(__file__).resolve().parents[2]


def test_healthz_answers_without_touching_services(client):
    # no django_db mark: any database access here would raise
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_reports_every_dependency(client):
    response = client.get("/readyz")

    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["cache"] == "ok"
    if settings.CELERY_BROKER_URL:
        # the PostgreSQL + Redis pass: the broker is really contacted
        assert body["checks"]["broker"] == "ok"
    else:
        assert body["checks"]["broker"] == "eager"


@pytest.mark.django_db
def test_readyz_is_503_when_the_broker_is_unreachable(client, settings, monkeypatch):
    from kombu import Connection

    settings.CELERY_TASK_ALWAYS_EAGER = False
    # Only the readiness probe's connection is redirected: the app's own configuration (and the broker
    # the session's test worker uses) stays untouched.
    monkeypatch.setattr(
        celery_app,
        "connection_for_write",
        lambda *args, **kwargs: Connection("redis://127.0.0.1:1/0", connect_timeout=1),
    )

    response = client.get("/readyz")

    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["broker"].startswith("error: ")


@pytest.mark.postgres
@pytest.mark.django_db
def test_postgres_pass_uses_the_connection_pool():
    from django.db import connection

    assert connection.vendor == "postgresql"
    assert settings.DATABASES["default"]["CONN_MAX_AGE"] == 0
    assert connection.pool is not None
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_database()")
        assert cursor.fetchone()[0].startswith("test_")


@pytest.mark.worker
def test_worker_pass_uses_redis_for_cache_and_broker():
    assert settings.CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert settings.CELERY_BROKER_URL.startswith("redis://")
    assert settings.CELERY_TASK_ALWAYS_EAGER is False


def test_tests_without_the_worker_fixture_run_tasks_eagerly():
    # even on the broker pass, so results never depend on a consumer being around
    assert celery_app.conf.task_always_eager is True


PROBE = """
import pytest

@pytest.mark.postgres
def test_needs_postgres():
    pass

@pytest.mark.data("present-set")
def test_needs_a_data_set_that_is_there():
    pass

@pytest.mark.data("absent-set")
def test_needs_a_data_set_that_is_not():
    pass

def test_skips_itself_for_missing_data():  # what tests/imports/helpers.dataset_dir does
    pytest.skip("[data] data set 'x' not found")

def test_plain_skip():
    pytest.skip("ordinary skip stays a skip")

def test_plain_pass():
    pass
"""


def run_probe(tmp_path: Path, *, require: bool) -> tuple[int, str]:
    """Run PROBE under a copy of tests/conftest.py, with a data directory holding only "present-set"."""
    (tmp_path / "conftest.py").write_text((REPO / "tests" / "conftest.py").read_text())
    (tmp_path / "pytest.ini").write_text(
        textwrap.dedent(
            """
            [pytest]
            DJANGO_SETTINGS_MODULE = scorecard.settings_dev
            addopts = -p no:cacheprovider --strict-markers
            markers =
                postgres: x
                worker: x
                browser: x
                data: x
            """
        )
    )
    (tmp_path / "test_probe.py").write_text(PROBE)
    (tmp_path / "data" / "present-set").mkdir(parents=True)
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "REDIS_URL"}
    }
    env.update(
        PYTHONPATH=str(REPO),
        SCORECARD_DATA_DIR=str(tmp_path / "data"),
        SCORECARD_REQUIRE_SERVICES="1" if require else "0",
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:playwright", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return result.returncode, result.stdout + result.stderr


@pytest.mark.single_pass
def test_require_services_turns_service_and_data_skips_into_failures(tmp_path):
    """The CI guard: a postgres/worker/browser/data test that would be skipped fails instead."""
    returncode, out = run_probe(tmp_path, require=True)

    assert returncode == 1, out
    assert "1 failed, 2 passed, 1 skipped, 2 errors" in out, out
    assert "SCORECARD_REQUIRE_SERVICES=1, but this postgres test was skipped" in out, out
    assert (
        "SCORECARD_REQUIRE_SERVICES=1, but this data test was skipped: [data] data set(s) absent-set" in out
    )
    assert "SCORECARD_REQUIRE_SERVICES=1, but this data test was skipped: [data] data set 'x'" in out, out
    assert "SKIPPED [1] test_probe.py" in out and "ordinary skip stays a skip" in out, out


@pytest.mark.single_pass
def test_without_require_services_missing_services_and_data_are_skips(tmp_path):
    returncode, out = run_probe(tmp_path, require=False)

    assert returncode == 0, out
    assert "2 passed, 4 skipped" in out, out
    assert "[data] data set(s) absent-set not found in SCORECARD_DATA_DIR" in out, out


@pytest.mark.parametrize(
    ("markers", "reason", "required", "fails"),
    [
        (["postgres"], "[postgres] not PostgreSQL", True, True),
        (["data"], "[data] data set(s) x not found", True, True),
        (["data"], "any reason a data test skips for", True, True),
        ([], "[data] data set 'x' not found", True, True),
        ([], "ordinary skip", True, False),
        (["data"], "[data] data set(s) x not found", False, False),
        ([], "[data] data set 'x' not found", False, False),
    ],
)
def test_which_skips_become_failures(markers, reason, required, fails):
    from tests.conftest import skip_becomes_failure

    assert skip_becomes_failure(markers, reason, required=required) is fails


def test_data_reason_names_the_missing_directory_or_data_sets(settings, tmp_path):
    from tests.conftest import data_unavailable_reason

    (tmp_path / "here").mkdir()
    settings.SCORECARD_DATA_DIR = tmp_path
    assert data_unavailable_reason() is None
    assert data_unavailable_reason(["here"]) is None
    assert data_unavailable_reason(["here", "gone", "lost"]) == (
        f"data set(s) gone, lost not found in SCORECARD_DATA_DIR ({tmp_path})"
    )
    settings.SCORECARD_DATA_DIR = tmp_path / "nowhere"
    assert data_unavailable_reason() == (
        f"public data sets not found: SCORECARD_DATA_DIR ({tmp_path / 'nowhere'}) is not a directory"
    )


@pytest.mark.django_db
def test_readyz_tells_outsiders_only_the_status(client):
    body = client.get("/readyz", REMOTE_ADDR="203.0.113.5").json()
    assert body == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_tells_staff_the_checks_from_anywhere(client):
    from tests.factories import UserFactory

    client.force_login(UserFactory.create(is_staff=True))
    body = client.get("/readyz", REMOTE_ADDR="203.0.113.5").json()
    assert body["checks"]["database"] == "ok"
