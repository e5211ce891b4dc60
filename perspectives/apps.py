from django.apps import AppConfig


class PerspectivesConfig(AppConfig):
    name = "perspectives"
