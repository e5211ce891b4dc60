"""``/manage/settings/``: the organisation's name, currency and fiscal year start.

A new fiscal year start renames every year and quarter (``2025-Q1`` becomes ``FY2025-Q4`` …), so the
page asks to confirm it, after showing what today's year and quarter will be called; the service then
requests a full recompute.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from . import history, periods, services
from .decorators import MembershipRequest, admin_required
from .forms import MONTHS, SettingsForm, add_service_errors
from .models import Organization

MONTH_NAMES = dict(MONTHS)


def calendar_preview(old_month: int, new_month: int, today) -> dict[str, str]:
    """Today's year and quarter under the current and the new fiscal calendar."""
    return {
        "old_year": periods.period_containing(today, periods.YEAR, old_month).key,
        "old_quarter": periods.period_containing(today, periods.QUARTER, old_month).key,
        "new_year": periods.period_containing(today, periods.YEAR, new_month).key,
        "new_quarter": periods.period_containing(today, periods.QUARTER, new_month).key,
        "new_month": MONTH_NAMES[new_month],
    }


def _what(record, previous) -> str:
    if previous is None:
        return f"Created {record.name}" if record.history_type == history.CREATED else f"Saved {record.name}"
    parts = []
    if record.name != previous.name:
        parts.append(f"Name {previous.name} → {record.name}")
    if record.currency != previous.currency:
        parts.append(f"Currency {previous.currency} → {record.currency}")
    if record.fiscal_year_start_month != previous.fiscal_year_start_month:
        parts.append(
            f"Fiscal year start {MONTH_NAMES[previous.fiscal_year_start_month]} → "
            f"{MONTH_NAMES[record.fiscal_year_start_month]}"
        )
    return "; ".join(parts) or "Saved unchanged"


@admin_required
def manage_settings(request: MembershipRequest) -> HttpResponse:
    org = request.membership.org
    today = timezone.localdate()
    form = SettingsForm(
        prefix="settings",
        initial={
            "name": org.name,
            "currency": org.currency,
            "fiscal_year_start_month": org.fiscal_year_start_month,
        },
    )
    preview: dict[str, Any] | None = None
    status = 200
    if request.method == "POST":
        form = SettingsForm(request.POST, prefix="settings")
        if form.is_valid():
            data = form.cleaned_data
            month = data["fiscal_year_start_month"]
            if month != org.fiscal_year_start_month:
                preview = calendar_preview(org.fiscal_year_start_month, month, today)
            if preview is not None and not data["confirm"]:
                form.add_error(
                    "confirm",
                    f"Years and quarters will be renamed (today: {preview['old_quarter']} becomes "
                    f"{preview['new_quarter']}): tick to confirm.",
                )
            else:
                try:
                    recalendared = services.organization_settings_update(
                        org=org,
                        name=data["name"],
                        currency=data["currency"],
                        fiscal_year_start_month=month,
                        user=request.user,
                        reason=data["reason"],
                    )
                except ValidationError as exc:
                    add_service_errors(form, exc, "name")
                else:
                    note = " Years and quarters follow the new fiscal calendar; every scorecard is being recomputed."
                    messages.success(request, "The settings are saved." + (note if recalendared else ""))
                    return redirect("manage_settings")
        status = 400
    rows = Organization.history.filter(id=org.pk)
    context = {
        "form": form,
        "preview": preview,
        "current": calendar_preview(org.fiscal_year_start_month, org.fiscal_year_start_month, today),
        "history": history.entries(history.newest(rows), _what),
    }
    return render(request, "scorecard/manage_settings.html", context, status=status)
