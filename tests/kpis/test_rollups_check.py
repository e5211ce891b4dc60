"""``rollups_check`` (the load test's last step): stored rollups that a fresh recompute would store pass;
a deal changed behind the recompute's back fails, naming the rows; the check itself changes nothing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from kpis.bench_load import rollups_differences
from kpis.models import RecomputeRequest, ScopeRollup
from kpis.services import rollups_recompute
from sales.models import Opportunity


@pytest.fixture
def recomputed(build, settings):
    settings.SCORECARD_AUTO_RECOMPUTE = False
    b = build()
    ann = b.rep("Ann", ("Acme/East", date(2017, 1, 1), None))
    b.opp = b.deal(ann, "won", engage=date(2017, 2, 1), close=date(2017, 4, 10), amount=100)
    b.deal(ann, "lost", engage=date(2017, 3, 1), close=date(2017, 5, 2), amount=50)
    rollups_recompute(org=b.org)
    RecomputeRequest.objects.filter(org=b.org).delete()  # marked by the deals' signals, done above
    return b


def _rows(org):
    rows = ScopeRollup.objects.filter(org=org).order_by("pk")
    return [(*key, bytes(data)) for *key, data in rows.values_list("pk", "run_id", "year", "data")]


def test_fresh_rollups_pass_the_check(recomputed, capsys):
    rows, differing = rollups_differences(recomputed.org)
    assert differing == []
    assert rows == ScopeRollup.objects.filter(org=recomputed.org).count() > 0
    call_command("rollups_check", org="acme", wait=1)
    assert "equal a fresh recompute" in capsys.readouterr().out


def test_a_change_the_rollups_missed_fails_the_check_and_the_check_changes_nothing(recomputed):
    # A bulk update sends no signal: the stored rollups no longer follow the deals.
    Opportunity.objects.filter(pk=recomputed.opp.pk).update(amount=Decimal("175"))
    stored = _rows(recomputed.org)
    rows, differing = rollups_differences(recomputed.org)
    territories = {t for t, _r, _y in differing if t is not None}
    reps = {r for _t, r, _y in differing if r is not None}
    assert {y for _t, _r, y in differing} == {"2017"}
    assert reps == {recomputed.opp.rep_id}
    assert len(territories) == 2  # Acme and Acme/East
    assert _rows(recomputed.org) == stored
    with pytest.raises(CommandError, match="3 of .* stored rollup rows differ"):
        call_command("rollups_check", org="acme", wait=1)
