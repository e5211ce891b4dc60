"""The admin's product catalog, under /manage/ (included from scorecard/urls.py)."""

from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("products/", views.manage_products, name="manage_products"),
    path("products/<int:pk>/", views.manage_product, name="manage_product"),
]
