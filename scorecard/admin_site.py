"""The Django admin site for platform operators.

It lists every organisation's rows, so only superusers may enter it; an organisation's admins use the
product's own pages (/manage/). Operators are made with ``manage.py createsuperuser``.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.http import HttpRequest


class OperatorAdminSite(admin.AdminSite):
    site_header = "Sales Scorecard · platform operations"
    site_title = "Sales Scorecard operations"

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(user.is_active and user.is_superuser)


class OperatorAdminConfig(AdminConfig):
    """``django.contrib.admin`` with :class:`OperatorAdminSite` as its site (INSTALLED_APPS names this)."""

    default_site = "scorecard.admin_site.OperatorAdminSite"
