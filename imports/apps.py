from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "imports"
    verbose_name = "Imports and exports"

    def ready(self) -> None:
        # Register the wizard's task in every process: web processes send it by name (imports.jobs).
        from . import tasks  # noqa: F401
