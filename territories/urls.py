"""Pages of the territories app, under /territories/ (included from scorecard/urls.py): the territory editor (tree, reps, effective-dated assignments)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

app_name = "territories"

urlpatterns: list[URLPattern | URLResolver] = []
