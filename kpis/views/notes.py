"""Coaching notes, action items and review comments on a rep, KPI or objective for a period: a panel
that pages load with htmx (or open as a page of its own without JavaScript), and its two writes."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from kpis import selectors, services
from kpis.models import KPI, NoteKind
from perspectives.models import Objective
from scorecard import access, periods
from scorecard.decorators import MembershipRequest, membership_required
from scorecard.models import Membership, Role

SUBJECT_FIELDS = ("period", "territory", "rep", "kpi", "objective")


def _subject(request: MembershipRequest, params: QueryDict) -> dict[str, Any]:
    """The note panel's subject from request parameters (404 for anything the user may not see)."""
    org = request.membership.org
    try:
        period = org.parse_period(params.get("period", "")).key
    except periods.PeriodError:
        raise Http404("unknown period") from None
    subject: dict[str, Any] = {
        "period": period,
        "territory": None,
        "rep": None,
        "kpi": None,
        "objective": None,
    }
    if params.get("rep"):
        subject["rep"], _ = access.get_rep_for(request, params["rep"])
    elif params.get("territory"):
        subject["territory"], _ = access.get_territory_for(request, params["territory"])
    else:
        raise Http404("a note panel is about a territory or a rep")
    if params.get("kpi"):
        subject["kpi"] = KPI.objects.filter(org=org, slug=params["kpi"]).first()
        if subject["kpi"] is None:
            raise Http404("unknown KPI")
    if params.get("objective"):
        subject["objective"] = Objective.objects.filter(org=org, pk=_int(params.get("objective", ""))).first()
        if subject["objective"] is None:
            raise Http404("unknown objective")
    return subject


def _int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise Http404("not an id") from None


def _query(subject: dict[str, Any]) -> str:
    values = {
        "period": subject["period"],
        "territory": subject["territory"].pk if subject["territory"] else "",
        "rep": subject["rep"].pk if subject["rep"] else "",
        "kpi": subject["kpi"].slug if subject["kpi"] else "",
        "objective": subject["objective"].pk if subject["objective"] else "",
    }
    return urlencode({k: v for k, v in values.items() if v != ""})


def _owners(m: Membership, subject: dict[str, Any]) -> list:
    """Who may own an action item: the organisation's admins and managers, and the rep concerned."""
    users = get_user_model().objects.filter(
        memberships__org=m.org, memberships__role__in=[Role.ADMIN, Role.MANAGER]
    )
    rep = subject["rep"]
    if rep is not None and rep.user_id:
        users = users | get_user_model().objects.filter(pk=rep.user_id)
    return list(users.distinct().order_by("first_name", "last_name", "username"))


def _panel(request: MembershipRequest, subject: dict[str, Any], errors=None, values=None, status=200):
    m = request.membership
    may_write = services.may_write_note(m, territory=subject["territory"], rep=subject["rep"])
    kinds = (
        [NoteKind.COACHING, NoteKind.ACTION]
        if subject["rep"] is not None
        else [NoteKind.COMMENT, NoteKind.ACTION]
    )
    context = {
        "subject": subject,
        "notes": selectors.notes_about(m, **subject),
        "may_write": may_write,
        "kinds": [(k.value, k.label) for k in kinds],
        "owners": _owners(m, subject) if may_write else [],
        "query": _query(subject),
        "errors": errors or {},
        "general_errors": (errors or {}).get("__all__", []),
        "values": values or {},
        "user_id": m.user_id,
    }
    template = "kpis/notes.html#panel" if request.htmx else "kpis/notes.html"
    return render(request, template, context, status=status)


@membership_required
def notes(request: MembershipRequest) -> HttpResponse:
    if request.method == "POST":
        return _create(request)
    return _panel(request, _subject(request, request.GET))


def _create(request: MembershipRequest) -> HttpResponse:
    subject = _subject(request, request.POST)
    post = request.POST
    owner = None
    if post.get("owner"):
        owner = next((u for u in _owners(request.membership, subject) if str(u.pk) == post["owner"]), None)
    try:
        due = date.fromisoformat(post["due_date"]) if post.get("due_date") else None
    except ValueError:
        return _panel(request, subject, {"due_date": ["Enter a date as YYYY-MM-DD."]}, post, status=400)
    try:
        services.note_create(
            membership=request.membership,
            kind=post.get("kind", ""),
            text=post.get("text", ""),
            owner=owner,
            due_date=due,
            **subject,
        )
    except ValidationError as exc:
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
        return _panel(request, subject, errors, post, status=400)
    if request.htmx:
        return _panel(request, subject)
    return redirect(f"{reverse('notes')}?{_query(subject)}")


@require_POST
@membership_required
def note_done(request: MembershipRequest, pk: int) -> HttpResponse:
    note = selectors.visible_notes(request.membership).filter(pk=pk).first()
    if note is None:
        raise Http404("no such note")
    subject = _subject(request, request.POST)  # before the write: a panel that cannot be shown is a 404
    try:
        services.note_done_set(membership=request.membership, note=note, done=request.POST.get("done") == "1")
    except ValidationError as exc:
        return _panel(request, subject, {"__all__": exc.messages}, status=400)
    if request.htmx:
        return _panel(request, subject)
    return redirect(f"{reverse('notes')}?{_query(subject)}")
