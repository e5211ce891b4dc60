"""The admin's territory and rep pages, under /manage/ (included from scorecard/urls.py)."""

from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("territories/", views.manage_territories, name="manage_territories"),
    path("territories/<int:pk>/", views.territory_change, name="territory_change"),
    path("reps/", views.manage_reps, name="manage_reps"),
    path("reps/<int:pk>/", views.manage_rep, name="manage_rep"),
]
