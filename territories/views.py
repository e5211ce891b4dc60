"""Views of the territories app: thin (parse, check access, call a service or selector, render), each behind
``@membership_required`` (scorecard/decorators.py), templates in templates/territories/.

The admin's pages (``/manage/territories/``, ``/manage/reps/``; urls in ``manage_urls.py``): the territory
tree editor, and reps with their effective-dated assignments. Every form works without JavaScript (a
POST, then a redirect back to the page); a refused one comes back with the errors beside its fields.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from scorecard.decorators import MembershipRequest, admin_required
from scorecard.forms import add_service_errors

from . import selectors, services
from .forms import AddChildForm, AssignForm, MoveForm, ReinstateForm, RenameForm, RepForm, RetireForm
from .models import Rep, Territory

REPS_PER_PAGE = 50

TERRITORY_FORMS = {
    "rename": RenameForm,
    "add": AddChildForm,
    "move": MoveForm,
    "retire": RetireForm,
    "reinstate": ReinstateForm,
}


def _territory(request: MembershipRequest, pk: Any) -> Territory:
    """One of the organisation's territories (another organisation's, or none, is 404)."""
    try:
        return Territory.objects.get(org=request.membership.org, pk=int(pk))
    except (Territory.DoesNotExist, TypeError, ValueError):
        raise Http404("No such territory.") from None


def _rep(request: MembershipRequest, pk: Any) -> Rep:
    try:
        return Rep.objects.get(org=request.membership.org, pk=int(pk))
    except (Rep.DoesNotExist, TypeError, ValueError):
        raise Http404("No such rep.") from None


def _territory_forms(
    request: MembershipRequest, selected: Territory, parent: Territory | None, bound: Any = None
) -> dict[str, Any]:
    forms: dict[str, Any] = {}
    for action, form_class in TERRITORY_FORMS.items():
        kwargs: dict[str, Any] = {"prefix": action}
        if action == "move":
            kwargs["parents"] = selectors.move_targets(request.membership.org, selected)
            kwargs["initial"] = {"parent": parent.pk if parent else None}
        if action == "rename":
            kwargs["initial"] = {"name": selected.name}
        forms[action] = bound if bound is not None and bound.prefix == action else form_class(**kwargs)
    return forms


def _territories_page(
    request: MembershipRequest, selected: Territory | None, bound: Any = None, status: int = 200
) -> HttpResponse:
    org = request.membership.org
    today = timezone.localdate()
    territories, forest = selectors.editor_tree(org, today)
    if selected is None and forest:
        selected = forest[0].territory
    context: dict[str, Any] = {
        "forest": forest,
        "territory_count": len(territories),
        "retired_count": sum(1 for t in territories if t.retired_on is not None),
        "selected": selected,
        "today": today,
        "history": selectors.territory_history(org),
    }
    if selected is not None:
        parent_path = selected.path[: -Territory.steplen]
        parent = next((t for t in territories if t.path == parent_path), None)
        context["forms"] = _territory_forms(request, selected, parent, bound)
        context["selected_history"] = selectors.territory_history(org, selected)
        context["selected_children"] = sum(
            1 for t in territories if t.path.startswith(selected.path) and t.depth == selected.depth + 1
        )
    template = (
        "territories/manage_territories.html#editor"
        if request.htmx
        else "territories/manage_territories.html"
    )
    return render(request, template, context, status=status)


@admin_required
def manage_territories(request: MembershipRequest) -> HttpResponse:
    """``/manage/territories/``: the tree, and the selected territory's forms and history."""
    pk = request.GET.get("territory")
    return _territories_page(request, _territory(request, pk) if pk else None)


@admin_required
@require_POST
def territory_change(request: MembershipRequest, pk: int) -> HttpResponse:
    """One of the selected territory's forms: rename, add a child, move, retire, reinstate."""
    territory = _territory(request, pk)
    action = request.POST.get("action", "")
    if action not in TERRITORY_FORMS:
        raise Http404("No such change.")
    kwargs: dict[str, Any] = {"prefix": action}
    if action == "move":
        kwargs["parents"] = selectors.move_targets(request.membership.org, territory)
    form = TERRITORY_FORMS[action](request.POST, **kwargs)
    if form.is_valid():
        data, user = form.cleaned_data, request.user
        shown = territory
        try:
            if action == "rename":
                old = territory.name
                services.territory_rename(
                    territory=territory, name=data["name"], user=user, reason=data["reason"]
                )
                message = f"{old} is now called {territory.name}."
            elif action == "add":
                shown = services.territory_add(parent=territory, name=data["name"])
                message = f"{shown.full_name} is added."
            elif action == "move":
                services.territory_move(
                    territory=territory,
                    target=data["parent"],
                    position="sorted-child",
                    user=user,
                    reason=data["reason"],
                )
                message = f"Moved: it is now {territory.full_name}. The scorecards are being recomputed."
            elif action == "retire":
                services.territory_retire(
                    territory=territory, on=data["on"], user=user, reason=data["reason"]
                )
                message = f"{territory.full_name} is retired from {data['on']:%Y-%m-%d}."
            else:
                services.territory_reinstate(territory=territory, user=user, reason=data["reason"])
                message = f"{territory.full_name} is active again."
        except ValidationError as exc:
            add_service_errors(form, exc, _main_field(action))
        else:
            messages.success(request, message)
            return redirect(f"{reverse('manage_territories')}?territory={shown.pk}")
    territory.refresh_from_db()
    return _territories_page(request, territory, bound=form, status=400)


def _main_field(action: str) -> str:
    return {"rename": "name", "add": "name", "move": "parent", "retire": "on", "reinstate": "reason"}[action]


# --- reps -----------------------------------------------------------------------------------------


@admin_required
def manage_reps(request: MembershipRequest) -> HttpResponse:
    """``/manage/reps/``: the reps with their territory today (searchable, paged), and hiring one."""
    org = request.membership.org
    form = RepForm(prefix="hire", territories=selectors.assignable_territories(org))
    status = 200
    if request.method == "POST":
        form = RepForm(request.POST, prefix="hire", territories=selectors.assignable_territories(org))
        if form.is_valid():
            data = form.cleaned_data
            try:
                rep = services.rep_hire(
                    org=org,
                    name=data["name"],
                    email=data["email"],
                    hire_date=data["hire_date"],
                    territory=data["territory"],
                    user=request.user,
                )
            except ValidationError as exc:
                add_service_errors(form, exc, "name")
            else:
                messages.success(request, f"{rep.name} is hired.")
                return redirect("manage_rep", pk=rep.pk)
        status = 400
    today = timezone.localdate()
    query = request.GET.get("q", "").strip()
    page = Paginator(selectors.rep_list(org, today, query=query), REPS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    context = {
        "page": page,
        "query": query,
        "form": form,
        "today": today,
        "history": selectors.rep_history(org),
    }
    return render(request, "territories/manage_reps.html", context, status=status)


@admin_required
def manage_rep(request: MembershipRequest, pk: int) -> HttpResponse:
    """``/manage/reps/<pk>/``: edit a rep (leave date included), assign them from a date, their history."""
    org = request.membership.org
    rep = _rep(request, pk)
    territories = selectors.assignable_territories(org)
    edit = RepForm(
        prefix="edit",
        initial={
            "name": rep.name,
            "email": rep.email,
            "hire_date": rep.hire_date,
            "leave_date": rep.leave_date,
        },
    )
    assign = AssignForm(prefix="assign", territories=territories)
    status = 200
    if request.method == "POST":
        user = request.user
        if request.POST.get("action") == "assign":
            assign = AssignForm(request.POST, prefix="assign", territories=territories)
            if assign.is_valid():
                data = assign.cleaned_data
                try:
                    services.rep_assign(
                        rep=rep,
                        territory=data["territory"],
                        start=data["start"],
                        user=user,
                        reason=data["reason"],
                    )
                except ValidationError as exc:
                    add_service_errors(assign, exc, "start")
                else:
                    messages.success(
                        request,
                        f"{rep.name} is in {data['territory'].full_name} from {data['start']:%Y-%m-%d}.",
                    )
                    return redirect("manage_rep", pk=rep.pk)
        else:
            edit = RepForm(request.POST, prefix="edit")
            if edit.is_valid():
                data = edit.cleaned_data
                try:
                    services.rep_update(
                        rep=rep,
                        name=data["name"],
                        email=data["email"],
                        hire_date=data["hire_date"],
                        leave_date=data["leave_date"],
                        user=user,
                        reason=data["reason"],
                    )
                except ValidationError as exc:
                    add_service_errors(edit, exc, "name")
                else:
                    messages.success(request, f"{data['name']} is saved.")
                    return redirect("manage_rep", pk=rep.pk)
        status = 400
        rep.refresh_from_db()
    context = {
        "rep": rep,
        "edit": edit,
        "assign": assign,
        "assignments": selectors.rep_assignments(rep, timezone.localdate()),
        "history": selectors.rep_history(org, rep),
    }
    return render(request, "territories/manage_rep.html", context, status=status)
