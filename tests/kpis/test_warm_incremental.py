"""A worker that kept an organisation's deals counts only what an edit touches: the distinct counts
(customers, retained and cross-brand customers, identifying reps) are counted again only over the members
(customers, reps) of the changed deals' facts, the counts over people alone and the measurements and
targets are kept until they change, and the rows stored are what a recompute reading everything stores."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from django.db import connection, transaction
from django.db.models import Q
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from kpis import bench
from kpis.models import RecomputeRequest, RollupRun, ScopeRollup
from kpis.rollup import warm
from kpis.rollup.compute import Rollup
from kpis.rollup.distinct import DistinctCounts
from kpis.services import rollups_recompute
from sales.models import Account, Opportunity, Product
from territories.models import Rep, Territory

# Array work over a realistic organisation: the database only stores rows, and the warm path on PostgreSQL
# (its COPY reads, the real worker) is held by tests/kpis/test_write_paths_stateful.py. Once is enough.
pytestmark = pytest.mark.single_pass


@pytest.fixture(scope="module")
def realistic(django_db_setup, django_db_blocker):
    """Built once for the module, inside a transaction rolled back afterwards."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            with override_settings(SCORECARD_AUTO_RECOMPUTE=False):
                org = bench.build_org("bench-warm", 600, profile="realistic")
            yield org
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


def _stored(org) -> dict[tuple, bytes]:
    """The stored rows, by (territory, rep, year), as bytes: both runs have the same KPIs, so equal bytes are
    equal figures."""
    assert (
        len({tuple(ids) for ids in RollupRun.objects.filter(org=org).values_list("kpi_ids", flat=True)}) == 1
    )
    rows = ScopeRollup.objects.filter(org=org).values_list("territory_id", "rep_id", "year", "data")
    return {(t, r, y): bytes(data) for t, r, y, data in rows}


def _won_with_account(org) -> Opportunity:
    return Opportunity.objects.filter(
        org=org, stage="won", account__isnull=False, rep__isnull=False, close_date__isnull=False
    ).earliest("pk")


def _edit(org, kind: str) -> None:
    opp = _won_with_account(org)  # the same deal each time, as it is now
    if kind == "amount":
        opp.amount = (opp.amount or 0) + 1000
    elif kind == "account":
        opp.account = Account.objects.filter(org=org).exclude(id__in=[opp.account_id]).order_by("-pk").first()
    elif kind == "lost":
        opp.stage = "lost"
    elif kind == "close":
        assert opp.close_date is not None
        opp.close_date += timedelta(days=95)
    elif kind == "identifier":
        opp.identified_by = Rep.objects.filter(org=org).exclude(id__in=[opp.rep_id]).order_by("-pk").first()
    elif kind == "products":
        opp.products.set(Product.objects.filter(org=org).order_by("pk")[:3])
        return
    opp.save()


@pytest.mark.django_db
@pytest.mark.parametrize("kinds", [("account", "lost", "identifier"), ("close", "products", "amount")])
def test_edits_count_distinct_figures_again_only_where_their_deal_counts(realistic, kinds, monkeypatch):
    """Each edit is recomputed by the worker that kept the deals (one after the other, so the counts one
    run patched are what the next one patches); the last run stores what reading everything stores."""
    org = realistic
    expanded: list[int] = []  # how many fact keys each expansion takes
    people: list[str] = []  # counts over people made again
    expand, reps_in_scope = DistinctCounts.expand, DistinctCounts.reps_in_scope

    def expanding(self, base, span):
        expanded.append(len(base))
        return expand(self, base, span)

    def counting_people(self, start, end, **kwargs):
        people.append("reps_in_scope")
        return reps_in_scope(self, start, end, **kwargs)

    restricted: list[int | None] = []  # how many scopes a run's batch was limited to
    only_changed = Rollup.only_changed_scopes

    def only_changed_scopes(self, distinct):
        scopes = only_changed(self, distinct)
        restricted.append(None if scopes is None else len(scopes))
        return scopes

    monkeypatch.setattr(DistinctCounts, "expand", expanding)
    monkeypatch.setattr(DistinctCounts, "reps_in_scope", counting_people)
    monkeypatch.setattr(Rollup, "only_changed_scopes", only_changed_scopes)
    with override_settings(SCORECARD_AUTO_RECOMPUTE=False):
        warm.forget()
        rollups_recompute(org=org)  # reads every deal and keeps them, with its distinct counts
        assert len(expanded) == 3 and people  # a full run: every family's keys, the people
        fewest = min(expanded)  # the smallest family's fact keys
        for kind in kinds:
            RecomputeRequest.objects.filter(org=org).delete()
            _edit(org, kind)
            requested = sorted(RecomputeRequest.objects.filter(org=org).values_list("period", flat=True))
            assert requested and RecomputeRequest.ALL not in requested
            expanded[:], people[:] = [], []
            rollups_recompute(org=org, period_keys=requested)

            # Customers, retained and cross-brand customers and identifying reps are counted again over
            # the facts of the changed deals' members only (before and after the change: two expansions
            # per family), a small part of each family's facts; the counts over people alone (active reps,
            # headcounts, leavers, certified and programme reps, reps with a target) are kept.
            assert len(expanded) == 6, kind
            assert 0 < max(expanded) < fewest / 10, (kind, expanded, fewest)  # (two accounts at most)
            assert not people, kind
            # Only the scopes where the deal counts (its paths, reps, where those reps are active) are
            # assembled, compared and written; the other rows stay as the last run stored them.
            scopes = Territory.objects.filter(org=org).count() + Rep.objects.filter(org=org).count()
            assert restricted[-1] is not None and 0 < restricted[-1] < scopes / 20, kind
        incremental = _stored(org)

        warm.forget()
        rollups_recompute(org=org)
        assert _stored(org) == incremental


@pytest.mark.django_db
def test_kept_measurements_and_targets_are_read_again_only_after_one_changed(realistic, monkeypatch):
    """A deal edit reuses the measurements and targets (and their arrays) the worker kept; a target set or a
    measurement entered is logged (``InputChange``) and makes the next run read them all again."""
    from kpis.models import KPI, InputChange, Measurement, Source
    from kpis.rollup import load
    from kpis.services import measurement_set, target_set

    org = realistic
    reads: list[int] = []
    original = load.load_period_rows

    def load_period_rows(org):
        reads.append(org.pk)
        return original(org)

    monkeypatch.setattr(load, "load_period_rows", load_period_rows)
    restricted: list[object] = []
    only_changed = Rollup.only_changed_scopes

    def only_changed_scopes(self, distinct):
        scopes = only_changed(self, distinct)
        restricted.append(scopes)
        return scopes

    monkeypatch.setattr(Rollup, "only_changed_scopes", only_changed_scopes)

    def recompute_requested() -> None:
        requested = sorted(RecomputeRequest.objects.filter(org=org).values_list("period", flat=True))
        RecomputeRequest.objects.filter(org=org).delete()
        rollups_recompute(org=org, period_keys=requested)

    with override_settings(SCORECARD_AUTO_RECOMPUTE=False):
        warm.forget()
        rollups_recompute(org=org)
        assert reads == [org.pk]
        RecomputeRequest.objects.filter(org=org).delete()

        _edit(org, "amount")
        recompute_requested()
        assert reads == [org.pk]  # kept
        assert restricted[-1] is not None  # only the deal's scopes were assembled

        revenue = KPI.objects.get(org=org, slug="won_revenue")
        root = Territory.objects.get(org=org, depth=1)
        target_set(kpi=revenue, period="2023-Q4", goal=123_456_789, territory=root, reason="test")
        assert InputChange.objects.filter(org=org).exists()
        _edit(org, "amount")
        recompute_requested()
        assert reads == [org.pk, org.pk]  # read again after the target changed
        assert restricted[-1] is None  # every scope again: targets add up the tree
        assert not InputChange.objects.filter(org=org).exists()  # consumed by the run that read them

        manual = KPI.objects.filter(org=org, source=Source.MANUAL).order_by("pk").first()
        entry = Measurement.objects.filter(org=org, kpi=manual).order_by("pk").first()
        measurement_set(
            kpi=manual, period=entry.period, value=entry.value, territory=entry.territory, rep=entry.rep
        )
        _edit(org, "amount")
        recompute_requested()
        assert reads == [org.pk, org.pk, org.pk]
        incremental = _stored(org)

        warm.forget()
        rollups_recompute(org=org)
        assert _stored(org) == incremental


_keys = st.dictionaries(st.integers(0, 60), st.integers(1, 4), max_size=25)


@given(known=_keys, more=_keys, sign=st.sampled_from([1, -1]))
@hsettings(max_examples=300, deadline=None)
def test_adding_or_removing_fact_keys_counts_each_key_exactly(known, more, sign):
    """``tally.merged`` merges an edit's few keys into the kept ones without sorting them all again: the
    same keys and counts as a dictionary sum, keys at 0 gone, and removing what was never counted refused."""
    from kpis.rollup.tally import merged

    def keys(counted: dict[int, int]) -> tuple[np.ndarray, np.ndarray]:
        ordered = sorted(counted)
        return np.array(ordered, dtype=np.int64), np.array([counted[k] for k in ordered], dtype=np.int64)

    expected = dict(known)
    for key, count in more.items():
        expected[key] = expected.get(key, 0) + sign * count
    if any(count < 0 for count in expected.values()):
        with pytest.raises(ValueError, match="never counted"):
            merged(*keys(known), *keys(more), sign, "k")
        return
    got_keys, got_counts = merged(*keys(known), *keys(more), sign, "k")
    assert dict(zip(got_keys.tolist(), got_counts.tolist(), strict=True)) == {
        k: c for k, c in expected.items() if c > 0
    }
    assert list(got_keys) == sorted(got_keys)


@pytest.mark.django_db
def test_a_few_deals_counted_at_their_ancestors_give_what_the_sum_over_the_tree_gives(realistic, monkeypatch):
    """An edit's few deals are counted at each territory's ancestors one by one (``FEW_FACTS``) instead of
    summed over the whole tree: the same counts, of the same types, for any few deals."""
    from datetime import date

    from kpis.rollup import tally

    rollup = Rollup(realistic, today=date(2024, 3, 1))
    rng = np.random.default_rng(7)
    for n in (1, 2, 5, 12):
        deals = rollup.deals.take(np.sort(rng.choice(len(rollup.deals), n, replace=False)))
        monkeypatch.setattr(tally, "FEW_FACTS", 10**9)
        few = rollup.counter.deal_figures(deals)
        monkeypatch.setattr(tally, "FEW_FACTS", -1)
        summed = rollup.counter.deal_figures(deals)
        assert few.counts.keys() == summed.counts.keys()
        for name, counts in summed.counts.items():
            assert few.counts[name].dtype == counts.dtype, name
            assert np.array_equal(few.counts[name], counts), (n, name)


@pytest.mark.django_db
def test_figures_and_totals_patched_by_edits_equal_a_recount(realistic):
    """After edits of every kind, the figures and totals a worker patched in place (the changed rows only)
    are exactly a recount's from every deal read again."""
    from django.utils import timezone

    org = realistic
    with override_settings(SCORECARD_AUTO_RECOMPUTE=False):
        warm.forget()
        rollups_recompute(org=org)
        for kind in ("close", "account", "identifier", "products", "lost"):
            RecomputeRequest.objects.filter(org=org).delete()
            _edit(org, kind)
            periods = list(RecomputeRequest.objects.filter(org=org).values_list("period", flat=True))
            rollups_recompute(org=org, period_keys=periods)
        kept = warm.take(org.pk, RollupRun.objects.filter(org=org).latest("pk").token)
    assert kept is not None and kept.figures is not None and kept.sums is not None
    fresh = Rollup(org, today=timezone.localdate(), period_keys=periods, full_grid=True)
    assert fresh.warm is None
    for name, counts in fresh.figures.counts.items():
        assert np.array_equal(kept.figures.counts[name], counts), name
    for name, (keys, counts) in fresh.figures.keys.items():
        assert np.array_equal(kept.figures.keys[name][0], keys), name
        assert np.array_equal(kept.figures.keys[name][1], counts), name
    sums = fresh.counter.totals(fresh.figures)
    assert kept.sums.keys() == sums.keys()
    for name, total in sums.items():
        assert np.array_equal(kept.sums[name], total, equal_nan=True), name


@pytest.mark.django_db
def test_a_rep_who_moved_reaches_the_target_also_where_they_were_earlier_in_the_year(realistic):
    """Reps at their revenue target count in every territory a rep was active in during the period, not
    only where the edited deal is credited: a rep who moved in the year and whose edit crosses the yearly
    target changes the old territory's row too, which the warm run must rewrite."""
    from decimal import Decimal

    from kpis.models import KPI
    from kpis.services import target_set
    from territories.models import TerritoryAssignment

    org = realistic
    year = org.parse_period("2023")
    deals = Opportunity.objects.filter(
        org=org, stage="won", rep__isnull=False, close_date__lte=year.end, created_date__gte=year.start
    ).order_by("pk")

    def opened(o: Opportunity):
        return min(d for d in (o.created_date, o.engage_date) if d is not None)

    def covering(o: Opportunity) -> TerritoryAssignment | None:
        """The rep's assignment from before the year until after the deal closed."""
        return (
            TerritoryAssignment.objects.filter(rep=o.rep, start__lte=year.start)
            .filter(Q(end__isnull=True) | Q(end__gte=o.close_date))
            .first()
        )

    # Opened (and so in the open pipeline) only after the move: it counts in the new territory alone.
    deal = next(o for o in deals if (opened(o) - year.start).days > 60 and covering(o) is not None)
    rep, current = deal.rep, covering(deal)
    assert rep is not None and current is not None and deal.close_date is not None
    moved_on = opened(deal)
    elsewhere = (
        Territory.objects.filter(org=org, numchild=0).exclude(pk=current.territory_id).earliest("path")
    )
    with override_settings(SCORECARD_AUTO_RECOMPUTE=False):
        current.end, until = moved_on - timedelta(days=1), current.end
        current.save()
        TerritoryAssignment.objects.create(org=org, rep=rep, territory=elsewhere, start=moved_on, end=until)
        deal.territory = None  # credited where its rep is on the close date: the new territory
        deal.save()
        won = Opportunity.objects.filter(
            org=org, rep=rep, stage="won", close_date__gte=year.start, close_date__lte=year.end
        )
        revenue = sum((o.amount or Decimal(0)) for o in won)
        revenue_kpi = KPI.objects.get(org=org, slug="won_revenue")
        target_set(kpi=revenue_kpi, period=year.key, goal=revenue + 500, rep=rep, reason="just out of reach")
        warm.forget()
        rollups_recompute(org=org)  # kept: the rep is below target
        RecomputeRequest.objects.filter(org=org).delete()
        before = _stored(org)

        deal.amount = (deal.amount or Decimal(0)) + 1000  # now at target
        deal.save()
        requested = sorted(RecomputeRequest.objects.filter(org=org).values_list("period", flat=True))
        rollups_recompute(org=org, period_keys=requested)
        incremental = _stored(org)

        warm.forget()
        rollups_recompute(org=org)
        fresh = _stored(org)
    assert Territory.objects.get(pk=current.territory_id).depth == elsewhere.depth
    old_rows = {key for key in fresh if key[0] == current.territory_id}
    assert any(fresh[key] != before.get(key) for key in old_rows)  # the old territory's row changed
    assert all(incremental.get(key) == fresh[key] for key in old_rows)
    assert incremental == fresh


@pytest.mark.django_db
def test_a_worker_whose_first_run_was_partial_reads_only_the_changed_scopes_rows(realistic):
    """A worker that started with an edit (a partial run) does not know every stored row: the next edit
    reads from the database only the rows of the scopes it can change, and stores what a full run does."""
    org = realistic
    with override_settings(SCORECARD_AUTO_RECOMPUTE=False):
        rollups_recompute(org=org)
        warm.forget()  # a fresh worker process
        for kind in ("amount", "account"):
            RecomputeRequest.objects.filter(org=org).delete()
            _edit(org, kind)
            requested = sorted(RecomputeRequest.objects.filter(org=org).values_list("period", flat=True))
            with CaptureQueriesContext(connection) as queries:
                rollups_recompute(org=org, period_keys=requested)
            reads = [
                q["sql"] for q in queries if 'FROM "kpis_scoperollup"' in q["sql"] and "data" in q["sql"]
            ]
            assert len(reads) == 1
            # First (cold) run: every scope's rows of the years; then only the changed scopes'.
            assert ('territory_id" IN' in reads[0]) == (kind == "account"), reads[0][:300]
        incremental = _stored(org)
        warm.forget()
        rollups_recompute(org=org)
        assert _stored(org) == incremental
