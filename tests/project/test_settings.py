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

pytestmark = pytest.mark.single_pass  # subprocesses with settings of their own: once is enough


def _clean_env() -> dict[str, str]:
    """This process's environment without the app's configuration (nor pytest-playwright's async flag,
    which `check --deploy` rightly reports)."""
    dropped = CONFIG_VARS | {"DJANGO_ALLOW_ASYNC_UNSAFE", "DJANGO_SETTINGS_MODULE"}
    return {k: v for k, v in os.environ.items() if k not in dropped}


def run_python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = _clean_env()
    clean.update({"DJANGO_SETTINGS_MODULE": "scorecard.settings", "PYTHONPATH": str(REPO), **env})
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


def test_debug_is_off_unless_set():
    result = run_python("import django; django.setup()")  # no DEBUG: production, so a key is required
    assert result.returncode != 0 and "SECRET_KEY" in result.stderr
    assert settings_with(SECRET_KEY="a-private-value-for-this-test-only")["DEBUG"] is False


def test_the_embedded_settings_module_turns_debug_on():
    result = run_python(
        "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)",
        DJANGO_SETTINGS_MODULE="scorecard.settings_dev",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("True")


def test_embedded_defaults_sqlite_eager_locmem():
    s = settings_with(DEBUG="1")
    assert s["DEBUG"] is True
    assert s["ENGINE"] == "django.db.backends.sqlite3"
    assert s["EAGER"] is True
    assert s["APP_EAGER"] is True
    assert s["CACHE"] == "django.core.cache.backends.locmem.LocMemCache"
    assert s["EMAIL"] == ["django.core.mail.backends.console.EmailBackend", "localhost"]  # invitations


def test_production_shape_postgres_pool_redis_broker():
    s = settings_with(
        DEBUG="1",
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
    result = run_python(code, DEBUG="1", DATABASE_URL="postgres://u:p@127.0.0.1:1/x")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("ConnectionPool")


PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "k7-Vd2xq9L_pR4mZt8Wn3bYc6Hs1Jf5Ga0Ue_Qo2Xi9Kl4Mv7Nr",
    "ALLOWED_HOSTS": "scorecard.example.com",
}


def test_check_deploy_is_clean_in_production():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "DEBUG"],
        cwd=REPO,
        env={
            **_clean_env(),
            **PRODUCTION,
            "DJANGO_SETTINGS_MODULE": "scorecard.settings",
            "PYTHONPATH": str(REPO),
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


SECURITY = """
import json
from django.conf import settings
print(json.dumps({name: getattr(settings, name, None) for name in (
    "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE",
    "SECURE_PROXY_SSL_HEADER", "SESSION_COOKIE_AGE")}))
"""


def security_with(**env: str) -> dict:
    result = run_python("import django; django.setup()\n" + SECURITY, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_turns_every_protection_on_and_each_can_be_switched_off():
    on = security_with(**PRODUCTION)
    assert on["SECURE_SSL_REDIRECT"] is True and on["SECURE_HSTS_SECONDS"] == 31536000
    assert on["SESSION_COOKIE_SECURE"] is True and on["CSRF_COOKIE_SECURE"] is True
    off = security_with(**PRODUCTION, SECURE_SSL_REDIRECT="0", SECURE_HSTS_SECONDS="0", SECURE_COOKIES="0")
    assert off["SECURE_SSL_REDIRECT"] is False and off["SECURE_HSTS_SECONDS"] == 0
    assert off["SESSION_COOKIE_SECURE"] is False


def test_the_forwarded_proto_header_is_trusted_only_when_told():
    assert security_with(**PRODUCTION)["SECURE_PROXY_SSL_HEADER"] is None
    trusted = security_with(**PRODUCTION, TRUST_X_FORWARDED_PROTO="1")
    assert trusted["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]


def test_sessions_expire_after_an_idle_period():
    s = security_with(**PRODUCTION, SESSION_IDLE_MINUTES="30")
    assert s["SESSION_COOKIE_AGE"] == 1800


def test_seed_demo_refuses_to_run_with_debug_off_unless_told():
    env = {
        **_clean_env(),
        **PRODUCTION,
        "DJANGO_SETTINGS_MODULE": "scorecard.settings",
        "PYTHONPATH": str(REPO),
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "seed_demo", "--size", "small"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode != 0
    assert "DEBUG is off" in result.stderr and "--allow-production" in result.stderr
