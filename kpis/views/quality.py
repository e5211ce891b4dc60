"""``/manage/data-quality/``: the admin's data-quality panel (see ``kpis.quality``)."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone

from kpis.quality import LISTED, RECENT_PERIODS, data_quality
from scorecard.decorators import MembershipRequest, admin_required


@admin_required
def data_quality_page(request: MembershipRequest) -> HttpResponse:
    today = timezone.localdate()
    context = {
        "quality": data_quality(request.membership.org, today),
        "today": today,
        "listed": LISTED,
        "recent_periods": RECENT_PERIODS,
    }
    return render(request, "kpis/data_quality.html", context)
