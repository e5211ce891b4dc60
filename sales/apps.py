from __future__ import annotations

from django.apps import AppConfig


class SalesConfig(AppConfig):
    name = "sales"

    def ready(self) -> None:
        from . import receivers  # noqa: F401
