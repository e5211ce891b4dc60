"""Pages of the perspectives app, under /perspectives/ (included from scorecard/urls.py): the strategy map and the perspective / objective editor."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

app_name = "perspectives"

urlpatterns: list[URLPattern | URLResolver] = []
