"""templates/components/: each shared component renders on its own (template tests)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.template import Context, Template
from django.template.defaultfilters import floatformat
from django.test import RequestFactory
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from kpis import scoring
from scorecard.access import visible_territories
from scorecard.models import Membership, Organization
from scorecard.templatetags.scorecard_components import (
    GREEN_FROM,
    RED_BELOW,
    one_decimal,
    period_choices,
)
from territories.selectors import territory_forest

pytest_plugins = ["tests.conftest_personas"]


def render(source: str, **context) -> str:
    return Template("{% load scorecard_components %}" + source).render(Context(context))


# --- status badge ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "word"),
    [("green", "On track"), ("yellow", "At risk"), ("red", "Off track"), ("gray", "No data")],
)
def test_status_badge_shows_colour_and_word(status, word):
    html = render("{% status_badge status %}", status=status)
    assert f"status-badge--{status}" in html
    assert word in html


def test_status_badge_takes_a_word_and_treats_unknown_status_as_gray():
    assert "No target" in render('{% status_badge "gray" "No target" %}')
    html = render("{% status_badge status %}", status=None)
    assert "status-badge--gray" in html and "No data" in html
    assert "status-badge--gray" in render('{% status_badge "purple" %}')


# --- score bar -------------------------------------------------------------------------------------


def test_score_bar_bands_are_the_scoring_bands():
    assert (RED_BELOW, GREEN_FROM) == (scoring.RED_BELOW, scoring.GREEN_FROM)


@pytest.mark.parametrize(
    ("score", "status", "width"),
    [
        (0, "red", "0.0"),
        (3.3, "red", "33.0"),
        (10 / 3, "yellow", "33.3"),
        (6.67, "green", "66.7"),
        (10, "green", "100.0"),
    ],
)
def test_score_bar_fills_to_the_score_and_colours_by_band(score, status, width):
    html = render("{% score_bar score %}", score=score)
    assert f"score-bar--{status}" in html
    assert f'<rect class="score-bar__fill" width="{width}"' in html
    assert f'aria-valuenow="{score:.1f}"' in html
    assert re.findall(r'x1="([\d.]+)"', html) == ["33.33", "66.67"]
    assert "style=" not in html  # the Content-Security-Policy refuses style attributes


def test_score_bar_without_score_is_gray_and_says_so():
    html = render("{% score_bar score %}", score=None)
    assert "score-bar--gray" in html
    assert 'aria-label="No score"' in html
    assert "aria-valuenow" not in html
    assert 'role="meter"' not in html  # a meter needs a value (axe: aria-required-attr)
    assert "—" in html


def test_score_bar_clamps_and_takes_a_stored_status():
    html = render('{% score_bar 12 "yellow" %}')
    assert 'width="100.0"' in html and "score-bar--yellow" in html


@given(st.floats(min_value=1e-9, max_value=10) | st.sampled_from([0.0, -0.0, 0.05, 0.25, 2.45, 9.95]))
def test_the_score_is_written_as_the_floatformat_filter_writes_it(score):
    """The bar's texts are made in Python (no filters per bar): one decimal, halves up, as before. (Below
    1e-9 the filter gives up and writes the float as it is, e.g. "1.8e-212"; the bar writes 0.0.)"""
    assert one_decimal(score) == floatformat(score, 1)


# --- period picker ---------------------------------------------------------------------------------


def test_period_choices_are_started_periods_newest_first():
    org = Organization(name="X", slug="x", fiscal_year_start_month=1)
    groups = dict(period_choices(org, dt.date(2024, 5, 10), years=2))
    assert [p.key for p in groups["Years"]] == ["2024", "2023"]
    assert [p.key for p in groups["Quarters"]] == [
        "2024-Q2",
        "2024-Q1",
        "2023-Q4",
        "2023-Q3",
        "2023-Q2",
        "2023-Q1",
    ]
    assert [p.key for p in groups["Months"]][:3] == ["2024-05", "2024-04", "2024-03"]
    assert len(groups["Months"]) == 17


def test_period_choices_ahead_add_the_periods_of_the_years_to_come():
    """Targets are set before a period starts: the targets grid offers the next fiscal year too."""
    org = Organization(name="X", slug="x", fiscal_year_start_month=7)
    groups = dict(period_choices(org, dt.date(2024, 8, 1), years=1, ahead=1))
    assert [p.key for p in groups["Years"]] == ["FY2026", "FY2025"]
    assert [p.key for p in groups["Quarters"]][:2] == ["FY2026-Q4", "FY2026-Q3"]
    assert len(groups["Quarters"]) == 8 and len(groups["Months"]) == 24
    assert groups["Months"][0].key == "2026-06"


def test_period_choices_follow_a_fiscal_year():
    org = Organization(name="X", slug="x", fiscal_year_start_month=7)
    groups = dict(period_choices(org, dt.date(2024, 8, 1), years=1))
    assert [p.key for p in groups["Years"]] == ["FY2025"]
    assert [p.key for p in groups["Quarters"]] == ["FY2025-Q1"]
    assert [p.key for p in groups["Months"]] == ["2024-08", "2024-07"]


def test_period_picker_renders_a_get_form_keeping_the_other_parameters(db):
    org = Organization.objects.create(name="X", slug="x")
    request = RequestFactory().get("/somewhere/", {"territory": "7", "period": "2020"})
    html = render('{% period_picker org "2020" target="#grid" %}', org=org, request=request)
    assert '<form class="picker period-picker" method="get" action="/somewhere/"' in html
    assert 'hx-get="/somewhere/"' in html and 'hx-target="#grid"' in html and 'hx-push-url="true"' in html
    assert '<input type="hidden" name="territory" value="7">' in html
    assert 'name="period"' in html and 'type="hidden" name="period"' not in html
    assert '<label class="picker__label" for="period-picker-period">Period</label>' in html
    assert '<button type="submit"' in html  # works without JavaScript


def test_period_picker_preselects_the_current_quarter(db):
    org = Organization.objects.create(name="X", slug="x")
    today = timezone.localdate()
    html = render("{% period_picker org %}", org=org, request=RequestFactory().get("/"))
    assert f'value="{today.year}-Q{(today.month - 1) // 3 + 1}" selected' in html
    assert "hx-get" not in html


def test_period_picker_lists_a_selected_period_older_than_its_choices(db):
    org = Organization.objects.create(name="X", slug="x")
    html = render('{% period_picker org "2015-Q2" %}', org=org, request=RequestFactory().get("/"))
    assert '<option value="2015-Q2" selected>2015-Q2</option>' in html
    assert html.count(" selected>") == 1
    current = render("{% period_picker org %}", org=org, request=RequestFactory().get("/"))
    assert 'label="Selected"' not in current


# --- scope picker ----------------------------------------------------------------------------------


def _forest(world, persona: str):
    m = Membership.objects.get(user=world.users[persona])
    return territory_forest(list(visible_territories(m).order_by("path")), {})


def test_scope_picker_shows_only_the_visible_subtree_as_links(world):
    forest = _forest(world, "manager")
    html = render(
        '{% scope_picker forest selected url="/x/" target="#t" %}',
        forest=forest,
        selected=world.territories["stockholm"],
    )
    nordics, stockholm = world.territories["nordics"].pk, world.territories["stockholm"].pk
    assert f'href="/x/?territory={nordics}"' in html
    assert f'hx-get="/x/?territory={stockholm}" hx-target="#t"' in html
    assert "Iberia" not in html and "Madrid" not in html
    assert html.count('aria-current="true"') == 1
    assert '<span class="tree__context">Acme/</span>' in html


def test_scope_picker_read_only_shows_names_without_links(world):
    html = render("{% scope_picker forest readonly=True %}", forest=_forest(world, "rep"))
    assert "Stockholm" in html
    assert "<a " not in html
