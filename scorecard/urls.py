"""Root URLconf: the project's own pages here, each app's pages from its urls.py."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from . import views, views_periods

urlpatterns = [
    path("", include("kpis.urls")),
    path("org/switch/", views.org_switch, name="org_switch"),
    path("manage/", views_periods.manage, name="manage"),
    path("manage/periods/", views_periods.period_locks, name="period_locks"),
    path("manage/", include("imports.urls")),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("territories/", include("territories.urls")),
    path("sales/", include("sales.urls")),
    path("people/", include("people.urls")),
    path("perspectives/", include("perspectives.urls")),
    path("admin/", admin.site.urls),
]
