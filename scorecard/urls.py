"""Root URLconf: the project's own pages here, each app's pages from its urls.py."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, reverse_lazy

from . import views, views_periods, views_settings, views_twofactor, views_users

urlpatterns = [
    path("", include("kpis.urls")),
    path("org/switch/", views.org_switch, name="org_switch"),
    path("org/new/", views.org_create, name="org_create"),
    path("manage/", views_periods.manage, name="manage"),
    path("manage/periods/", views_periods.period_locks, name="period_locks"),
    path("manage/settings/", views_settings.manage_settings, name="manage_settings"),
    path("manage/users/", views_users.manage_users, name="manage_users"),
    path("manage/users/<int:pk>/", views_users.manage_user, name="manage_user"),
    path("manage/", include("territories.manage_urls")),
    path("manage/", include("sales.manage_urls")),
    path("manage/", include("imports.urls")),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/two-factor/", views_twofactor.two_factor, name="two_factor"),
    path("accounts/two-factor/setup/", views_twofactor.two_factor_setup, name="two_factor_setup"),
    # An invitation's set-password link: Django's password-reset confirmation, with the app's templates.
    path(
        "accounts/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            template_name="registration/set_password.html",
            success_url=reverse_lazy("password_reset_complete"),
        ),
        name="password_reset_confirm",
    ),
    path(
        "accounts/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(template_name="registration/set_password_done.html"),
        name="password_reset_complete",
    ),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("territories/", include("territories.urls")),
    path("sales/", include("sales.urls")),
    path("people/", include("people.urls")),
    path("perspectives/", include("perspectives.urls")),
    path("admin/", admin.site.urls),
]
