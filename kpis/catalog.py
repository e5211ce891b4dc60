"""The built-in metric catalog (DESIGN §4): every metric once — its label, unit, the filters it accepts,
whether it adds up over territories, and how it derives from the tallied columns.

Pure Python (no Django, no numpy): a metric's ``derive`` receives a ``Columns`` view and combines the
columns it names with ``+ - *``, comparisons and the view's ``ratio`` / ``null_unless``. The stored
rollups (``kpis.rollup``) hand it arrays holding every scope and period at once.

Adding a metric is one entry below plus, if it needs one, one new tallied column in ``kpis.rollup``.

Columns (per scope and period; money in the organisation's currency, days as numbers):

- at close, over won / lost deals closed in the period: ``won``, ``lost``, ``won_amount``, ``lost_amount``,
  ``profit``, ``profit_revenue`` and ``profit_deals`` (won deals with a profit), ``cycle_days`` and
  ``cycle_deals`` (deals with an engage date), ``partner_won``, ``partner_lost``, ``partner_won_amount``,
  ``play_won``, ``play_lost``, ``deliverable_won``, ``deliverable_lost``, ``poc_success_won``,
  ``poc_success_lost``, ``cross_brand_deals``; per certification filter ``cert_won`` and ``cert_lost``
  (deals whose rep held a matching certification on the close date); ``first_wins`` (won deals that are
  their account's first won deal in the organisation's whole history: the earliest close date, the
  lowest id on a tie — so each account is counted once ever, in the period and scopes of that deal);
- when engaged (else created): ``new``, ``cohort_won`` (of those, won so far), ``play_new``;
  ``poc_success`` / ``poc_failure``: finished POCs, counted at close, or when engaged on a deal still open;
- at period end: ``open_count``, ``open_value`` (amount, else the products' list price),
  ``open_poc_success`` (successful POCs on deals still open);
- distinct counts: ``customers`` (accounts with a won deal), ``retained_customers`` (of the previous
  period's customers, active again), ``previous_customers``, ``cross_brand_accounts`` (customers whose
  won deals span two or more product lines);
- reps: ``active_reps`` (employed and assigned in scope at some day of the period), ``identifying_reps``
  (of those, who identified a new opportunity), ``leavers``, ``reps_at_start`` / ``reps_at_end`` /
  ``reps_at_snapshot`` (on the first day, the last day, the last day or today if earlier),
  ``reps_with_target`` / ``reps_at_target`` (active reps with a won-revenue target / meeting it); per
  filter ``certified_reps`` (reps at the snapshot holding a matching certification), ``programme_reps``
  (active reps in a matching programme during the period) and ``certs_earned``;
- targets: ``won_revenue_goal``, the goal of the ``won_revenue`` KPI as its row shows it (explicit, else
  the sum of the child territories' goals, else the KPI's default; null without one).

``new_customers`` counts accounts whose first won deal ever closes in the period, credited where that deal
is (its rep's territory subtree on the close date, and the rep): an account won again later is not new
again, and one first won in another territory is new there only. It adds up over territories.
``pipeline_coverage`` = open pipeline value at period end ÷ remaining quota (the won-revenue goal − won
revenue so far), null without a goal or once it is met.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

# Units (the values of kpis.models.Unit).
CURRENCY, COUNT, FRACTION, DAYS = "currency", "count", "fraction", "days"

# Filters a metric may accept (KPI.metric_filter keys).
CERTIFICATION_FILTERS = frozenset({"category", "type"})
PROGRAMME_FILTERS = frozenset({"kind", "program"})


class Columns(Protocol):
    """What a metric derives from: tallied columns over every scope and period."""

    def __getitem__(self, name: str) -> Any: ...

    def filtered(self, name: str) -> Any:
        """A column tallied per filter, for the filter of the KPI being derived."""
        ...

    def ratio(self, numerator: Any, denominator: Any) -> Any:
        """numerator ÷ denominator, null where the denominator is 0."""
        ...

    def null_unless(self, keep: Any, values: Any) -> Any:
        """values where keep holds, null elsewhere."""
        ...


@dataclass(frozen=True)
class Metric:
    slug: str
    label: str
    unit: str
    derive: Callable[[Columns], Any]
    additive: bool = False  # a territory's value is the sum of its children's: targets add up the tree
    filters: frozenset[str] = frozenset()


def _win_rate(won: str, lost: str) -> Callable[[Columns], Any]:
    return lambda c: c.ratio(c[won], c[won] + c[lost])


def _direct_win_rate(c: Columns) -> Any:
    direct_won, direct_lost = c["won"] - c["partner_won"], c["lost"] - c["partner_lost"]
    return c.ratio(direct_won, direct_won + direct_lost)


def _certified_win_rate_lift(c: Columns) -> Any:
    won, lost = c["won"], c["lost"]
    certified_won, certified_lost = c.filtered("cert_won"), c.filtered("cert_lost")
    certified = c.ratio(certified_won, certified_won + certified_lost)
    others = c.ratio(won - certified_won, won - certified_won + lost - certified_lost)
    return certified - others


def _pipeline_coverage(c: Columns) -> Any:
    """A ratio, not a share: 3.0 = three times the quota still to win is in the pipeline."""
    remaining = c["won_revenue_goal"] - c["won_amount"]  # null without a goal, so never > 0
    return c.null_unless(remaining > 0, c.ratio(c["open_value"], remaining))


def _column(name: str) -> Callable[[Columns], Any]:
    return lambda c: c[name]


METRICS: tuple[Metric, ...] = (
    # Financial
    Metric("won_revenue", "Won revenue", CURRENCY, _column("won_amount"), additive=True),
    Metric("won_deals", "Won deals", COUNT, _column("won"), additive=True),
    Metric("lost_deals", "Lost deals", COUNT, _column("lost"), additive=True),
    Metric("lost_value", "Lost value", CURRENCY, _column("lost_amount"), additive=True),
    Metric("avg_deal_size", "Average deal size", CURRENCY, lambda c: c.ratio(c["won_amount"], c["won"])),
    Metric(
        "gross_profit",
        "Gross profit",
        CURRENCY,
        # Unknown (null) when deals were won but none recorded a profit.
        lambda c: c.null_unless((c["profit_deals"] > 0) | (c["won"] == 0), c["profit"]),
        additive=True,
    ),
    Metric("profit_margin", "Profit margin", FRACTION, lambda c: c.ratio(c["profit"], c["profit_revenue"])),
    # Customer
    Metric("active_customers", "Active customers", COUNT, _column("customers"), additive=True),
    Metric("new_customers", "New customers", COUNT, _column("first_wins"), additive=True),
    Metric(
        "customer_retention",
        "Customer retention",
        FRACTION,
        lambda c: c.ratio(c["retained_customers"], c["previous_customers"]),
    ),
    Metric(
        "cross_brand_customers",
        "Cross-brand customers",
        FRACTION,
        lambda c: c.ratio(c["cross_brand_accounts"], c["customers"]),
    ),
    # Internal sales processes
    Metric("win_rate", "Win rate", FRACTION, _win_rate("won", "lost")),
    Metric("win_rate_by_value", "Win rate by value", FRACTION, _win_rate("won_amount", "lost_amount")),
    Metric("sales_cycle_days", "Sales cycle", DAYS, lambda c: c.ratio(c["cycle_days"], c["cycle_deals"])),
    Metric("open_pipeline_count", "Open pipeline (deals)", COUNT, _column("open_count"), additive=True),
    Metric("open_pipeline_value", "Open pipeline value", CURRENCY, _column("open_value"), additive=True),
    Metric("pipeline_coverage", "Pipeline coverage", FRACTION, _pipeline_coverage),
    Metric("new_opportunities", "New opportunities", COUNT, _column("new"), additive=True),
    Metric(
        "identification_participation",
        "Reps identifying opportunities",
        FRACTION,
        lambda c: c.ratio(c["identifying_reps"], c["active_reps"]),
    ),
    Metric("lead_conversion", "Lead conversion", FRACTION, lambda c: c.ratio(c["cohort_won"], c["new"])),
    Metric("cross_brand_deals", "Cross-brand deals", COUNT, _column("cross_brand_deals"), additive=True),
    Metric(
        "partner_revenue_share",
        "Partner-led revenue share",
        FRACTION,
        lambda c: c.ratio(c["partner_won_amount"], c["won_amount"]),
    ),
    Metric("partner_win_rate", "Partner win rate", FRACTION, _win_rate("partner_won", "partner_lost")),
    Metric("direct_win_rate", "Direct win rate", FRACTION, _direct_win_rate),
    Metric(
        "revenue_per_rep",
        "Won revenue per rep",
        CURRENCY,
        lambda c: c.ratio(c["won_amount"], c["active_reps"]),
    ),
    Metric("reps_at_target", "Reps at target", COUNT, _column("reps_at_target"), additive=True),
    Metric(
        "reps_at_target_pct",
        "Reps at target (share)",
        FRACTION,
        lambda c: c.ratio(c["reps_at_target"], c["reps_with_target"]),
    ),
    Metric(
        "rep_turnover",
        "Rep turnover",
        FRACTION,
        lambda c: c.ratio(c["leavers"], (c["reps_at_start"] + c["reps_at_end"]) / 2),
    ),
    Metric("strategic_play_deals", "Strategic play deals", COUNT, _column("play_new"), additive=True),
    Metric(
        "strategic_play_win_rate", "Strategic play win rate", FRACTION, _win_rate("play_won", "play_lost")
    ),
    Metric(
        "deliverables_in_wins",
        "Technical deliverables in wins",
        FRACTION,
        lambda c: c.ratio(c["deliverable_won"], c["won"]),
    ),
    Metric(
        "deliverables_in_losses",
        "Technical deliverables in losses",
        FRACTION,
        lambda c: c.ratio(c["deliverable_lost"], c["lost"]),
    ),
    Metric("poc_success_rate", "POC success rate", FRACTION, _win_rate("poc_success", "poc_failure")),
    Metric("poc_win_rate", "POC win rate", FRACTION, _win_rate("poc_success_won", "poc_success_lost")),
    Metric(
        "poc_success_not_won",
        "Successful POCs not won",
        COUNT,
        lambda c: c["poc_success_lost"] + c["open_poc_success"],
        additive=True,
    ),
    # Learning & growth
    Metric(
        "certified_reps_pct",
        "Certified reps",
        FRACTION,
        lambda c: c.ratio(c.filtered("certified_reps"), c["reps_at_snapshot"]),
        filters=CERTIFICATION_FILTERS,
    ),
    Metric(
        "certifications_earned",
        "Certifications earned",
        COUNT,
        lambda c: c.filtered("certs_earned"),
        additive=True,
        filters=CERTIFICATION_FILTERS,
    ),
    Metric(
        "certified_win_rate_lift",
        "Win-rate lift of certified reps",
        FRACTION,
        _certified_win_rate_lift,
        filters=CERTIFICATION_FILTERS,
    ),
    Metric(
        "program_participation_pct",
        "Programme participation",
        FRACTION,
        lambda c: c.ratio(c.filtered("programme_reps"), c["active_reps"]),
        filters=PROGRAMME_FILTERS,
    ),
)

CATALOG: Mapping[str, Metric] = {m.slug: m for m in METRICS}


class CatalogError(ValueError):
    """A metric or filter the catalog does not know."""


def get(slug: str) -> Metric:
    try:
        return CATALOG[slug]
    except KeyError:
        raise CatalogError(f"Unknown metric {slug!r}.") from None


def is_additive(slug: str) -> bool:
    metric = CATALOG.get(slug)
    return metric is not None and metric.additive


def filter_key(metric_filter: Mapping[str, object] | None) -> str:
    """A metric filter as a stable text key: ``category=product;type=3`` ('' for none)."""
    if not metric_filter:
        return ""
    return ";".join(f"{k}={v}" for k, v in sorted(metric_filter.items()))


def parse_filter_key(key: str) -> dict[str, str]:
    return dict(part.partition("=")[::2] for part in key.split(";") if part)


def validate(slug: str, metric_filter: Mapping[str, object] | None) -> None:
    """The metric exists and accepts every key of the filter (raises ``CatalogError``)."""
    metric = get(slug)
    unknown = sorted(set(metric_filter or {}) - metric.filters)
    if unknown:
        accepted = ", ".join(sorted(metric.filters)) or "none"
        raise CatalogError(f"{slug} does not accept the filter {', '.join(unknown)} (accepted: {accepted}).")
