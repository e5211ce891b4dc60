"""The scorecard designer (admins): perspectives, objectives with their cause→effect links, and KPIs.

``/manage/scorecard/`` shows the whole scorecard with each weight as a share of its level; the forms
edit one perspective, objective or KPI, ask why, and keep the change in its history (shown beside the
form). Adding, retiring and re-weighting KPIs is routine: a saved change is recomputed within seconds.
A formula is checked as it is typed (htmx) and previewed at the root from the stored figures.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.forms import BaseForm
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.text import capfirst

from kpis import formula as formula_lang
from kpis.forms import KPIForm, ObjectiveForm, PerspectiveForm
from kpis.models import KPI, Source
from kpis.services import KPI_FIELDS, kpi_create, kpi_formula_validate, kpi_update
from kpis.store import StoredRows
from perspectives.models import Objective, Perspective
from perspectives.services import objective_create, objective_links_set, objective_update, perspective_update
from scorecard import history
from scorecard.decorators import MembershipRequest, admin_required
from scorecard.forms import add_service_errors
from scorecard.templatetags.scorecard_format import kpi_value

from .params import period_param

HISTORY_SHOWN = 20


def _shares(weights: list[Decimal]) -> list[float | None]:
    total = sum(weights)
    return [float(w / total) if total else None for w in weights]


@admin_required
def designer(request: MembershipRequest) -> HttpResponse:
    org = request.membership.org
    perspectives = list(Perspective.objects.filter(org=org).order_by("order", "pk"))
    objectives = list(Objective.objects.filter(org=org).select_related("owner").order_by("order", "pk"))
    kpis = list(KPI.objects.filter(org=org).order_by("order", "pk"))
    by_objective: dict[int, list[KPI]] = {}
    for kpi in kpis:
        by_objective.setdefault(kpi.objective_id, []).append(kpi)
    tree = []
    for perspective, p_share in zip(perspectives, _shares([p.weight for p in perspectives]), strict=True):
        own = [o for o in objectives if o.perspective_id == perspective.pk]
        rows = []
        for objective, o_share in zip(own, _shares([o.weight for o in own]), strict=True):
            measured = by_objective.get(objective.pk, [])
            active_weights = [k.weight if k.active else Decimal(0) for k in measured]
            rows.append((objective, o_share, list(zip(measured, _shares(active_weights), strict=True))))
        tree.append((perspective, p_share, rows))
    return render(request, "kpis/designer.html", {"tree": tree})


def _history(instance) -> list[history.Entry]:
    """The newest history of a perspective, objective or KPI: who, when, which fields old → new, why."""
    fields = [f for f in (f.name for f in instance._meta.concrete_fields) if f not in ("id", "updated_at")]

    def describe(record, previous) -> str:
        if record.history_type != history.CHANGED:
            return "created" if record.history_type == history.CREATED else "deleted"
        return (
            "; ".join(
                f"{capfirst(instance._meta.get_field(name).verbose_name)}: "
                f"{history.show(getattr(previous, name))} → {history.show(getattr(record, name))}"
                for name in history.changed(record, previous, fields)
            )
            or "saved unchanged"
        )

    return history.entries(history.newest(instance.history, HISTORY_SHOWN), describe)


def _edit_page(
    request: MembershipRequest, form: BaseForm, title: str, instance=None, **extra: Any
) -> HttpResponse:
    context = {
        "form": form,
        "title": title,
        "history": _history(instance) if instance and instance.pk else [],
        **extra,
    }
    return render(request, "kpis/designer_form.html", context, status=400 if form.errors else 200)


@admin_required
def perspective_edit(request: MembershipRequest, pk: int) -> HttpResponse:
    perspective = get_object_or_404(Perspective, org=request.membership.org, pk=pk)
    form = PerspectiveForm(request.POST or None, instance=perspective)
    if request.method == "POST" and form.is_valid():
        fields = {name: form.cleaned_data[name] for name in PerspectiveForm.Meta.fields}
        perspective_update(perspective=perspective, reason=form.cleaned_data["reason"], **fields)
        messages.success(request, f"Saved {perspective.name}.")
        return redirect("designer")
    return _edit_page(request, form, f"Perspective: {perspective.name}", perspective)


@admin_required
def objective_edit(request: MembershipRequest, pk: int | None = None) -> HttpResponse:
    org = request.membership.org
    objective = get_object_or_404(Objective, org=org, pk=pk) if pk else Objective(org=org)
    initial = {}
    if pk is None and request.GET.get("perspective"):
        initial["perspective"] = get_object_or_404(Perspective, org=org, pk=_int(request.GET["perspective"]))
    form = ObjectiveForm(request.POST or None, instance=objective, org=org, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        fields = {name: data[name] for name in ObjectiveForm.Meta.fields if name not in ("slug", "name")}
        try:
            with transaction.atomic():
                if pk is None:
                    objective = objective_create(
                        slug=data["slug"], name=data["name"], reason=data["reason"], **fields
                    )
                else:
                    objective = objective_update(
                        objective=objective,
                        slug=data["slug"],
                        name=data["name"],
                        reason=data["reason"],
                        **fields,
                    )
                objective_links_set(objective=objective, causes=data["causes"], effects=data["effects"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Saved {objective.name}.")
            return redirect("designer")
    title = f"Objective: {objective.name}" if pk else "New objective"
    return _edit_page(request, form, title, objective if pk else None)


@admin_required
def kpi_edit(request: MembershipRequest, pk: int | None = None) -> HttpResponse:
    org = request.membership.org
    kpi = get_object_or_404(KPI, org=org, pk=pk) if pk else KPI(org=org)
    initial = {}
    if pk is None and request.GET.get("objective"):
        initial["objective"] = get_object_or_404(Objective, org=org, pk=_int(request.GET["objective"]))
    form = KPIForm(request.POST or None, instance=kpi, org=org, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        fields = {name: data[name] for name in KPIForm.Meta.fields if name in KPI_FIELDS}
        fields["metric"] = data["metric"] or ""
        try:
            if pk is None:
                kpi = kpi_create(org=org, reason=data["reason"], **fields)
            else:
                kpi = kpi_update(kpi=kpi, reason=data["reason"], **fields)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Saved {kpi.name}: the scorecard shows the change within seconds.")
            return redirect("designer")
    title = f"KPI: {kpi.name}" if pk else "New KPI"
    check_url = reverse("designer_formula_check")
    return _edit_page(request, form, title, kpi if pk else None, formula_check_url=check_url)


@admin_required
def formula_check(request: MembershipRequest) -> HttpResponse:
    """The formula field's live check: its error (with the position), or its value at the root."""
    org = request.membership.org
    params = request.POST if request.method == "POST" else request.GET
    text = params.get("formula", "").strip()
    slug = params.get("slug", "").strip() or "new_kpi"
    context: dict[str, Any] = {"text": text}
    if params.get("source", Source.FORMULA) != Source.FORMULA or not text:
        return render(request, "kpis/designer_form.html#formula-check", context)
    try:
        kpi_formula_validate(org=org, slug=slug, formula=text)
    except ValidationError as exc:
        context["error"] = " ".join(exc.messages)
        return render(request, "kpis/designer_form.html#formula-check", context)
    context.update(_preview(request, text, params.get("unit", "")))
    return render(request, "kpis/designer_form.html#formula-check", context)


def _preview(request: MembershipRequest, text: str, unit: str) -> dict[str, Any]:
    """The formula's value at the root in the current quarter, from the stored figures of the KPIs it names."""
    org = request.membership.org
    period = period_param(org, request.GET)
    root = org.root_territory()
    node = formula_lang.parse(text)
    named = {k.slug: k for k in KPI.objects.filter(org=org, slug__in=formula_lang.references(node))}
    stored = StoredRows(org, period.key, [("t", root.pk)])
    values: dict[str, float | None] = {
        slug: stored.row(k, ("t", root.pk))["actual"] for slug, k in named.items()
    }
    months = (period.end.year - period.start.year) * 12 + period.end.month - period.start.month + 1
    values[formula_lang.PERIOD_MONTHS] = float(months)
    value = formula_lang.evaluate(node, values)
    return {
        "period": period,
        "root": root,
        "inputs": [
            (named[s].name, kpi_value(v, named[s].unit, org.currency))
            for s, v in values.items()
            if s in named
        ],
        "value": None if value is None else kpi_value(value, unit or "number", org.currency),
    }


def _int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        return -1
