"""Fault injection for the recompute, installed only by tests (``SCORECARD_RECOMPUTE_BEFORE_WRITE``)."""

from __future__ import annotations

import os
import time


def pause_before_write(org) -> None:
    """Hold the recompute's transaction open (``SCORECARD_TEST_PAUSE_SECONDS``) just before it writes, so a
    test can kill the worker or race it there."""
    time.sleep(float(os.environ.get("SCORECARD_TEST_PAUSE_SECONDS", "0")))
