"""Pages of the sales app, under /sales/ (included from scorecard/urls.py): opportunity entry and the catalogs (products, accounts, partners)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from . import views

app_name = "sales"

urlpatterns: list[URLPattern | URLResolver] = [
    path("opportunities/", views.opportunity_list, name="opportunity_list"),
    path("opportunities/new/", views.opportunity_create, name="opportunity_create"),
    path("opportunities/<int:pk>/", views.opportunity_edit, name="opportunity_edit"),
    path("opportunities/<int:pk>/delete/", views.opportunity_delete, name="opportunity_delete"),
    path("accounts/search/", views.account_search, name="account_search"),
]
