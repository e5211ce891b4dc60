"""Settings read the environment once at start-up; each case runs in a fresh interpreter."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CONFIG_VARS = {
    "DEBUG",
    "SECRET_KEY",
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "CELERY_RESULT_BACKEND",
    "REDIS_URL",
    "ALLOWED_HOSTS",
    "DB_POOL_MIN",
    "DB_POOL_MAX",
    "EMAIL_BACKEND",
    "EMAIL_HOST",
}

REPORT = """
import json
from django.conf import settings
from scorecard.celery import app
db = settings.DATABASES["default"]
print(json.dumps({
    "DEBUG": settings.DEBUG,
    "ENGINE": db["ENGINE"],
    "CONN_MAX_AGE": db.get("CONN_MAX_AGE"),
    "OPTIONS": db.get("OPTIONS", {}),
    "EAGER": settings.CELERY_TASK_ALWAYS_EAGER,
    "APP_EAGER": app.conf.task_always_eager,
    "CACHE": settings.CACHES["default"]["BACKEND"],
    "ALLOWED_HOSTS": settings.ALLOWED_HOSTS,
    "EMAIL": [settings.EMAIL_BACKEND, settings.EMAIL_HOST],
}))
"""


def run_python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in CONFIG_VARS}
    clean.update(DJANGO_SETTINGS_MODULE="scorecard.settings", PYTHONPATH=str(REPO), **env)
    return subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=clean, capture_output=True, text=True, timeout=60
    )


def settings_with(**env: str) -> dict:
    result = run_python(REPORT, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "secret",
    [None, "", "insecure-embedded-mode-key-do-not-use-in-production"],
    ids=["unset", "empty", "default"],
)
def test_refuses_to_start_with_debug_off_and_no_private_secret_key(secret):
    env = {"DEBUG": "0"}
    if secret is not None:
        env["SECRET_KEY"] = secret
    result = run_python("import django; django.setup()", **env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY" in result.stderr


def test_starts_with_debug_off_and_a_private_secret_key():
    result = run_python(
        "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)",
        DEBUG="0",
        SECRET_KEY="a-private-value-for-this-test-only",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("False")


def test_embedded_defaults_sqlite_eager_locmem():
    s = settings_with()
    assert s["DEBUG"] is True
    assert s["ENGINE"] == "django.db.backends.sqlite3"
    assert s["EAGER"] is True
    assert s["APP_EAGER"] is True
    assert s["CACHE"] == "django.core.cache.backends.locmem.LocMemCache"
    assert s["EMAIL"] == ["django.core.mail.backends.console.EmailBackend", "localhost"]  # invitations


def test_production_shape_postgres_pool_redis_broker():
    s = settings_with(
        DATABASE_URL="postgres://scorecard:pw@db.internal:5432/scorecard",
        CELERY_BROKER_URL="redis://redis.internal:6379/0",
        REDIS_URL="redis://redis.internal:6379/1",
        DB_POOL_MAX="7",
        ALLOWED_HOSTS="scorecard.example.com, api.example.com",
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="smtp.example.com",
    )
    assert s["ENGINE"] == "django.db.backends.postgresql"
    # Django's psycopg pool requires persistent connections to be off
    assert s["CONN_MAX_AGE"] == 0
    assert isinstance(s["OPTIONS"]["pool"], dict)
    assert s["OPTIONS"]["pool"]["max_size"] == 7
    assert s["EAGER"] is False
    assert s["APP_EAGER"] is False
    assert s["CACHE"] == "django.core.cache.backends.redis.RedisCache"
    assert s["ALLOWED_HOSTS"] == ["scorecard.example.com", "api.example.com"]
    assert s["EMAIL"] == ["django.core.mail.backends.smtp.EmailBackend", "smtp.example.com"]


def test_pooled_postgres_settings_pass_djangos_own_validation():
    # Django raises ImproperlyConfigured for pool + CONN_MAX_AGE != 0 when it builds the pool;
    # building the pool parameters needs no server.
    code = (
        "import django; django.setup(); from django.db import connection; "
        "print(type(connection.pool).__name__)"
    )
    result = run_python(code, DATABASE_URL="postgres://u:p@127.0.0.1:1/x")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("ConnectionPool")
