"""``/manage/periods/``: admins lock closed periods and unlock them with a reason; the history shows both."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from . import history, periods
from .decorators import MembershipRequest, admin_required
from .models import PeriodLock
from .services import period_lock, period_unlock

SUGGESTED_YEARS = 3  # closed periods of the last three fiscal years are offered in the period field
HISTORY_SHOWN = 50


def suggestions(fiscal_start_month: int, today: date) -> list[str]:
    """Keys of the closed years, quarters and months of the last few fiscal years, newest first."""
    first = periods.year(
        periods.fiscal_year_of(today, fiscal_start_month) - SUGGESTED_YEARS, fiscal_start_month
    )
    keys: list[tuple[date, int, str]] = []
    for rank, kind in enumerate((periods.YEAR, periods.QUARTER, periods.MONTH)):
        for span in periods.periods_between(first.start, today, kind, fiscal_start_month):
            if span.end < today:
                keys.append((span.end, -rank, span.key))
    return [key for _, _, key in sorted(keys, reverse=True)]


@admin_required
def manage(request: MembershipRequest) -> HttpResponse:
    """``/manage/``: the admin's index of the organisation's management pages."""
    return render(request, "scorecard/manage.html")


@admin_required
def period_locks(request: MembershipRequest) -> HttpResponse:
    org = request.membership.org
    errors: dict[str, list[str]] = {}
    values = {"period": "", "reason": "", "lock": ""}
    if request.method == "POST":
        values = {name: request.POST.get(name, "").strip() for name in values}
        try:
            if request.POST.get("action") == "unlock":
                lock = get_object_or_404(PeriodLock, org=org, pk=_int(values["lock"]))
                period_unlock(lock=lock, user=request.user, reason=values["reason"])
                messages.success(request, f"{lock.period} is unlocked: its inputs may change again.")
            else:
                lock = period_lock(
                    org=org, period=values["period"], user=request.user, reason=values["reason"]
                )
                messages.success(
                    request, f"{lock.period} is locked: its deals, targets and measurements are frozen."
                )
            return redirect("period_locks")
        except ValidationError as exc:
            errors = exc.message_dict if hasattr(exc, "error_dict") else {"period": exc.messages}
    context: dict[str, Any] = {
        "locks": PeriodLock.objects.filter(org=org).select_related("locked_by").order_by("-period"),
        "history": history.entries(
            history.newest(PeriodLock.history.filter(org_id=org.pk), HISTORY_SHOWN), _what
        ),
        "suggestions": suggestions(org.fiscal_year_start_month, timezone.localdate()),
        "errors": errors,
        "values": values,
    }
    return render(request, "scorecard/period_locks.html", context, status=400 if errors else 200)


def _what(record, previous) -> str:
    verb = {history.CREATED: "Locked", history.DELETED: "Unlocked"}.get(record.history_type, "Changed")
    return f"{verb} {record.period}"


def _int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        return -1
