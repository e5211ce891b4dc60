"""The test oracle: every catalog metric, manual and formula KPI, targets, scores and comparisons for
any scope (a territory subtree or one rep) and period (DESIGN §4), one row at a time, written to be
obviously right rather than fast (no caches).

The stored rollups are computed column-wise by ``kpis.rollup`` (every KPI × scope × period at once);
this is the readable definition they are tested against (tests/kpis/test_batch.py compares the two on
every figure, tests/kpis/test_engine.py runs the hand-worked cases on both). It shares nothing with the
production code but the metric names of ``kpis.catalog``.

It loads an organisation's rows once, attributes every fact to the territory the rep belonged to on
the fact's date (effective-dated assignments), accumulates additive figures and sets per
(scope, period), and derives every value from those accumulators: values roll up from rows, never
from child results, so ratios are ratio-of-sums and averages are means over the underlying deals.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.utils import timezone

from kpis import catalog, scoring
from kpis import formula as formula_lang
from kpis.models import KPI, Measurement, Source, Target, Transform, TreeAggregation
from people.models import Certification, ProgramParticipation
from sales.models import CLOSED_STAGES, Opportunity
from scorecard import periods as P
from scorecard.models import Organization
from territories.models import Rep, Territory, TerritoryAssignment

KINDS = (P.MONTH, P.QUARTER, P.YEAR)

# Metrics whose value over a territory is the sum of its children's: their targets add up the tree.
ADDITIVE_METRICS = frozenset(m.slug for m in catalog.METRICS if m.additive)

# The pipeline-weighted projection replaces the run rate during the first half of a period, when the
# scope closed at least this many deals in the four quarters before it.
PIPELINE_BETTER_BEFORE = 0.5
PIPELINE_MIN_CLOSED = 10

Scope = tuple[str, int]  # ("t", territory_id) or ("r", rep_id)


def _ratio(num: float, den: float) -> float | None:
    return None if not den else num / den


@dataclass(slots=True)
class Acc:
    """Additive figures and sets for one (scope, period)."""

    won: int = 0
    lost: int = 0
    won_amount: float = 0.0
    lost_amount: float = 0.0
    profit: float = 0.0
    profit_revenue: float = 0.0
    profit_deals: int = 0
    cycle_days: float = 0.0
    cycle_deals: int = 0
    partner_won: int = 0
    partner_lost: int = 0
    partner_won_amount: float = 0.0
    play_won: int = 0
    play_lost: int = 0
    play_new: int = 0
    deliverable_won: int = 0
    deliverable_lost: int = 0
    poc_success: int = 0
    poc_failure: int = 0
    poc_success_won: int = 0
    poc_success_lost: int = 0
    cross_brand_deals: int = 0
    new_customers: int = 0
    new: int = 0
    cohort_won: int = 0
    open_count: int = 0
    open_value: float = 0.0
    poc_success_open: int = 0
    certs_earned: dict = field(default_factory=lambda: defaultdict(int))
    cert_won: dict = field(default_factory=lambda: defaultdict(int))
    cert_lost: dict = field(default_factory=lambda: defaultdict(int))
    accounts: dict = field(default_factory=dict)  # account id -> set of product lines
    identifiers: set = field(default_factory=set)


@dataclass
class Value:
    actual: float | None
    coverage: float | None = None


@dataclass
class Row:
    kpi: KPI
    scope: Scope
    period: P.Period
    actual: float | None
    goal: float | None
    red_flag: float | None
    score: float | None
    status: str
    status_reason: str
    coverage: float | None
    previous: float | None
    change_pct: float | None
    last_year: float | None
    yoy_pct: float | None
    projected: float | None
    pace_score: float | None
    pace_status: str
    projection_method: str | None  # "run rate" | "pipeline" | None


class Engine:
    def __init__(self, org: Organization, today: date | None = None) -> None:
        self.org = org
        self.fsm = org.fiscal_year_start_month
        self.today = today or timezone.localdate()
        self._load()
        self._accumulate()

    # --- loading -----------------------------------------------------------------------------

    def _load(self) -> None:
        org = self.org
        territories = list(Territory.objects.filter(org=org).order_by("path").values("id", "path", "depth"))
        by_path = {t["path"]: t["id"] for t in territories}
        step = Territory.steplen
        self.territory_ids = [t["id"] for t in territories]
        self.ancestors: dict[int, list[int]] = {}
        self.children: dict[int, list[int]] = defaultdict(list)
        for t in territories:
            path = t["path"]
            self.ancestors[t["id"]] = [by_path[path[:i]] for i in range(step, len(path) + 1, step)]
            if t["depth"] > 1:
                self.children[by_path[path[:-step]]].append(t["id"])
        roots = [t["id"] for t in territories if t["depth"] == 1]
        self.root_id = roots[0] if roots else None

        self.reps = {r["id"]: r for r in Rep.objects.filter(org=org).values("id", "hire_date", "leave_date")}
        self.assignments: dict[int, list[tuple[date, date | None, int]]] = defaultdict(list)
        for a in (
            TerritoryAssignment.objects.filter(org=org)
            .order_by("rep_id", "start")
            .values_list("rep_id", "start", "end", "territory_id")
        ):
            self.assignments[a[0]].append((a[1], a[2], a[3]))
        self._assignment_starts = {rep: [a[0] for a in lst] for rep, lst in self.assignments.items()}

        self.kpis = list(KPI.objects.filter(org=org, active=True).select_related("objective__perspective"))
        self.kpi_by_slug = {k.slug: k for k in self.kpis}
        self.cert_filters = {
            self._filter_key(k.metric_filter)
            for k in self.kpis
            if k.source == Source.METRIC and k.metric in ("certified_win_rate_lift", "certifications_earned")
        } | {""}

        columns = [
            "id",
            "rep_id",
            "account_id",
            "stage",
            "created_date",
            "engage_date",
            "close_date",
            "amount",
            "profit",
            "channel",
            "strategic_play_id",
            "poc",
            "identified_by_id",
            "territory_id",
        ]
        self.deals = list(Opportunity.objects.filter(org=org).values_list(*columns))
        # Each account's first won deal ever: the earliest close date, the lowest id on the same day.
        first: dict[int, tuple[date, int]] = {}
        for opp_id, _rep, account_id, stage, _created, _engage, close, *_rest in self.deals:
            if stage == "won" and close and account_id is not None:
                first[account_id] = min(first.get(account_id, (close, opp_id)), (close, opp_id))
        self.first_wins = {opp_id for _close, opp_id in first.values()}
        lines: dict[int, set[str]] = defaultdict(set)
        list_price: dict[int, float] = defaultdict(float)
        through = Opportunity.products.through
        for opp_id, line, price in through.objects.filter(opportunity__org=org).values_list(
            "opportunity_id", "product__line", "product__list_price"
        ):
            lines[opp_id].add(line)
            if price is not None:
                list_price[opp_id] += float(price)
        self.deal_lines = lines
        self.deal_list_price = list_price
        self.deal_deliverable = set(
            Opportunity.deliverables.through.objects.filter(opportunity__org=org).values_list(
                "opportunity_id", flat=True
            )
        )
        self.certs = list(
            Certification.objects.filter(org=org).values_list(
                "rep_id", "type_id", "type__category", "earned", "expires"
            )
        )
        self.certs_by_rep: dict[int, list[tuple]] = defaultdict(list)
        for c in self.certs:
            self.certs_by_rep[c[0]].append(c)
        self.participations: dict[int, list[tuple]] = defaultdict(list)
        for rep_id, kind, program_id, start, end in ProgramParticipation.objects.filter(org=org).values_list(
            "rep_id", "program__kind", "program_id", "start", "end"
        ):
            self.participations[rep_id].append((kind, program_id, start, end))

        self.measurements: dict[tuple[int, Scope, str], tuple[float, float | None]] = {}
        for kpi_id, tid, rid, period, value, weight in Measurement.objects.filter(org=org).values_list(
            "kpi_id", "territory_id", "rep_id", "period", "value", "weight"
        ):
            scope = ("t", tid) if tid else ("r", rid)
            self.measurements[(kpi_id, scope, period)] = (
                float(value),
                None if weight is None else float(weight),
            )
        self.targets: dict[tuple[int, Scope, str], tuple[float, float | None]] = {}
        for kpi_id, tid, rid, period, goal, red in Target.objects.filter(
            org=org, superseded_at__isnull=True
        ).values_list("kpi_id", "territory_id", "rep_id", "period", "goal", "red_flag"):
            scope = ("t", tid) if tid else ("r", rid)
            self.targets[(kpi_id, scope, period)] = (float(goal), None if red is None else float(red))

    @staticmethod
    def _filter_key(metric_filter: dict | None) -> str:
        if not metric_filter:
            return ""
        return ";".join(f"{k}={v}" for k, v in sorted(metric_filter.items()))

    # --- attribution -------------------------------------------------------------------------

    def territory_on(self, rep_id: int | None, day: date) -> int | None:
        """The territory ``rep_id`` belonged to on ``day`` (None when unassigned that day)."""
        if rep_id is None:
            return None
        starts = self._assignment_starts.get(rep_id)
        if not starts:
            return None
        i = bisect.bisect_right(starts, day) - 1
        if i < 0:
            return None
        start, end, territory_id = self.assignments[rep_id][i]
        return territory_id if end is None or end >= day else None

    def _deal_territory(self, deal: tuple, day: date) -> int | None:
        """The rep's territory on the day, else the deal's credited territory, else (unassigned) the root."""
        territory = self.territory_on(deal[1], day)
        if territory is None:
            territory = deal[13]
        if territory is None:
            territory = self.root_id
        return territory

    def _scopes(self, territory_id: int | None, rep_id: int | None) -> list[Scope]:
        scopes: list[Scope] = [("t", t) for t in self.ancestors.get(territory_id, ())] if territory_id else []
        if rep_id is not None:
            scopes.append(("r", rep_id))
        return scopes

    def _keys(self, day: date) -> list[str]:
        return [P.period_containing(day, kind, self.fsm).key for kind in KINDS]

    def rep_employed(self, rep_id: int, start: date, end: date) -> bool:
        rep = self.reps[rep_id]
        return (rep["hire_date"] is None or rep["hire_date"] <= end) and (
            rep["leave_date"] is None or rep["leave_date"] >= start
        )

    def _certified(self, rep_id: int | None, day: date, fkey: str) -> bool:
        if rep_id is None:
            return False
        for _rep, type_id, category, earned, expires in self.certs_by_rep.get(rep_id, ()):
            if (
                earned <= day
                and (expires is None or expires >= day)
                and self._cert_matches(fkey, type_id, category)
            ):
                return True
        return False

    @staticmethod
    def _cert_matches(fkey: str, type_id: int, category: str) -> bool:
        if not fkey:
            return True
        for part in fkey.split(";"):
            key, _, value = part.partition("=")
            if key == "category" and value != category:
                return False
            if key == "type" and value != str(type_id):
                return False
        return True

    # --- accumulation ------------------------------------------------------------------------

    def _accumulate(self) -> None:
        acc: dict[tuple[Scope, str], Acc] = defaultdict(Acc)
        self.acc = acc
        keys = self._keys

        dated: list[date] = []
        for deal in self.deals:
            (
                opp_id,
                rep_id,
                account_id,
                stage,
                created,
                engage,
                close,
                amount,
                profit,
                channel,
                play_id,
                poc,
                identified_by,
            ) = deal[:13]
            amount_f = float(amount) if amount is not None else 0.0
            opened = engage or created
            if opened:
                dated.append(opened)
                scopes = self._scopes(self._deal_territory(deal, opened), rep_id)
                identifier = identified_by or rep_id
                for key in keys(opened):
                    for scope in scopes:
                        a = acc[(scope, key)]
                        a.new += 1
                        if stage == "won":
                            a.cohort_won += 1
                        if play_id:
                            a.play_new += 1
                        if identifier:
                            a.identifiers.add(identifier)
            if stage in CLOSED_STAGES and close:
                dated.append(close)
                won = stage == "won"
                scopes = self._scopes(self._deal_territory(deal, close), rep_id)
                deal_lines = self.deal_lines.get(opp_id, ())
                has_deliverable = opp_id in self.deal_deliverable
                certified = {f: self._certified(rep_id, close, f) for f in self.cert_filters}
                cycle = (close - engage).days if engage else None
                for key in keys(close):
                    for scope in scopes:
                        a = acc[(scope, key)]
                        if won:
                            a.won += 1
                            a.won_amount += amount_f
                            if profit is not None:
                                a.profit += float(profit)
                                a.profit_revenue += amount_f
                                a.profit_deals += 1
                            if channel == "partner":
                                a.partner_won += 1
                                a.partner_won_amount += amount_f
                            if play_id:
                                a.play_won += 1
                            if has_deliverable:
                                a.deliverable_won += 1
                            if poc == "success":
                                a.poc_success_won += 1
                            if len(deal_lines) >= 2:
                                a.cross_brand_deals += 1
                            if opp_id in self.first_wins:
                                a.new_customers += 1
                            if account_id is not None:
                                a.accounts.setdefault(account_id, set()).update(deal_lines)
                        else:
                            a.lost += 1
                            a.lost_amount += amount_f
                            if channel == "partner":
                                a.partner_lost += 1
                            if play_id:
                                a.play_lost += 1
                            if has_deliverable:
                                a.deliverable_lost += 1
                            if poc == "success":
                                a.poc_success_lost += 1
                        if poc == "success":
                            a.poc_success += 1
                        elif poc == "failure":
                            a.poc_failure += 1
                        if cycle is not None:
                            a.cycle_days += cycle
                            a.cycle_deals += 1
                        for fkey, is_cert in certified.items():
                            if is_cert:
                                (a.cert_won if won else a.cert_lost)[fkey] += 1
            elif poc in ("success", "failure") and opened:
                # A finished POC on a deal still open counts in the period it was engaged.
                for key in keys(opened):
                    for scope in self._scopes(self._deal_territory(deal, opened), rep_id):
                        if poc == "success":
                            acc[(scope, key)].poc_success += 1
                        else:
                            acc[(scope, key)].poc_failure += 1

        for rep_id, _type_id, category, earned, _expires in self.certs:
            dated.append(earned)
            scopes = self._scopes(self.territory_on(rep_id, earned), rep_id)
            for key in keys(earned):
                for scope in scopes:
                    for fkey in self.cert_filters:
                        if self._cert_matches(fkey, _type_id, category):
                            acc[(scope, key)].certs_earned[fkey] += 1

        # Hire and leave dates do not widen the range: a rep hired years before the first deal does not
        # make those years periods "with data".
        period_dates = [self.org.parse_period(k[2]).start for k in (*self.measurements, *self.targets)]
        dated.extend(period_dates)
        self.first_day = min(dated) if dated else self.today
        self.last_day = max(dated) if dated else self.today
        self._accumulate_open_pipeline()

    def _accumulate_open_pipeline(self) -> None:
        """Deals open at each period end: engaged on or before it and not closed by then."""
        ends: dict[str, list[P.Period]] = {}
        horizon = max(self.last_day, self.today)
        for kind in KINDS:
            ends[kind] = P.periods_between(self.first_day, horizon, kind, self.fsm)
        end_dates = {kind: [p.end for p in ends[kind]] for kind in KINDS}
        for deal in self.deals:
            opp_id, rep_id, _account, stage, created, engage, close = deal[:7]
            opened = engage or created
            if not opened:
                continue
            closed_on = close if stage in CLOSED_STAGES else None
            value = float(deal[7]) if deal[7] is not None else self.deal_list_price.get(opp_id, 0.0)
            poc_success = deal[11] == "success" and stage != "won"
            for kind in KINDS:
                dates = end_dates[kind]
                i = bisect.bisect_left(dates, opened)
                while i < len(dates) and (closed_on is None or dates[i] < closed_on):
                    period = ends[kind][i]
                    snapshot = min(period.end, self.today)
                    if snapshot < opened:
                        break
                    for scope in self._scopes(self._deal_territory(deal, snapshot), rep_id):
                        a = self.acc[(scope, period.key)]
                        a.open_count += 1
                        a.open_value += value
                        if poc_success:
                            a.poc_success_open += 1
                    i += 1

    # --- reps in scope -----------------------------------------------------------------------

    def reps_in_scope(self, scope: Scope, start: date, end: date) -> set[int]:
        """Employed reps assigned inside ``scope`` at some day of [start, end]."""
        kind, ident = scope
        if kind == "r":
            return {ident} if ident in self.reps and self.rep_employed(ident, start, end) else set()
        return self._active_reps(start, end).get(ident, set())

    def _active_reps(self, start: date, end: date) -> dict[int, set[int]]:
        """territory id -> employed reps assigned in its subtree at some day of [start, end]."""
        found: dict[int, set[int]] = defaultdict(set)
        for rep_id, assignments in self.assignments.items():
            rep = self.reps[rep_id]
            for a_start, a_end, territory in assignments:
                lo = max(a_start, start, rep["hire_date"] or a_start)
                hi = min(a_end or end, end, rep["leave_date"] or end)
                if lo <= hi:
                    for ancestor in self.ancestors.get(territory, ()):
                        found[ancestor].add(rep_id)
        return found

    def reps_on(self, scope: Scope, day: date) -> set[int]:
        return self.reps_in_scope(scope, day, day)

    # --- values ------------------------------------------------------------------------------

    def metric(self, slug: str, metric_filter: dict | None, scope: Scope, period: P.Period) -> float | None:
        a = self.acc.get((scope, period.key)) or Acc()
        fkey = self._filter_key(metric_filter)
        match slug:
            case "won_revenue":
                return a.won_amount
            case "won_deals":
                return a.won
            case "lost_deals":
                return a.lost
            case "lost_value":
                return a.lost_amount
            case "win_rate":
                return _ratio(a.won, a.won + a.lost)
            case "win_rate_by_value":
                return _ratio(a.won_amount, a.won_amount + a.lost_amount)
            case "avg_deal_size":
                return _ratio(a.won_amount, a.won)
            case "sales_cycle_days":
                return _ratio(a.cycle_days, a.cycle_deals)
            case "gross_profit":
                return a.profit if a.profit_deals or not a.won else None
            case "profit_margin":
                return _ratio(a.profit, a.profit_revenue)
            case "open_pipeline_count":
                return a.open_count
            case "open_pipeline_value":
                return a.open_value
            case "new_opportunities":
                return a.new
            case "lead_conversion":
                return _ratio(a.cohort_won, a.new)
            case "active_customers":
                return len(a.accounts)
            case "new_customers":
                return a.new_customers
            case "pipeline_coverage":
                revenue_kpi = self.kpi_by_slug.get("won_revenue")
                goal = None if revenue_kpi is None else self.target(revenue_kpi, scope, period)[0]
                if goal is None or goal - a.won_amount <= 0:
                    return None  # no quota, or quota met: nothing left to cover
                return a.open_value / (goal - a.won_amount)
            case "customer_retention":
                before = self.acc.get((scope, period.previous().key))
                if before is None or not before.accounts:
                    return None
                return len(before.accounts.keys() & a.accounts.keys()) / len(before.accounts)
            case "cross_brand_customers":
                if not a.accounts:
                    return None
                return sum(1 for lines in a.accounts.values() if len(lines) >= 2) / len(a.accounts)
            case "cross_brand_deals":
                return a.cross_brand_deals
            case "partner_revenue_share":
                return _ratio(a.partner_won_amount, a.won_amount)
            case "partner_win_rate":
                return _ratio(a.partner_won, a.partner_won + a.partner_lost)
            case "direct_win_rate":
                direct_won, direct_lost = a.won - a.partner_won, a.lost - a.partner_lost
                return _ratio(direct_won, direct_won + direct_lost)
            case "strategic_play_deals":
                return a.play_new
            case "strategic_play_win_rate":
                return _ratio(a.play_won, a.play_won + a.play_lost)
            case "deliverables_in_wins":
                return _ratio(a.deliverable_won, a.won)
            case "deliverables_in_losses":
                return _ratio(a.deliverable_lost, a.lost)
            case "poc_success_rate":
                return _ratio(a.poc_success, a.poc_success + a.poc_failure)
            case "poc_win_rate":
                return _ratio(a.poc_success_won, a.poc_success_won + a.poc_success_lost)
            case "poc_success_not_won":
                return a.poc_success_lost + a.poc_success_open
            case "certifications_earned":
                return a.certs_earned.get(fkey, 0)
            case "certified_win_rate_lift":
                cw, cl = a.cert_won.get(fkey, 0), a.cert_lost.get(fkey, 0)
                certified = _ratio(cw, cw + cl)
                others = _ratio(a.won - cw, a.won - cw + a.lost - cl)
                return None if certified is None or others is None else certified - others
            case "revenue_per_rep":
                return _ratio(a.won_amount, len(self.reps_in_scope(scope, period.start, period.end)))
            case "identification_participation":
                active = self.reps_in_scope(scope, period.start, period.end)
                return _ratio(len(active & a.identifiers), len(active))
            case "rep_turnover":
                return self._turnover(scope, period)
            case "certified_reps_pct":
                day = min(period.end, self.today)
                on_day = self.reps_on(scope, day)
                holders = [r for r in on_day if self._certified(r, day, fkey)]
                return _ratio(len(holders), len(on_day))
            case "program_participation_pct":
                active = self.reps_in_scope(scope, period.start, period.end)
                kind = (metric_filter or {}).get("kind")
                program = (metric_filter or {}).get("program")
                inside = [
                    r
                    for r in active
                    if any(
                        (kind is None or k == kind)
                        and (program is None or str(pid) == str(program))
                        and s <= period.end
                        and (e is None or e >= period.start)
                        for k, pid, s, e in self.participations.get(r, ())
                    )
                ]
                return _ratio(len(inside), len(active))
            case "reps_at_target" | "reps_at_target_pct":
                return self._reps_at_target(slug, scope, period)
        raise KeyError(f"unknown metric {slug!r}")

    def _turnover(self, scope: Scope, period: P.Period) -> float | None:
        leavers = 0
        for rep_id, rep in self.reps.items():
            leave = rep["leave_date"]
            if leave is None or not period.start <= leave <= period.end:
                continue
            if scope[0] == "r":
                leavers += rep_id == scope[1]
            elif scope[1] in self.ancestors.get(self.territory_on(rep_id, leave) or 0, ()):
                leavers += 1
        headcount = (len(self.reps_on(scope, period.start)) + len(self.reps_on(scope, period.end))) / 2
        return _ratio(leavers, headcount)

    def _reps_at_target(self, slug: str, scope: Scope, period: P.Period) -> float | None:
        revenue_kpi = self.kpi_by_slug.get("won_revenue")
        if revenue_kpi is None:
            return None if slug.endswith("pct") else 0
        with_target = 0
        at_target = 0
        for rep_id in self.reps_in_scope(scope, period.start, period.end):
            target = self.targets.get((revenue_kpi.id, ("r", rep_id), period.key))
            if target is None:
                continue
            with_target += 1
            won = (self.acc.get((("r", rep_id), period.key)) or Acc()).won_amount
            if won >= target[0]:
                at_target += 1
        return at_target if slug == "reps_at_target" else _ratio(at_target, with_target)

    def manual(self, kpi: KPI, scope: Scope, period: P.Period) -> Value:
        key = (kpi.id, scope, period.key)
        own = self.measurements.get(key)
        if own is not None:
            return Value(own[0], 1.0)
        if period.kind != P.MONTH:
            parts = self._sub_periods(period)
            values = [self.measurements.get((kpi.id, scope, p.key)) for p in parts]
            present = [v[0] for v in values if v is not None]
            if present:
                if kpi.time_aggregation == "sum":
                    return Value(sum(present), len(present) / len(parts))
                if kpi.time_aggregation == "last":
                    return Value(present[-1], len(present) / len(parts))
                return Value(sum(present) / len(present), len(present) / len(parts))
        if scope[0] == "t" and kpi.tree_aggregation != TreeAggregation.NONE:
            children = self.children.get(scope[1], [])
            if children:
                results = [(self.manual(kpi, ("t", c), period), c) for c in children]
                reported = [
                    (v.actual, self._weight(kpi, ("t", c), period))
                    for v, c in results
                    if v.actual is not None
                ]
                if reported:
                    coverage = len(reported) / len(children)
                    if kpi.tree_aggregation == TreeAggregation.SUM:
                        return Value(sum(v for v, _ in reported), coverage)
                    if kpi.tree_aggregation == TreeAggregation.WEIGHTED:
                        total = sum(w for _, w in reported)
                        if total:
                            return Value(sum(v * w for v, w in reported) / total, coverage)
                    return Value(sum(v for v, _ in reported) / len(reported), coverage)
                return Value(None, 0.0)
        return Value(None, None)

    def _weight(self, kpi: KPI, scope: Scope, period: P.Period) -> float:
        """Weight of a territory's manual value in a weighted average: its recorded weight(s), else 1."""
        own = self.measurements.get((kpi.id, scope, period.key))
        if own is not None:
            return own[1] if own[1] is not None else 1.0
        children = self.children.get(scope[1], []) if scope[0] == "t" else []
        weights = [
            self._weight(kpi, ("t", c), period)
            for c in children
            if self.manual(kpi, ("t", c), period).actual is not None
        ]
        return sum(weights) if weights else 1.0

    def _sub_periods(self, period: P.Period) -> list[P.Period]:
        if period.kind == P.QUARTER:
            return period.months()
        return P.periods_between(period.start, period.end, P.QUARTER, self.fsm)

    def base_value(self, kpi: KPI, scope: Scope, period: P.Period) -> Value:
        """The KPI's value before its comparison transform."""
        if kpi.source == Source.METRIC:
            return Value(self.metric(kpi.metric, kpi.metric_filter, scope, period))
        if kpi.source == Source.MANUAL:
            return self.manual(kpi, scope, period)
        node = formula_lang.parse(kpi.formula)
        return Value(formula_lang.evaluate(node, lambda slug: self._ref(slug, scope, period)))

    def _ref(self, slug: str, scope: Scope, period: P.Period) -> float | None:
        if slug == "months":  # the period's length in months, reserved in formulas
            return float(
                (period.end.year - period.start.year) * 12 + period.end.month - period.start.month + 1
            )
        kpi = self.kpi_by_slug.get(slug)
        if kpi is None:
            return None
        return self.value(kpi, scope, period).actual

    def value(self, kpi: KPI, scope: Scope, period: P.Period) -> Value:
        if period.start > self.today:
            return Value(None)
        if kpi.transform == Transform.VALUE:
            return self.base_value(kpi, scope, period)
        current = self.base_value(kpi, scope, period)
        base_period = period.previous() if kpi.transform == Transform.PCT_PREVIOUS else period.last_year()
        base = self.base_value(kpi, scope, base_period)
        return Value(scoring.change_pct(current.actual, base.actual), current.coverage)

    # --- targets -----------------------------------------------------------------------------

    def is_sum_type(self, kpi: KPI) -> bool:
        if kpi.transform != Transform.VALUE:
            return False
        if kpi.source == Source.METRIC:
            return kpi.metric in ADDITIVE_METRICS
        return kpi.source == Source.MANUAL and kpi.tree_aggregation == TreeAggregation.SUM

    def target(self, kpi: KPI, scope: Scope, period: P.Period) -> tuple[float | None, float | None, str]:
        """(goal, red flag, origin) — explicit, sum of children, or the KPI default."""
        result: tuple[float | None, float | None, str] = (None, None, "")
        explicit = self.targets.get((kpi.id, scope, period.key))
        if explicit is not None:
            goal, red = explicit
            result = (goal, red, "explicit")
        elif scope[0] == "t" and self.is_sum_type(kpi) and self.children.get(scope[1]):
            child_targets = [self.target(kpi, ("t", c), period) for c in self.children[scope[1]]]
            if all(t[0] is not None for t in child_targets):
                goal = sum(t[0] for t in child_targets)  # type: ignore[misc]
                reds = [t[1] for t in child_targets]
                red = sum(reds) if all(r is not None for r in reds) else None  # type: ignore[arg-type]
                result = (goal, red, "children")
        if result[0] is None and kpi.default_goal is not None:
            result = (
                float(kpi.default_goal),
                None if kpi.default_red_flag is None else float(kpi.default_red_flag),
                "default",
            )
        if result[0] is not None and result[1] is None:
            result = (
                result[0],
                scoring.default_red_flag(result[0], kpi.direction, float(kpi.tolerance)),
                result[2],
            )
        return result

    # --- rows --------------------------------------------------------------------------------

    def row(self, kpi: KPI, scope: Scope, period: P.Period) -> Row:
        value = self.value(kpi, scope, period)
        goal, red, _origin = self.target(kpi, scope, period)
        score = scoring.score(value.actual, goal, red)
        if period.start > self.today:
            reason = "period not started"
        elif value.actual is None:
            reason = "no data"
        elif goal is None:
            reason = "no target"
        else:
            reason = ""
        previous = self.value(kpi, scope, period.previous()).actual
        last_year = self.value(kpi, scope, period.last_year()).actual
        projected = pace_score = method = None
        if kpi.is_cumulative and value.actual is not None and period.start <= self.today < period.end:
            share = period.elapsed_share(self.today)
            if share > 0:
                projected, method = value.actual / share, "run rate"
                if (
                    share < PIPELINE_BETTER_BEFORE
                    and kpi.source == Source.METRIC
                    and kpi.transform == Transform.VALUE
                ):
                    weighted = self._pipeline_projection(kpi.metric, scope, period, value.actual)
                    if weighted is not None:
                        projected, method = weighted, "pipeline"
                pace_score = scoring.score(projected, goal, red)
        return Row(
            kpi=kpi,
            scope=scope,
            period=period,
            actual=value.actual,
            goal=goal,
            red_flag=red,
            score=score,
            status=scoring.status(score),
            status_reason=reason,
            coverage=value.coverage,
            previous=previous,
            change_pct=scoring.change_pct(value.actual, previous),
            last_year=last_year,
            yoy_pct=scoring.change_pct(value.actual, last_year),
            projected=projected,
            pace_score=pace_score,
            pace_status=scoring.status(pace_score) if projected is not None else "",
            projection_method=method,
        )

    def _pipeline_projection(
        self, metric: str, scope: Scope, period: P.Period, actual: float
    ) -> float | None:
        """Actual plus today's open pipeline weighted by the scope's trailing win rate.

        Early in a period the run rate extrapolates from a few days of closes; the deals already in the
        pipeline are the better estimate, when the scope has enough closed deals in the four quarters
        before the period to give a win rate.
        """
        if metric not in ("won_revenue", "won_deals"):
            return None
        quarter = P.period_containing(period.start - timedelta(days=1), P.QUARTER, self.fsm)
        won = lost = 0
        for _ in range(4):
            a = self.acc.get((scope, quarter.key))
            if a is not None:
                won, lost = won + a.won, lost + a.lost
            quarter = quarter.previous()
        if won + lost < PIPELINE_MIN_CLOSED:
            return None
        now = self.acc.get((scope, period.key)) or Acc()
        pipeline = now.open_value if metric == "won_revenue" else now.open_count
        return actual + pipeline * won / (won + lost)

    def all_periods(self) -> list[P.Period]:
        last = min(max(self.last_day, self.first_day), max(self.today, self.first_day))
        out: list[P.Period] = []
        for kind in KINDS:
            out.extend(P.periods_between(self.first_day, last, kind, self.fsm))
        return out

    def all_scopes(self) -> list[Scope]:
        return [("t", t) for t in self.territory_ids] + [("r", r) for r in self.reps]

    def rows(self, periods: Iterable[P.Period], scopes: Iterable[Scope] | None = None) -> Iterable[Row]:
        scope_list = list(scopes) if scopes is not None else self.all_scopes()
        ordered = sorted(periods, key=lambda p: (KINDS.index(p.kind), p.start))
        for period in ordered:
            for scope in scope_list:
                if scope[0] == "r" and not self.rep_employed(scope[1], period.start, period.end):
                    continue  # no scorecard for a rep before hire or after leaving
                for kpi in self.kpis:
                    yield self.row(kpi, scope, period)
