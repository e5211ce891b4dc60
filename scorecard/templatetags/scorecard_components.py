"""The shared page components (templates/components/): period picker, scope picker, status badge,
score bar. Each is an inclusion tag so that a page passes data, never markup.

    {% load scorecard_components %}
    {% period_picker org selected_key target="#scorecard" %}
    {% scope_picker forest selected url=page_url target="#territories" readonly=is_rep %}
    {% status_badge rollup.status %}
    {% score_bar rollup.score rollup.status %}
"""

from __future__ import annotations

import calendar
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django import template
from django.utils import timezone

from scorecard import periods
from scorecard.models import Organization

register = template.Library()

# The status bands of DESIGN §4 (kpis.scoring holds the same numbers; a test keeps them equal):
# red < 10/3 ≤ yellow < 20/3 ≤ green, gray when there is no score.
RED_BELOW = 10 / 3
GREEN_FROM = 20 / 3
STATUS_WORDS = {"green": "On track", "yellow": "At risk", "red": "Off track", "gray": "No data"}


def status_of(score: float | None) -> str:
    if score is None:
        return "gray"
    if score < RED_BELOW:
        return "red"
    return "yellow" if score < GREEN_FROM else "green"


@register.filter
def status_word(status: str | None) -> str:
    """The word of a status (green: "On track", …), for places that show it without a badge."""
    return STATUS_WORDS.get(status or "gray", STATUS_WORDS["gray"])


@register.inclusion_tag("components/status_badge.html")
def status_badge(status: str | None, label: str = "") -> dict[str, Any]:
    """A status as colour and word: ``label`` replaces the default word (e.g. "No target" for gray)."""
    key = status if status in STATUS_WORDS else "gray"
    return {"status": key, "label": label or STATUS_WORDS[key]}


BANDS = (f"{RED_BELOW * 10:.2f}", f"{GREEN_FROM * 10:.2f}")  # where the bands meet, in % of the bar


@register.inclusion_tag("components/score_bar.html")
def score_bar(score: Any, status: str = "") -> dict[str, Any]:
    """A 0–10 score as a bar with the red/yellow/green bands marked; no score is a gray, empty bar. Its
    texts are made here (a page shows a hundred bars: no filters in the template)."""
    value = None if score is None or score == "" else min(max(float(score), 0.0), 10.0)
    key = status if status in STATUS_WORDS else status_of(value)
    return {
        "score": value,
        "text": one_decimal(value) if value is not None else "—",
        "status": key,
        "word": STATUS_WORDS[key].lower(),
        "percent": f"{value * 10:.1f}" if value is not None else "0",
        "bands": BANDS,
    }


def one_decimal(value: float) -> str:
    """The value with one decimal, halves rounded up (as the ``floatformat:1`` filter writes it)."""
    return str(Decimal(repr(value + 0.0)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))  # -0.0 → 0.0


def _label(period: periods.Period) -> str:
    if period.kind == periods.MONTH:
        return f"{calendar.month_abbr[period.start.month]} {period.start.year}"
    return period.key


def period_choices(
    org: Organization, today: date, years: int = 3, ahead: int = 0
) -> list[tuple[str, list[periods.Period]]]:
    """Years, quarters and months of the organisation's last ``years`` fiscal years that have started
    by ``today``, newest first; with ``ahead``, also every period of that many fiscal years to come
    (targets are set before a period starts)."""
    fsm = org.fiscal_year_start_month
    last = periods.fiscal_year_of(today, fsm)
    fiscal_years = [periods.year(fy, fsm) for fy in range(last + ahead, last - years, -1)]
    first_day = fiscal_years[-1].start
    last_day = fiscal_years[0].end if ahead else today
    quarters = periods.periods_between(first_day, last_day, periods.QUARTER, fsm)
    months = periods.periods_between(first_day, last_day, periods.MONTH, fsm)
    return [("Years", fiscal_years), ("Quarters", quarters[::-1]), ("Months", months[::-1])]


@register.inclusion_tag("components/period_picker.html", takes_context=True)
def period_picker(
    context: template.Context,
    org: Organization,
    selected: str = "",
    target: str = "",
    param: str = "period",
    years: int = 3,
    ahead: int = 0,
) -> dict[str, Any]:
    """A GET form choosing a period; with ``target``, htmx swaps that element on change and pushes the
    URL. The page's other query parameters (the territory, …) are kept as hidden fields."""
    today = timezone.localdate()
    request = context.get("request")
    hidden = []
    if request is not None:
        hidden = [(k, v) for k, values in request.GET.lists() if k != param for v in values]
    groups = [
        (name, [{"key": p.key, "label": _label(p)} for p in group])
        for name, group in period_choices(org, today, years, ahead)
    ]
    if not selected:
        selected = periods.period_containing(today, periods.QUARTER, org.fiscal_year_start_month).key
    if all(option["key"] != selected for _name, options in groups for option in options):
        # An older (or future) period reached by its URL: list it, or the select would show another.
        groups.insert(0, ("Selected", [{"key": selected, "label": selected}]))
    return {
        "groups": groups,
        "selected": selected,
        "param": param,
        "target": target,
        "hidden": hidden,
        "action": request.path if request is not None else "",
    }


@register.inclusion_tag("components/scope_picker.html")
def scope_picker(
    forest: list[Any],
    selected: Any = None,
    url: str = "",
    param: str = "territory",
    target: str = "",
    readonly: bool = False,
) -> dict[str, Any]:
    """The territory tree a membership may see (``territories.selectors.territory_context``'s
    ``forest``) as links selecting a scope; ``readonly`` shows names only (a rep's own territories)."""
    return {
        "forest": forest,
        "selected": selected,
        "url": url,
        "param": param,
        "target": target,
        "readonly": readonly,
    }
