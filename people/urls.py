"""Pages of the people app, under /people/ (included from scorecard/urls.py): certification and programme entry."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

app_name = "people"

urlpatterns: list[URLPattern | URLResolver] = []
