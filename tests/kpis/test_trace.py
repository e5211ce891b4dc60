"""The rows behind a figure (``kpis.trace``): the traced deals add up to the stored actual, worked out by
hand on a small organisation, at a team, a region, the root and a rep.

Acme / East / {Boston, NYC} and Acme / West / Denver. Bob moves from NYC to Denver on 2017-02-16, so his
deals are credited to the territory he sat in on the day each counts.
"""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db.models import Sum
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from kpis import trace
from kpis.services import rollups_recompute
from people.models import Certification, CertificationType
from scorecard import periods
from territories.models import Rep, Territory
from tests.examples import examples
from tests.kpis.implementations import Stored

START = date(2016, 1, 1)
TODAY = date(2030, 1, 1)


def d(month: int, day: int, year: int = 2017) -> date:
    return date(year, month, day)


@pytest.fixture
def acme(build):
    b = build()
    b.ann = b.rep("Ann", ("Acme/East/Boston", START, None))
    b.bob = b.rep("Bob", ("Acme/East/NYC", START, d(2, 15)), ("Acme/West/Denver", d(2, 16), None))
    b.dan = b.rep("Dan", ("Acme/West/Denver", START, None))
    boston, nyc = b.territory("Acme/East/Boston"), b.territory("Acme/East/NYC")
    # Closed in 2017-Q1.
    b.deal(b.ann, "won", engage=d(1, 5), close=d(3, 1), amount=100)  # Boston
    b.deal(b.ann, "lost", engage=d(1, 1), close=d(2, 10), amount=50)  # Boston
    b.deal(b.bob, "won", engage=d(1, 2), close=d(2, 1), amount=200)  # NYC: before his move
    b.deal(b.bob, "won", engage=d(1, 3), close=d(3, 10), amount=300)  # Denver: after it
    b.deal(b.bob, "lost", engage=d(1, 4), close=d(3, 20), amount=70)  # Denver
    b.deal(b.dan, "won", engage=d(1, 6), close=d(1, 15), amount=400)  # Denver
    b.deal(None, "won", engage=d(1, 7), close=d(2, 20), amount=500, territory=nyc)  # house deal: NYC
    b.deal(None, "won", engage=d(1, 8), close=d(3, 5), amount=600)  # neither rep nor territory: root
    # Outside the quarter (the first is open at its end: won only in Q2).
    b.deal(b.ann, "won", engage=d(1, 9), close=d(4, 2), amount=999)
    b.deal(b.dan, "won", engage=d(12, 1, 2016), close=d(12, 31, 2016), amount=888)
    # Open at the quarter's end: engaged by 03-31 and not won or lost by then.
    b.deal(b.ann, "engaging", engage=d(1, 10), amount=10)  # Boston
    b.deal(b.bob, "proposal", engage=d(1, 5), amount=20)  # Denver: where Bob sits on 03-31
    b.deal(b.dan, "won", engage=d(2, 1), close=d(4, 10), amount=30)  # Denver: won only in Q2
    b.deal(None, "engaging", engage=d(2, 2), amount=40, territory=boston)  # house: Boston
    b.deal(b.ann, "engaging", engage=d(4, 5), amount=50)  # engaged after the quarter: not open then
    rollups_recompute(org=b.org, today=TODAY)
    return b


Q1 = "2017-Q1"

# (won revenue, won deals, lost deals, open pipeline deals) in 2017-Q1, worked out from the deals above.
EXPECTED = {
    "Acme/East/Boston": (100, 1, 1, 3),
    "Acme/East/NYC": (700, 2, 0, 0),
    "Acme/East": (800, 3, 1, 3),
    "Acme/West/Denver": (700, 2, 1, 2),
    "Acme/West": (700, 2, 1, 2),
    "Acme": (2100, 6, 2, 5),
}


def _traced(b, slug: str, scope, period: str = Q1, today: date = TODAY):
    return trace.deals_behind(b.org, b.kpi(slug), scope, b.org.parse_period(period), today=today)


def _amount(deals) -> float:
    return float(deals.aggregate(total=Sum("amount"))["total"] or Decimal(0))


@pytest.mark.parametrize("path", list(EXPECTED))
def test_traced_deals_add_up_to_the_stored_figures(acme, path):
    b = acme
    scope = b.territory(path)
    revenue, won, lost, open_count = EXPECTED[path]
    stored = Stored(b.org, TODAY)
    assert stored.value("won_revenue", path, Q1) == revenue
    assert _amount(_traced(b, "won_revenue", scope)) == revenue
    assert _traced(b, "won_deals", scope).count() == won == stored.value("won_deals", path, Q1)
    assert _traced(b, "lost_deals", scope).count() == lost == stored.value("lost_deals", path, Q1)
    traced_open = _traced(b, "open_pipeline_count", scope).count()
    assert traced_open == open_count == stored.value("open_pipeline_count", path, Q1)


def test_a_reps_deals_follow_the_rep_wherever_the_rep_sat(acme):
    b = acme
    stored = Stored(b.org, TODAY)
    assert _amount(_traced(b, "won_revenue", b.bob)) == 500 == stored.value("won_revenue", b.bob, Q1)
    assert _traced(b, "lost_deals", b.bob).count() == 1
    assert (
        _traced(b, "open_pipeline_count", b.bob).count()
        == 1
        == stored.value("open_pipeline_count", b.bob, Q1)
    )


def test_the_root_holds_the_deal_without_rep_or_territory_and_the_region_does_not(acme):
    b = acme
    orphan = "D8"
    assert _traced(b, "won_deals", b.territory("Acme")).filter(external_id=orphan).exists()
    assert not _traced(b, "won_deals", b.territory("Acme/East")).filter(external_id=orphan).exists()
    assert not _traced(b, "won_deals", b.territory("Acme/West")).filter(external_id=orphan).exists()


def test_the_live_periods_open_pipeline_is_taken_today(acme):
    """In the live quarter the snapshot is today: deals engaged after today are not open yet, and a
    rep's open deals sit where the rep is today (Bob: still NYC on 01-20)."""
    b = acme
    today = d(1, 20)
    rollups_recompute(org=b.org, today=today)
    stored = Stored(b.org, today)
    # Engaged by 01-20 and not won or lost by 03-31: Ann's 01-10 and 01-09 (won 04-02), Bob's 01-05.
    for path, expected in (("Acme/East/Boston", 2), ("Acme/East/NYC", 1), ("Acme/West", 0), ("Acme", 3)):
        traced = _traced(b, "open_pipeline_count", b.territory(path), today=today).count()
        assert traced == expected == stored.value("open_pipeline_count", path, Q1)


def test_win_rate_rows_are_the_won_and_lost_deals_of_the_period(acme):
    b = acme
    deals = _traced(b, "win_rate", b.territory("Acme/West"))
    assert sorted(deals.values_list("stage", flat=True)) == ["lost", "won", "won"]
    assert Stored(b.org, TODAY).value("win_rate", "Acme/West", Q1) == pytest.approx(2 / 3)


def test_certifications_earned_are_credited_where_the_rep_sat_that_day(acme):
    b = acme
    cloud = CertificationType.objects.create(org=b.org, name="Cloud", category="product")
    Certification.objects.create(org=b.org, rep=b.bob, type=cloud, earned=d(2, 1))  # NYC then
    Certification.objects.create(org=b.org, rep=b.bob, type=cloud, earned=d(3, 1))  # Denver then
    Certification.objects.create(org=b.org, rep=b.ann, type=cloud, earned=d(5, 1))  # Q2
    rollups_recompute(org=b.org, today=TODAY)
    kpi = b.kpi("certifications_earned")
    period = b.org.parse_period(Q1)
    stored = Stored(b.org, TODAY)
    for path, expected in (("Acme/East", 1), ("Acme/West/Denver", 1), ("Acme", 2)):
        traced = trace.certifications_behind(b.org, kpi, b.territory(path), period, today=TODAY)
        assert traced.count() == expected == stored.value(kpi, path, Q1)


def test_deals_are_listed_newest_first_by_the_day_they_count_on(acme):
    b = acme
    acme_root = b.territory("Acme")
    won = _traced(b, "won_deals", acme_root).order_by(*trace.deal_order(b.kpi("won_deals")))
    assert [deal.close_date for deal in won] == sorted((deal.close_date for deal in won), reverse=True)
    kpi = b.kpi("open_pipeline_count")
    open_deals = _traced(b, "open_pipeline_count", acme_root).order_by(*trace.deal_order(kpi))
    assert [deal.engage_date for deal in open_deals] == [d(2, 2), d(2, 1), d(1, 10), d(1, 9), d(1, 5)]


def test_a_kpi_over_reps_or_a_formula_has_no_deal_rows(acme):
    b = acme
    assert trace.rows_kind(b.kpi("rep_turnover")) == ""
    assert not _traced(b, "rep_turnover", b.territory("Acme")).exists()
    assert trace.rows_kind(b.kpi("won_revenue")) == "deals"
    assert trace.rows_kind(b.kpi("certifications_earned")) == "certifications"


def test_open_pipeline_value_counts_a_deal_without_amount_at_its_products_list_price(build):
    b = build()
    ann = b.rep("Ann", ("Acme/East/Boston", START, None))
    dan = b.rep("Dan", ("Acme/West/Denver", START, None))
    gadget, gizmo = b.product("Gadget", "Hardware", price=70), b.product("Gizmo", "Software", price=5)
    b.deal(ann, "engaging", engage=d(1, 10), amount=100)
    b.deal(ann, "engaging", engage=d(1, 11), products=[gadget, gizmo])  # no amount: 75
    b.deal(dan, "proposal", engage=d(2, 1), products=[gadget])  # no amount: 70
    b.deal(dan, "won", engage=d(2, 1), close=d(3, 1), amount=1000)  # closed: not pipeline
    rollups_recompute(org=b.org, today=TODAY)
    stored = Stored(b.org, TODAY)
    for path, expected in (("Acme/East/Boston", 175), ("Acme/West", 70), ("Acme", 245)):
        deals = trace.with_value(_traced(b, "open_pipeline_value", b.territory(path)))
        assert float(deals.aggregate(total=Sum("value"))["total"]) == expected
        assert stored.value("open_pipeline_value", path, Q1) == expected


# --- Generated organisations: the traced rows equal the stored figures at every territory and rep ---

_orgs = itertools.count()
YEAR = date(2017, 1, 1)
LEAVES = ["Acme/East/Boston", "Acme/East/NYC", "Acme/West/Denver", "Acme/West"]
HOUSE = [None, "Acme/East/Boston", "Acme/East", "Acme/West/Denver", "Acme"]
# (first territory, its first and last day, gap before the second, second territory or none)
assignment_strategy = st.tuples(
    st.integers(0, 3), st.integers(-60, 200), st.integers(0, 200), st.integers(1, 90), st.integers(0, 4)
)
generated_deal = st.tuples(
    st.integers(0, 4),  # rep index (4: no rep)
    st.sampled_from(["won", "lost", "engaging"]),
    st.integers(0, 364),  # engage (else created) day of 2017
    st.booleans(),  # engaged (else only created)
    st.integers(0, 150),  # days to close
    st.sampled_from([None, 10, 250, 4000]),  # amount (none: its products' list prices)
    st.integers(0, 4),  # its own territory (house deals)
    st.sampled_from(["none", "success", "failure"]),
)


def _generated(build, reps, deals):
    b = build(slug=f"tr{next(_orgs)}")
    for path in LEAVES:
        b.territory(path)
    gadget = b.product("Gadget", "Hardware", price=70)
    people = []
    for i, (first, start, length, gap, second) in enumerate(reps):
        begin = YEAR + timedelta(days=start)
        end = begin + timedelta(days=length)
        moves = [(LEAVES[first], begin, end)]
        if second < len(LEAVES):  # else the rep leaves for good after the first stretch
            moves.append((LEAVES[second], end + timedelta(days=gap), None))
        people.append(b.rep(f"Rep {i}", *moves))
    for rep_i, stage, day, engaged, cycle, amount, house, poc in deals:
        opened = YEAR + timedelta(days=day)
        closed = opened + timedelta(days=cycle) if stage != "engaging" else None
        own = HOUSE[house]
        b.deal(
            people[rep_i] if rep_i < len(people) else None,
            stage,
            engage=opened if engaged else None,
            created_date=opened,
            close=closed,
            amount=amount,
            products=[gadget] if amount is None else [],
            territory=b.territory(own) if own else None,
            poc=poc,
        )
    return b


COUNTED = ["won_deals", "lost_deals", "open_pipeline_count", "new_opportunities", "poc_success_not_won"]


@pytest.mark.django_db
@settings(
    max_examples=examples(20), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    reps=st.lists(assignment_strategy, min_size=1, max_size=4),
    deals=st.lists(generated_deal, min_size=1, max_size=25),
    period=st.sampled_from(["2017-Q1", "2017-Q2", "2017-Q3", "2017-Q4", "2017", "2018-Q1"]),
    today=st.sampled_from([TODAY, date(2017, 8, 20)]),
)
def test_traced_rows_equal_the_stored_figures_with_moves_gaps_and_house_deals(
    build, reps, deals, period, today
):
    assume(periods.parse(period).start <= today)  # a period not started yet has no figures
    b = _generated(build, reps, deals)
    stored = Stored(b.org, today)
    scopes = list(Territory.objects.filter(org=b.org)) + list(Rep.objects.filter(org=b.org))
    for scope in scopes:
        if not stored.has_row(scope, period):
            continue  # outside the data's date range: nothing stored (and not the rows' business)
        for slug in COUNTED:
            traced = _traced(b, slug, scope, period, today)
            assert traced.count() == (stored.value(slug, scope, period) or 0), (slug, str(scope))
        assert _amount(_traced(b, "won_revenue", scope, period, today)) == pytest.approx(
            stored.value("won_revenue", scope, period) or 0
        )
        n, total = trace.totals(_traced(b, "open_pipeline_value", scope, period, today))
        assert n == (stored.value("open_pipeline_count", scope, period) or 0)
        assert float(total) == pytest.approx(stored.value("open_pipeline_value", scope, period) or 0)
