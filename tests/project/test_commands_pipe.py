"""Commands that write to stdout stop quietly when the reader goes away (``| head``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.single_pass  # subprocesses with settings of their own: once is enough


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory) -> dict[str, str]:
    db = tmp_path_factory.mktemp("pipe") / "demo.sqlite3"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{db}", "SCORECARD_AUTO_RECOMPUTE": "0"}
    env.pop("CELERY_BROKER_URL", None)
    for command in (
        ["migrate", "-v0"],
        ["seed_demo", "--size", "small", "--no-recompute", "--today", "2026-11-23"],
    ):
        subprocess.run(
            [sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True, capture_output=True
        )
    return env


@pytest.mark.parametrize(
    "command",
    [
        "export_opportunities - --org demo",
        "export_reps - --org demo",
        "kpi_report --org demo --period 2026 --format csv",
        "kpi_report --org demo --period 2026",
    ],
)
def test_a_closed_pipe_ends_the_command_without_a_traceback(demo_db, command):
    result = subprocess.run(
        f"{sys.executable} manage.py {command} | head -1",
        shell=True,
        cwd=ROOT,
        env=demo_db,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.stdout.strip(), "the first line arrives"
    assert "Traceback" not in result.stderr and "Exception ignored" not in result.stderr, result.stderr
