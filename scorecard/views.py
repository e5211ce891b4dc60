"""The project's own pages: the organisation switcher and the health checks."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.text import slugify
from django.views.decorators.http import require_POST

from . import access, twofactor
from .forms import OrganizationForm
from .models import Membership, Organization, Role
from .services import organization_create


@login_required
@require_POST
def org_switch(request: HttpRequest) -> HttpResponse:
    if (step := twofactor.pending_step(request)) is not None:
        return step
    try:
        org_id = int(request.POST.get("org", ""))
    except ValueError:
        org_id = -1
    membership = access.switch_org(request, org_id)
    messages.info(request, f"You are now working in {membership.org.name}.")
    return redirect("home")


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _may_see_details(request: HttpRequest) -> bool:
    """Staff, and the networks the orchestrator's health checks come from (READYZ_DETAIL_NETWORKS)."""
    if getattr(request, "user", None) is not None and request.user.is_staff:
        return True
    try:
        client = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(client in ipaddress.ip_network(n, strict=False) for n in settings.READYZ_DETAIL_NETWORKS)


def readyz(request: HttpRequest) -> JsonResponse:
    """Ready when the database, the cache and the broker answer: 200, else 503. Which check failed,
    and how, is told to staff and to READYZ_DETAIL_NETWORKS only."""
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # readiness reports any failure rather than raising
        checks["database"] = f"error: {exc.__class__.__name__}"
    try:
        cache.set("readyz", "1", 5)
        checks["cache"] = "ok" if cache.get("readyz") == "1" else "error: cache did not return the value"
    except Exception as exc:
        checks["cache"] = f"error: {exc.__class__.__name__}"
    checks["broker"] = _broker_check()
    ok = all(v == "ok" or v == "eager" for v in checks.values())
    body: dict[str, object] = {"status": "ok" if ok else "unavailable"}
    if _may_see_details(request):
        body["checks"] = checks
    return JsonResponse(body, status=200 if ok else 503)


def _broker_check() -> str:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "eager"
    from scorecard.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return "ok"
    except Exception as exc:
        return f"error: {exc.__class__.__name__}"


def may_create_organization(user) -> bool:
    """Platform operators, and a signed-in person who belongs to no organisation yet (they start one)."""
    return bool(user.is_authenticated and (user.is_superuser or not access.memberships_of(user)))


@login_required
def org_create(request: HttpRequest) -> HttpResponse:
    """``/org/new/``: start an organisation (its root territory and default scorecard come with it) and
    become its admin; then set it up from Manage."""
    if (step := twofactor.pending_step(request)) is not None:
        return step
    user = request.user
    assert user.is_authenticated  # login_required
    if not may_create_organization(user):
        raise PermissionDenied("Ask an administrator of your organisation; you already belong to one.")
    form = OrganizationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        slug = data["slug"] or slugify(data["name"])[:60] or "org"
        if Organization.objects.filter(slug=slug).exists():
            form.add_error(
                "slug" if data["slug"] else "name", f"The short name {slug!r} is taken: choose another."
            )
        else:
            with transaction.atomic():
                org = organization_create(
                    name=data["name"],
                    slug=slug,
                    currency=data["currency"].upper(),
                    fiscal_year_start_month=data["fiscal_year_start_month"],
                )
                Membership.objects.create(user=user, org=org, role=Role.ADMIN)
            user._memberships_cache = None  # type: ignore[attr-defined]  # access.memberships_of reads it again
            access.switch_org(request, org.pk)
            messages.success(
                request, f"{org.name} is ready: build its territory tree, reps and targets here."
            )
            return redirect("manage")
    return render(request, "scorecard/org_create.html", {"form": form}, status=400 if form.errors else 200)
