"""docker-compose.yml and the Dockerfile, checked statically (no Docker engine on CI machines)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
APP_SERVICES = ("web", "worker", "recompute", "beat")
APP_ENV = ("DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "SECRET_KEY", "DEBUG", "ALLOWED_HOSTS")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def command_text(service: dict) -> str:
    command = service.get("command", "")
    return " ".join(command) if isinstance(command, list) else str(command)


def test_has_the_five_services(services):
    assert set(services) >= {"web", "worker", "beat", "postgres", "redis"}


def test_backing_services_images_and_healthchecks(services):
    assert services["postgres"]["image"].startswith("postgres:15")
    assert services["redis"]["image"].startswith("redis:7")
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert "ping" in " ".join(services["redis"]["healthcheck"]["test"])
    assert services["postgres"]["environment"]["POSTGRES_DB"]


@pytest.mark.parametrize("name", ("web", "worker", "recompute", "beat", "postgres", "redis"))
def test_every_service_has_a_healthcheck(services, name):
    healthcheck = services[name]["healthcheck"]
    assert healthcheck["test"]
    assert healthcheck.get("interval")


def test_web_migrates_collects_static_then_serves_with_gunicorn(services):
    web = services["web"]
    text = command_text(web)
    migrate, collect, serve = (text.find(s) for s in ("migrate", "collectstatic", "gunicorn"))
    assert -1 < migrate < serve and -1 < collect < serve, text
    assert "scorecard.wsgi" in text
    assert "0.0.0.0:8000" in text
    assert any(str(p).endswith("8000") for p in web["ports"])
    assert "/readyz" in " ".join(web["healthcheck"]["test"])


def test_worker_and_beat_run_celery(services):
    assert re.search(r"celery -A scorecard worker\b", command_text(services["worker"]))
    assert re.search(r"celery -A scorecard beat\b", command_text(services["beat"]))


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_share_the_image_and_production_environment(services, name):
    service = services[name]
    assert service["build"] == "."
    env = service["environment"]
    for var in APP_ENV:
        assert var in env, f"{name} lacks {var}"
    assert str(env["DEBUG"]) == "0"
    assert env["DATABASE_URL"].startswith("postgres://") and "@postgres:5432/" in env["DATABASE_URL"]
    assert env["CELERY_BROKER_URL"].startswith("redis://redis:6379/")
    assert env["REDIS_URL"].startswith("redis://redis:6379/")
    assert env["REDIS_URL"] != env["CELERY_BROKER_URL"], "cache and broker share a Redis database"
    # no secret baked in: compose refuses to start unless SECRET_KEY comes from the environment
    assert re.fullmatch(r"\$\{SECRET_KEY:\?[^}]*\}", env["SECRET_KEY"]), env["SECRET_KEY"]
    assert {services[n]["environment"]["DATABASE_URL"] for n in APP_SERVICES} == {env["DATABASE_URL"]}


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_wait_for_healthy_backing_services(services, name):
    depends = services[name]["depends_on"]
    assert depends["postgres"]["condition"] == "service_healthy"
    assert depends["redis"]["condition"] == "service_healthy"


def test_recomputes_go_to_one_single_process_worker_per_shard(services):
    """Consecutive recomputes of an organisation must land in the process that keeps its deals warm:
    the shard queue has one consumer, a solo pool; the general worker does not consume it."""
    text = command_text(services["recompute"])
    assert re.search(r"celery -A scorecard worker\b", text)
    assert "--pool=solo" in text
    shard = services["recompute"]["environment"]["RECOMPUTE_SHARD"]
    assert shard == "0" and "--queues=recompute-$$RECOMPUTE_SHARD" in text
    assert services["recompute"].get("deploy", {}).get("replicas", 1) == 1
    assert "recompute" not in command_text(services["worker"])
    assert "--queues=scorecard" in command_text(services["worker"])


def test_worker_and_beat_start_after_web_has_migrated(services):
    for name in ("worker", "recompute", "beat"):
        assert services[name]["depends_on"]["web"]["condition"] == "service_healthy"


def test_compose_database_credentials_match(services):
    pg = services["postgres"]["environment"]
    url = services["web"]["environment"]["DATABASE_URL"]
    assert (
        url == f"postgres://{pg['POSTGRES_USER']}:{pg['POSTGRES_PASSWORD']}@postgres:5432/{pg['POSTGRES_DB']}"
    )


def test_dockerfile_builds_the_app_image():
    text = (REPO / "Dockerfile").read_text()
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    assert lines[0] == "FROM python:3.11-slim"
    assert re.search(r"pip install \.(\s|$)", text)
    assert "collectstatic --noinput" in text
    assert "EXPOSE 8000" in text
    assert re.search(r"^USER (?!root)\S+", text, re.M), "the image should not run as root"
    assert "scorecard.wsgi" in text


def test_dockerignore_keeps_local_state_out_of_the_image():
    ignored = (REPO / ".dockerignore").read_text().split()
    for entry in (".git", ".venv", "*.sqlite3"):
        assert entry in ignored
