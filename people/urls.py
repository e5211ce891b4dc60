"""Pages of the people app, under /people/ (included from scorecard/urls.py): certification and programme entry."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from . import views

app_name = "people"

urlpatterns: list[URLPattern | URLResolver] = [
    path("certifications/", views.certification_list, name="certification_list"),
    path("certifications/new/", views.certification_create, name="certification_create"),
    path("certifications/<int:pk>/", views.certification_edit, name="certification_edit"),
    path("programmes/", views.participation_list, name="participation_list"),
    path("programmes/new/", views.participation_create, name="participation_create"),
    path("programmes/<int:pk>/", views.participation_edit, name="participation_edit"),
]
