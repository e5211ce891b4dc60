"""Score rollups (DESIGN §4): objective = weighted mean of its KPIs' scores, perspective = of its
objectives', scorecard = of its perspectives'; gray skipped, weight 0 shown and not scored, coverage
Σ weight × child coverage ÷ Σ weight. Checked against a computation written independently here."""

from __future__ import annotations

import json
from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpis import scoring
from kpis.models import KPI
from kpis.selectors import SCORE_FIELDS, report_kpis, report_rows
from kpis.services import rollups_recompute, target_set
from perspectives.models import Objective, Perspective

scores = st.one_of(st.none(), st.floats(0, 10))
weights = st.sampled_from([0, 0, 0.5, 1, 2, 3, 7])


def expected_level(children: list[tuple[float | None, float | None, float]]) -> tuple:
    """(score, coverage) of a level, straight from DESIGN §4."""
    weighed = [(s, c, w) for s, c, w in children if w > 0]
    if not weighed:
        return None, None
    scored = [(s, w) for s, _c, w in weighed if s is not None]
    total = sum(w for _s, _c, w in weighed)
    coverage = sum(w * (c or 0) for _s, c, w in weighed) / total
    if not scored:
        return None, coverage
    return sum(s * w for s, w in scored) / sum(w for _s, w in scored), coverage


@given(st.lists(st.tuples(scores, st.one_of(st.none(), st.floats(0, 1)), weights), max_size=8))
def test_roll_up_equals_the_definition(children):
    rolled = scoring.roll_up(children)
    score, coverage = expected_level(children)
    assert rolled.score == pytest.approx(score)
    assert rolled.coverage == pytest.approx(coverage)
    assert rolled.status == scoring.status(score)


def _report(org, scope_args: dict) -> list[dict]:
    out = StringIO()
    call_command("score_report", org=org.slug, period="2017-Q2", stdout=out, **scope_args)
    return json.loads(out.getvalue())


@pytest.fixture
def small_org(build):
    b = build()
    b.ann = b.rep("Ann", ("Acme/East/Boston", date(2016, 1, 1), None))
    b.bob = b.rep("Bob", ("Acme/West/Denver", date(2016, 1, 1), None))
    for i, (rep, stage) in enumerate([(b.ann, "won"), (b.ann, "lost"), (b.bob, "won"), (b.bob, "won")]):
        b.deal(rep, stage, engage=date(2017, 3, 1 + i), close=date(2017, 5, 1 + i), amount=100 * (i + 1))
    return b


@pytest.mark.django_db
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_score_report_equals_an_independent_rollup_of_kpi_report(small_org, data):
    b = small_org
    org = b.org
    for model in (KPI, Objective, Perspective):
        for pk in model.objects.filter(org=org).values_list("pk", flat=True):
            model.objects.filter(pk=pk).update(weight=data.draw(weights))
    for slug in data.draw(st.lists(st.sampled_from(["won_revenue", "won_deals", "lost_deals"]), unique=True)):
        goal = data.draw(st.sampled_from([1, 2, 300, 1000]))
        target_set(kpi=b.kpi(slug), period="2017-Q2", goal=goal, territory=org.root_territory())
    rollups_recompute(org=org, today=date(2030, 1, 1))
    root = org.root_territory()
    kpi_rows = report_rows(org, "2017-Q2", [root], report_kpis(org))
    # Independently: KPI → objective → perspective → scorecard, from kpi_report's scores and the weights.
    kpi_weight = {k.slug: float(k.weight) for k in KPI.objects.filter(org=org)}
    objectives = list(Objective.objects.filter(org=org).select_related("perspective"))
    by_objective: dict[str, list] = {o.name: [] for o in objectives}
    for row in kpi_rows:
        s = row["score"]
        by_objective[row["objective"]].append((s, 0.0 if s is None else 1.0, kpi_weight[row["kpi"]]))
    objective_level = {o.name: expected_level(by_objective[o.name]) for o in objectives}
    perspective_level = {}
    for p in Perspective.objects.filter(org=org):
        children = [
            (*objective_level[o.name], float(o.weight)) for o in objectives if o.perspective_id == p.pk
        ]
        perspective_level[p.name] = (expected_level(children), float(p.weight))
    overall = expected_level([(s, c, w) for (s, c), w in perspective_level.values()])

    got = _report(org, {})
    assert all(list(row) == SCORE_FIELDS for row in got)
    assert {(r["territory"], r["rep"], r["period"]) for r in got} == {("Acme", None, "2017-Q2")}
    for row in got:
        if row["level"] == "objective":
            want = objective_level[row["objective"]]
        elif row["level"] == "perspective":
            want = perspective_level[row["perspective"]][0]
        else:
            want = overall
            assert row["weight"] == 1
        assert row["score"] == pytest.approx(want[0])
        assert row["coverage"] == pytest.approx(want[1])
        assert row["status"] == scoring.status(want[0])
    assert [r["level"] for r in got].count("scorecard") == 1
    assert [r["level"] for r in got].count("objective") == len(objectives)


@pytest.mark.django_db
def test_score_report_of_a_rep_and_a_territory(small_org):
    b = small_org
    target_set(kpi=b.kpi("won_deals"), period="2017-Q2", goal=1, rep=b.ann)
    rollups_recompute(org=b.org, today=date(2030, 1, 1))
    ann = {r["objective"]: r for r in _report(b.org, {"rep": "Ann"}) if r["level"] == "objective"}
    assert ann["Grow revenue to quota"]["rep"] == "Ann"
    # Ann won 1 deal against a goal of 1 (red flag 0.9): score 6.67; the objective's other KPIs are gray.
    won_deals = next(r for r in report_rows(b.org, "2017-Q2", [b.ann], [b.kpi("won_deals")]))
    assert won_deals["score"] == pytest.approx(20 / 3)
    west = _report(b.org, {"territory": "Acme/West"})
    assert {r["territory"] for r in west} == {"Acme/West"}


@pytest.mark.django_db
def test_kpi_report_carries_each_kpis_weight_within_its_objective(small_org):
    b = small_org
    KPI.objects.filter(org=b.org, slug="win_rate").update(weight=3)
    out = StringIO()
    call_command("kpi_report", org=b.org.slug, period="2017-Q2", territory="Acme", kpi="win_rate", stdout=out)
    (row,) = json.loads(out.getvalue())
    assert row["weight"] == 3
    assert list(row)[-1] == "weight"
