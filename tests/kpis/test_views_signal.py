"""Signal or noise on the pages, worked by hand: the label beside each change on the scorecard and the
XmR chart on the KPI detail page, from a stored series built deal by deal.

Sergio Sanz (Acme/Iberia/Madrid, tests/conftest_personas.py) won 2,000 on 2024-03-01. Each case gives
him one more won deal in the middle of each quarter up to 2024-Q1, so Madrid's won revenue per quarter
is the case's series; rollups are stored from the first deal's month to the last's, so no quarter of
the window outside the series holds a figure. Limits are X̄ ± 2.66 × mR̄, worked out in each case.
"""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from kpis.services import rollups_recompute
from kpis.views.scorecard import signal_or_noise
from scorecard import periods
from tests.factories import OpportunityFactory

pytest_plugins = ["tests.conftest_personas"]

Q1 = "2024-Q1"
PERSONAS_DEAL = 2000  # Sergio's won deal of 2024-03-01


def _quarters(world, thousands: list[float]) -> None:
    """Madrid's won revenue per quarter, oldest first, ending with 2024-Q1 (in thousands)."""
    sergio = world.reps["sergio"]
    for i, (quarter, value) in enumerate(
        zip(periods.ending_with(periods.parse(Q1), len(thousands)), thousands, strict=True)
    ):
        amount = value * 1000 - (PERSONAS_DEAL if quarter.key == Q1 else 0)
        if amount:
            OpportunityFactory.create(
                rep=sergio,
                external_id=f"SIGNAL-{i}",
                amount=Decimal(str(amount)),
                stage="won",
                close_date=quarter.start + timedelta(days=40),
            )
    rollups_recompute(org=world.org, today=date(2024, 6, 30))


def _signal_label(client, world, period: str = Q1) -> str:
    query = {"period": period, "territory": world.territories["madrid"].pk}
    html = client.get("/", query).content.decode()
    row = html[html.index('data-kpi="won_revenue"') :]
    row = row[: row.index("</tr>")]
    found = re.search(r'data-testid="signal-won_revenue">([^<]*)<', row)
    assert found, "no signal label beside won revenue's change"
    return found.group(1)


def _detail(client, world, period: str = Q1) -> tuple[str, dict | None]:
    url = reverse("kpi_detail", args=["won_revenue"])
    html = client.get(url, {"period": period, "territory": world.territories["madrid"].pk}).content.decode()
    found = re.search(r'id="xmr-chart-data"[^>]*>(.*?)</script>', html, re.S)
    return html, json.loads(found.group(1)) if found else None


def _traces(figure: dict) -> dict[str, dict]:
    return {trace["name"]: trace for trace in figure["data"]}


def _flags(figure: dict) -> dict[str, str]:
    """The ringed points of the chart: period → the rule named in its hover text."""
    signal = _traces(figure).get("Signal")
    if signal is None:
        return {}
    return {
        x: text for x, y, text in zip(signal["x"], signal["y"], signal["text"], strict=True) if y is not None
    }


def _reading(html: str) -> str:
    found = re.search(r'data-testid="xmr-reading">([^<]*)<', html)
    assert found
    return found.group(1)


def test_a_value_beyond_the_upper_limit_is_a_signal(world, login):
    _quarters(world, [10, 12, 11, 13, 12, 10, 11, 12, 13, 11, 12, 11, 30])  # 2021-Q1 .. 2024-Q1
    # X̄ = 168 / 13 = 12.923; moving ranges 2,1,2,1,2,1,1,1,2,1,1,19 → mR̄ = 34 / 12 = 2.8333;
    # 2.66 × 2.8333 = 7.5367: limits 5.3864 .. 20.4597 (thousands). 30 is above the upper limit; no run
    # of 8 on one side of 12.923 before it (at most 4 in a row below).
    mean, spread = 168_000 / 13, 2.66 * 34_000 / 12
    client = login("admin")
    assert _signal_label(client, world) == "signal: above the upper limit"
    html, figure = _detail(client, world)
    assert figure is not None
    traces = _traces(figure)
    assert traces["Value"]["x"][0] == "2021-Q1" and traces["Value"]["x"][-1] == Q1
    assert traces["Value"]["y"][-1] == 30_000
    assert traces["Mean"]["y"][0] == pytest.approx(mean)
    assert traces["Upper limit"]["y"][0] == pytest.approx(mean + spread)
    assert traces["Lower limit"]["y"][0] == pytest.approx(mean - spread)
    assert _flags(figure) == {Q1: "signal: above the upper limit"}
    assert _reading(html) == "The last value is a signal: $30,000 is above the upper limit of $20,460."


def test_the_eighth_value_in_a_row_above_the_mean_is_a_signal(world, login):
    _quarters(world, [8, 11, 8, 11, 12, 13, 12, 13, 12, 13, 12, 13])  # 2021-Q2 .. 2024-Q1
    # X̄ = (38 + 100) / 12 = 11.5; moving ranges 3,3,3,1 then seven of 1 → mR̄ = 17 / 11 = 1.5455;
    # 2.66 × 1.5455 = 4.1109: limits 7.3891 .. 15.6109, every value within them. The last eight
    # (12, 13, ...) are all above 11.5: the eighth, 2024-Q1, is a signal; the four before them are below.
    mean, spread = 11_500, 2.66 * 17_000 / 11
    client = login("admin")
    assert _signal_label(client, world) == "signal: 8 in a row above the mean"
    html, figure = _detail(client, world)
    assert figure is not None
    traces = _traces(figure)
    assert traces["Mean"]["y"][0] == pytest.approx(mean)
    assert traces["Upper limit"]["y"][0] == pytest.approx(mean + spread)
    assert traces["Lower limit"]["y"][0] == pytest.approx(mean - spread)
    assert _flags(figure) == {Q1: "signal: 8 in a row above the mean"}
    assert (
        _reading(html) == "The last value is a signal: 8 or more values in a row above the mean of $11,500."
    )


def test_routine_variation_is_said_to_be_within_the_limits(world, login):
    _quarters(world, [10, 12, 11, 13, 12, 10, 11, 12, 13, 11, 12, 11])  # 2021-Q2 .. 2024-Q1
    # X̄ = 138 / 12 = 11.5; moving ranges 2,1,2,1,2,1,1,1,2,1,1 → mR̄ = 15 / 11 = 1.3636;
    # 2.66 × 1.3636 = 3.6273: limits 7.8727 .. 15.1273; 11 is within, and the sides of 11.5 alternate.
    mean, spread = 11_500, 2.66 * 15_000 / 11
    client = login("admin")
    assert _signal_label(client, world) == "routine variation"
    html, figure = _detail(client, world)
    assert figure is not None
    traces = _traces(figure)
    assert len(traces["Value"]["x"]) == 12  # from the first quarter with a value
    assert traces["Upper limit"]["y"][0] == pytest.approx(mean + spread)
    assert traces["Lower limit"]["y"][0] == pytest.approx(mean - spread)
    assert _flags(figure) == {}
    assert "Signal" not in traces
    assert _reading(html) == "The last value is routine variation: within $7,873–$15,127, no run of 8."


def test_too_little_history_says_so_and_each_period_kind_counts_its_own(world, login):
    _quarters(world, [3, 3, 3, 3, 2])  # 2023-Q1 .. 2024-Q1: five quarters
    client = login("admin")
    assert _signal_label(client, world) == "too little history: 5 of 12 periods"
    html, figure = _detail(client, world)
    assert figure is None
    assert _reading(html) == (
        "Too little history to tell a signal from routine variation: 5 periods with a value, "
        "natural process limits need 12."
    )
    # Years: 2023 and 2024 only.
    assert _signal_label(client, world, "2024") == "too little history: 2 of 12 periods"
    # Months: the deals closed on 2023-02-10, 05-11, 08-10 and 11-10, then 2024-03-01, so 2023-02 ..
    # 2024-03 are stored: 3,0,0,3,0,0,3,0,0,3,0,0,0,2 (thousands), 14 months.
    # X̄ = 14 / 14 = 1; moving ranges 3,0,3,3,0,3,3,0,3,3,0,0,2 → mR̄ = 23 / 13 = 1.7692;
    # 2.66 × 1.7692 = 4.7062: limits −3.7062 .. 5.7062, the lower one stopping at 0 (won revenue
    # cannot go below); 2 is within, no run of 8 (at most 3 below).
    assert _signal_label(client, world, "2024-03") == "routine variation"
    html, figure = _detail(client, world, "2024-03")
    assert figure is not None
    traces = _traces(figure)
    assert traces["Value"]["x"][0] == "2023-02" and len(traces["Value"]["x"]) == 14
    assert traces["Upper limit"]["y"][0] == pytest.approx(1000 + 2.66 * 23_000 / 13)
    assert traces["Lower limit"]["y"][0] == 0
    assert _reading(html) == "The last value is routine variation: within $0–$5,706, no run of 8."


def test_a_live_period_is_judged_on_its_projection_not_its_actual_so_far():
    values = [10_000, 12_000, 11_000, 13_000, 12_000, 10_000, 11_000, 12_000, 13_000, 11_000, 12_000, 3_000]
    row = {"actual": 3_000.0, "projected": 11_000.0}
    # As it stands, 3,000 is a signal: X̄ = 130 / 12 = 10.833, mR̄ = (14 + 9) / 11 = 2.0909,
    # lower limit 10.833 − 5.5618 = 5.2715 (thousands). Projected to 11,000 it is the routine case above.
    assert signal_or_noise(values, row, False, "currency", "USD").label == "signal: below the lower limit"
    live = signal_or_noise(values, row, True, "currency", "USD")
    assert live.label == "routine variation (projected)"
    assert live.sentence.startswith("The projection for the period is routine variation: within $7,873–")
    assert signal_or_noise(values, {"actual": None, "projected": None}, False, "currency", "USD") is None


def test_the_label_is_a_word_with_its_explanation_for_screen_readers_and_on_hover(world, login):
    _quarters(world, [10, 12, 11, 13, 12, 10, 11, 12, 13, 11, 12, 11, 30])
    html = (
        login("admin").get("/", {"period": Q1, "territory": world.territories["madrid"].pk}).content.decode()
    )
    cell = html[html.index('data-testid="signal-won_revenue"') - 300 :]
    cell = cell[: cell.index("</td>")]
    assert 'class="sc-signal sc-signal--signal"' in cell
    assert 'title="The last value is a signal: $30,000 is above the upper limit of $20,460. Natural' in cell
    assert '<span class="visually-hidden">: The last value is a signal: $30,000 is above' in cell
    assert "by an XmR chart of the last 24 quarters" in html


def test_a_kpi_without_an_actual_has_no_label(world, login):
    _quarters(world, [3, 3, 3, 3, 2])
    html = (
        login("admin").get("/", {"period": Q1, "territory": world.territories["madrid"].pk}).content.decode()
    )
    assert 'data-testid="actual-sales_cycle_days">—<' in html  # no deal has an engage date
    assert 'data-testid="signal-sales_cycle_days"' not in html
