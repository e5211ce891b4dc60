"""``/manage/measurements/?period=KEY&territory=ID``: the manual-entry grid.

Rows are the territory, its child territories and its reps (``kpis.selectors_grids``), columns the
manual KPIs. Each input saves itself with htmx when it changes (the cell comes back with the saved
value or the refusal beside it); without JavaScript, "Save all" posts the grid and every changed cell is
saved at once, or none when one is refused. In a locked period the inputs are disabled and the lock is
named. Admins for the whole organisation, managers for their subtree; reps and viewers 403.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render

from kpis import selectors_grids, services_grids, units
from kpis.selectors_grids import EntryGrid
from scorecard import locks
from scorecard.decorators import MembershipRequest, manager_required
from scorecard.models import Role

from .params import period_param, territory_choices, territory_param

WHAT = "its measurements cannot change"


@manager_required
def measurements(request: MembershipRequest) -> HttpResponse:
    m = request.membership
    period = period_param(m.org, request.GET)
    territory = territory_param(request)
    grid = selectors_grids.entry_grid(m, territory, period)
    if request.method == "POST":
        return _save(request, grid)
    return _page(request, grid)


def _save(request: MembershipRequest, grid: EntryGrid) -> HttpResponse:
    """Save one cell (``cell=KEY``, the htmx request of an input) or every posted cell."""
    cells = grid.cells
    only = request.POST.get("cell", "")
    if only and only not in cells:
        raise Http404("no such cell in this grid")
    chosen = [cells[only]] if only else list(cells.values())
    typed = [cell for cell in chosen if f"value-{cell.key}" in request.POST]
    for cell in typed:
        cell.text = request.POST[f"value-{cell.key}"].strip()
    problem = ""
    try:
        saved = services_grids.measurements_enter(
            org=request.membership.org,
            period=grid.period.key,
            cells=[
                services_grids.TypedEntry(
                    cell.key, cell.kpi, cell.text, territory=cell.scope.territory, rep=cell.scope.rep
                )
                for cell in typed
            ],
            entered_by=request.user,
        )
    except locks.PeriodLocked as exc:
        problem = exc.messages[0]
        for cell in typed:
            cell.errors = [problem]
    except ValidationError as exc:
        for key, errors in exc.message_dict.items():
            cells[key].errors = errors
        refused = len(exc.message_dict)
        problem = (
            f"{refused} {'entry was' if refused == 1 else 'entries were'} refused, so nothing was saved: "
            "see the message beside each."
        )
    else:
        for key, measurement in saved.items():
            cells[key].text = units.plain(measurement.value) if measurement is not None else ""
            cells[key].saved = True
        if not request.htmx:
            count = len(saved)
            messages.success(
                request,
                f"Saved {count} {'entry' if count == 1 else 'entries'} for {grid.period.key}."
                if count
                else "Nothing had changed.",
            )
            return redirect(request.get_full_path())
    if request.htmx and only:
        # htmx swaps only successful responses: a refused cell is still the cell to show, with its message.
        return render(request, "kpis/measurement_grid.html#cell", _context(request, grid, cell=cells[only]))
    context = _context(request, grid, problem=problem)
    return render(request, "kpis/measurement_grid.html", context, status=400 if problem else 200)


def _page(request: MembershipRequest, grid: EntryGrid) -> HttpResponse:
    return render(request, "kpis/measurement_grid.html", _context(request, grid))


def _context(request: MembershipRequest, grid: EntryGrid, **extra: Any) -> dict[str, Any]:
    return {
        "org": request.membership.org,
        "grid": grid,
        "locked": grid.lock is not None,
        "lock_message": locks.lock_message(grid.lock, WHAT) if grid.lock else "",
        "territory_choices": territory_choices(request, grid.territory, grid.period),
        "post_url": request.get_full_path(),
        "is_admin": request.membership.role == Role.ADMIN,
        **extra,
    }
