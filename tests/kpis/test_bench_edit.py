"""``bench_edit_to_page`` end to end on a small realistic organisation: a real worker process recomputes
each saved edit and the page shows it; the figures it reports come from those edits."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kpis import bench_edit
from kpis.models import RollupRun
from sales.models import Opportunity

pytestmark = [pytest.mark.postgres, pytest.mark.worker]


def test_edit_to_page_goes_through_a_worker_process_and_reports_each_edit(transactional_db, settings):
    settings.SCORECARD_AUTO_RECOMPUTE = False  # building the organisation
    org = bench_edit.stored_organization(2000, "realistic")
    deal, _team = bench_edit._deal_and_team(org)
    last_run = RollupRun.objects.filter(org=org).order_by("-pk").values_list("pk", flat=True).first()
    settings.SCORECARD_AUTO_RECOMPUTE = True

    result = bench_edit.run(2000, edits=2, cold=1, settle=0)

    assert result["cold"]["n"] == 1 and result["warm"]["n"] == 2
    assert result["save_request"]["n"] == 3
    assert 0 < result["warm"]["p50_ms"] <= result["warm"]["p95_ms"]
    # every edit added 1,000 and was recomputed by the worker, not by this process
    deal_after = Opportunity.objects.get(pk=deal.pk)
    assert deal_after.amount == deal.amount + Decimal(3000)
    assert RollupRun.objects.filter(org=org, pk__gt=last_run).exists()
    assert result["worker_recompute_warm"]["n"] == 2
    assert result["worker_recompute_warm"]["p50_ms"] > 0
