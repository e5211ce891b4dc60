from django.apps import AppConfig


class ScorecardConfig(AppConfig):
    name = "scorecard"
    verbose_name = "Organisations"

    def ready(self) -> None:
        from . import middleware  # noqa: F401  # connects the login receiver that stamps a session's first touch
