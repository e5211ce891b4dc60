from django.apps import AppConfig


class KpisConfig(AppConfig):
    name = "kpis"
    verbose_name = "KPIs and rollups"

    def ready(self) -> None:
        from . import signals  # noqa: F401
