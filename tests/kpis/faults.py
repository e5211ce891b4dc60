"""Fault injection for the recompute, installed only by tests (``SCORECARD_RECOMPUTE_BEFORE_WRITE``)."""

from __future__ import annotations

import os
import time


def pause_before_write(org) -> None:
    """Hold the recompute's transaction open (``SCORECARD_TEST_PAUSE_SECONDS``) just before it writes, so a
    test can kill the worker or race it there."""
    time.sleep(float(os.environ.get("SCORECARD_TEST_PAUSE_SECONDS", "0")))


# A callable(org) the test installs for ``call_hook`` (e.g. to commit another transaction mid-run).
hook = None


def call_hook(org) -> None:
    """Run the test's ``hook`` just before the recompute writes (after it has read and computed)."""
    if hook is not None:
        hook(org)
