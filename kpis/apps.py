from __future__ import annotations

from django.apps import AppConfig


class KpisConfig(AppConfig):
    name = "kpis"
    verbose_name = "KPIs and rollups"

    def ready(self) -> None:
        # Connect the change signals, and register the tasks in every process (web processes send them by
        # name from kpis.recompute, which sits below the tasks).
        from . import signals, tasks  # noqa: F401
