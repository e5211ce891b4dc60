"""``/manage/targets/?period=KEY&territory=ID[&kpi=SLUG]``: the targets grid.

Every active KPI × the territory, its child territories and its reps (or, with ``kpi``, one KPI down the
scopes). Each cell holds the goal, the red flag (empty: the KPI's tolerance) and the reason for a change,
with the cell's history — who, when, old → new, why — beside it. A cell's "Save" saves that cell (with
htmx it swaps itself; without, the page posts and comes back); "Save all" saves every changed cell, or
none when one is refused. The bulk fill (copy last year ± x %, or split the territory's goal over its
children by last year's share) shows a preview, then applies it with one reason.

Admins for the whole organisation, managers for their subtree; reps and viewers 403.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import redirect, render

from kpis import selectors_grids, services_grids, units
from kpis.models import KPI
from kpis.selectors_grids import COPY, SPLIT, FillPlan, TargetGrid
from scorecard import locks
from scorecard.decorators import MembershipRequest, manager_required
from scorecard.models import Role

from .params import period_param, territory_choices, territory_param

WHAT = "its targets cannot change"
TEMPLATE = "kpis/target_grid.html"


@manager_required
def targets(request: MembershipRequest) -> HttpResponse:
    m = request.membership
    period = period_param(m.org, request.GET)
    territory = territory_param(request)
    kpi = _kpi_param(request, request.GET.get("kpi", ""))
    grid = selectors_grids.target_grid(m, territory, period, kpi)
    if request.method == "POST":
        if request.POST.get("action") in ("preview", "apply"):
            return _fill(request, grid)
        return _save(request, grid)
    return render(request, TEMPLATE, _context(request, grid))


def _kpi_param(request: MembershipRequest, slug: str) -> KPI | None:
    if not slug:
        return None
    kpi = KPI.objects.filter(org=request.membership.org, slug=slug, active=True).first()
    if kpi is None:
        raise Http404("unknown KPI")
    return kpi


def _save(request: MembershipRequest, grid: TargetGrid) -> HttpResponse:
    """Save one cell (``cell=KEY``: its Save button) or every posted cell."""
    post = request.POST
    only = post.get("cell", "")
    if only and only not in grid.cells:
        raise Http404("no such cell in this grid")
    chosen = [grid.cells[only]] if only else list(grid.cells.values())
    typed = [cell for cell in chosen if f"goal-{cell.key}" in post]
    for cell in typed:
        cell.goal = post.get(f"goal-{cell.key}", "").strip()
        cell.red_flag = post.get(f"red-{cell.key}", "").strip()
        cell.reason = post.get(f"reason-{cell.key}", "").strip()
    problem = ""
    try:
        saved = services_grids.targets_change(
            org=request.membership.org,
            period=grid.period.key,
            cells=[
                services_grids.TypedTarget(
                    cell.key,
                    cell.kpi,
                    cell.goal,
                    cell.red_flag,
                    cell.reason,
                    territory=cell.scope.territory,
                    rep=cell.scope.rep,
                )
                for cell in typed
            ],
            set_by=request.user,
        )
    except locks.PeriodLocked as exc:
        problem = exc.messages[0]
        for cell in typed:
            cell.errors = [problem]
    except ValidationError as exc:
        for key, errors in exc.message_dict.items():
            grid.cells[key].errors = errors
        refused = len(exc.message_dict)
        problem = (
            f"{refused} {'target was' if refused == 1 else 'targets were'} refused, so nothing was saved: "
            "see the message beside each."
        )
    else:
        if not request.htmx:
            count = len(saved)
            messages.success(
                request,
                f"Saved {count} {'target' if count == 1 else 'targets'} for {grid.period.key}."
                if count
                else "Nothing had changed.",
            )
            return redirect(request.get_full_path())
        # The cell comes back as stored, with its new history line.
        grid = selectors_grids.target_grid(request.membership, grid.territory, grid.period, _single(grid))
        for key in saved:
            grid.cells[key].saved = True
    if request.htmx and only:
        # htmx swaps only successful responses: a refused cell is still the cell to show, with its message.
        return render(request, f"{TEMPLATE}#cell", _context(request, grid, cell=grid.cells[only]))
    context = _context(request, grid, problem=problem)
    return render(request, TEMPLATE, context, status=400 if problem else 200)


def _single(grid: TargetGrid) -> KPI | None:
    return grid.kpis[0] if len(grid.kpis) == 1 else None


def _fill(request: MembershipRequest, grid: TargetGrid) -> HttpResponse:
    """Preview a bulk fill, or apply it with one reason."""
    post = request.POST
    values = {name: post.get(name, "").strip() for name in ("fill_kpi", "method", "pct", "reason")}
    kpi = next((k for k in grid.kpis if k.slug == values["fill_kpi"]), None)
    errors: dict[str, str] = {}
    plan: FillPlan | None = None
    if kpi is None:
        errors["fill_kpi"] = "Choose a KPI of this grid."
    pct: Decimal | None = None
    if values["method"] == COPY:
        try:
            pct = units.parse_number(values["pct"])
        except units.EntryError as exc:
            errors["pct"] = f"Change on last year: {exc}"
    elif values["method"] != SPLIT:
        errors["method"] = "Choose how to fill."
    if kpi is not None and not errors:
        try:
            plan = selectors_grids.fill_plan(grid, kpi, values["method"], pct)
        except selectors_grids.FillError as exc:
            errors["plan"] = str(exc)
    if plan is not None and post.get("action") == "apply":
        try:
            targets = services_grids.targets_fill(
                org=request.membership.org,
                period=grid.period.key,
                goals=[
                    services_grids.FilledGoal(plan.kpi, g.goal, territory=g.scope.territory, rep=g.scope.rep)
                    for g in plan.changing
                    if g.goal is not None
                ],
                reason=values["reason"],
                set_by=request.user,
            )
        except ValidationError as exc:
            messages_by_field = exc.message_dict if hasattr(exc, "error_dict") else {"plan": exc.messages}
            errors.update({name: " ".join(texts) for name, texts in messages_by_field.items()})
        else:
            count = len(targets)
            messages.success(
                request,
                f"Set {count} {plan.kpi.name} {'target' if count == 1 else 'targets'} for {grid.period.key}.",
            )
            return redirect(request.get_full_path())
    context = _context(request, grid, plan=plan, fill=values, fill_errors=errors)
    status = 400 if errors else 200
    if request.htmx:
        return render(request, f"{TEMPLATE}#fill", context, status=200)
    return render(request, TEMPLATE, context, status=status)


def _context(request: MembershipRequest, grid: TargetGrid, **extra: Any) -> dict[str, Any]:
    by_kpi = len(grid.kpis) != 1
    # Rows headed by a KPI (every KPI × scopes) or by a scope (one KPI down the scopes).
    rows: list[tuple[KPI | selectors_grids.Scope, list[selectors_grids.TargetCell]]]
    if by_kpi:
        columns = [_scope_label(s) for s in grid.scopes]
        rows = [(k, [grid.cell(k, s) for s in grid.scopes]) for k in grid.kpis]
    else:
        columns = [grid.kpis[0].name]
        rows = [(s, [grid.cell(grid.kpis[0], s)]) for s in grid.scopes]
    fill = extra.pop("fill", None) or {
        "fill_kpi": grid.kpis[0].slug if not by_kpi else "",
        "method": COPY,
        "pct": "",
        "reason": "",
    }
    return {
        "org": request.membership.org,
        "grid": grid,
        "by_kpi": by_kpi,
        "columns": columns,
        "rows": rows,
        "locked": grid.lock is not None,
        "lock_message": locks.lock_message(grid.lock, WHAT) if grid.lock else "",
        "territory_choices": territory_choices(request, grid.territory, grid.period),
        "post_url": request.get_full_path(),
        "all_kpis_query": _query(request.GET, kpi=None),
        "is_admin": request.membership.role == Role.ADMIN,
        "fill": fill,
        "fill_errors": {},
        "has_children": any(s.role != selectors_grids.SELF for s in grid.scopes),
        **extra,
    }


def _scope_label(scope: selectors_grids.Scope) -> str:
    if scope.role == selectors_grids.SELF:
        return f"{scope.name} (whole territory)"
    return f"{scope.name} (rep)" if scope.role == selectors_grids.REP else scope.name


def _query(params: QueryDict, **changes: Any) -> str:
    query = params.copy()
    for name, value in changes.items():
        if value is None:
            query.pop(name, None)
        else:
            query[name] = value
    return "?" + query.urlencode() if query else "?"
