"""The Django admin site for platform operators.

It lists every organisation's rows, so only superusers may enter it; an organisation's admins use the
product's own pages (/manage/). Operators are made with ``manage.py createsuperuser``. An operator who owes
the second sign-in step (scorecard/twofactor.py) gives it before the admin opens.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.http import HttpRequest, HttpResponse


class OperatorAdminSite(admin.AdminSite):
    site_header = "Sales Scorecard · platform operations"
    site_title = "Sales Scorecard operations"

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(user.is_active and user.is_superuser and _pending_step(request) is None)

    def login(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        step = _pending_step(request)
        return step if step is not None else super().login(request, extra_context)


def _pending_step(request: HttpRequest) -> HttpResponse | None:
    # Imported here: INSTALLED_APPS loads this module before the models twofactor needs exist.
    from . import twofactor

    return twofactor.pending_step(request)


class OperatorAdminConfig(AdminConfig):
    """``django.contrib.admin`` with :class:`OperatorAdminSite` as its site (INSTALLED_APPS names this)."""

    default_site = "scorecard.admin_site.OperatorAdminSite"
