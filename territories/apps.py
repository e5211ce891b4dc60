from __future__ import annotations

from django.apps import AppConfig


class TerritoriesConfig(AppConfig):
    name = "territories"

    def ready(self) -> None:
        from . import receivers  # noqa: F401
