"""The embedded mode's settings (the test suite, and anything started without a DEBUG of its own):
DEBUG on, SQLite, eager Celery. Production uses ``scorecard.settings`` with DEBUG off by default."""

from __future__ import annotations

import os

os.environ.setdefault("DEBUG", "1")

from scorecard.settings import *  # noqa: E402, F403
