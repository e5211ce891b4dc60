"""Pages of the sales app, under /sales/ (included from scorecard/urls.py): opportunity entry and the catalogs (products, accounts, partners)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

app_name = "sales"

urlpatterns: list[URLPattern | URLResolver] = []
