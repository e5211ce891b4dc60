from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("imports/", views.wizard, name="import_wizard"),
    path("imports/<int:pk>/", views.job_page, name="import_job"),
    path("export/<slug:kind>.<slug:fmt>", views.export, name="export"),
]
