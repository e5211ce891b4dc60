"""Coaching notes, action items and review comments on a rep, KPI or objective for a period: the panel
the scorecard and KPI detail pages include (``notes_panel``), and its two writes.

``/notes/?period=KEY&rep=ID`` (or ``&territory=ID``, and ``&kpi=SLUG`` or ``&objective=ID`` for a panel
about one of them) serves the panel on its own: an htmx request gets the fragment the pages swap in,
a plain request a page. ``POST /notes/`` adds a note (``about=kpi:SLUG`` or ``about=objective:ID`` picks
what a rep's or territory's note is about) and ``POST /notes/<id>/done/`` ticks an action item off; an
htmx request gets the panel back, a plain form post goes back to ``next`` (the page the panel was on).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q
from django.http import Http404, HttpResponse, HttpResponseBadRequest, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_POST

from kpis import selectors, services
from kpis.models import KPI, Note, NoteKind
from perspectives.models import Objective
from scorecard import access, periods
from scorecard.decorators import MembershipRequest, membership_required
from scorecard.models import Membership, Role
from territories.models import Rep, Territory, TerritoryAssignment

# Objectives in order, each with its active KPIs: what a note can be about.
Outline = Sequence[tuple[Objective, Sequence[KPI]]]


def subject_for(period: str, scope: Territory | Rep, *, kpi: KPI | None = None) -> dict[str, Any]:
    """The panel's subject on a page: a territory's or a rep's notes in the period (about one KPI)."""
    return {
        "period": period,
        "territory": scope if isinstance(scope, Territory) else None,
        "rep": scope if isinstance(scope, Rep) else None,
        "kpi": kpi,
        "objective": None,
    }


def _subject(request: MembershipRequest, params: QueryDict) -> dict[str, Any]:
    """The note panel's subject from request parameters (404 for anything the user may not see)."""
    org = request.membership.org
    try:
        period = org.parse_period(params.get("period", "")).key
    except periods.PeriodError:
        raise Http404("unknown period") from None
    scope: Territory | Rep
    if params.get("rep"):
        scope, _ = access.get_rep_for(request, params["rep"])
    elif params.get("territory"):
        scope, _ = access.get_territory_for(request, params["territory"])
    else:
        raise Http404("a note panel is about a territory or a rep")
    subject = subject_for(period, scope)
    if params.get("kpi"):
        subject["kpi"] = _kpi(request.membership, str(params["kpi"]))
    if params.get("objective"):
        subject["objective"] = _objective(request.membership, str(params["objective"]))
    return subject


def _kpi(m: Membership, slug: str) -> KPI:
    kpi = KPI.objects.filter(org=m.org, slug=slug).first()
    if kpi is None:
        raise Http404("unknown KPI")
    return kpi


def _objective(m: Membership, pk: str) -> Objective:
    objective = Objective.objects.filter(org=m.org, pk=_int(pk)).first()
    if objective is None:
        raise Http404("unknown objective")
    return objective


def _about(m: Membership, value: str) -> dict[str, Any]:
    """What a new note is about, from the form's ``about`` choice (``kpi:SLUG`` or ``objective:ID``)."""
    kind, _, key = value.partition(":")
    if not value:
        return {}
    if kind == "kpi":
        return {"kpi": _kpi(m, key)}
    if kind == "objective":
        return {"objective": _objective(m, key)}
    raise Http404("unknown subject")


def _int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise Http404("not an id") from None


def _query(subject: dict[str, Any], *, scope_only: bool = False) -> str:
    values = {
        "period": subject["period"],
        "territory": subject["territory"].pk if subject["territory"] else "",
        "rep": subject["rep"].pk if subject["rep"] else "",
    }
    if not scope_only:
        values["kpi"] = subject["kpi"].slug if subject["kpi"] else ""
        values["objective"] = subject["objective"].pk if subject["objective"] else ""
    return urlencode({k: v for k, v in values.items() if v != ""})


def _owners(m: Membership, subject: dict[str, Any]) -> list:
    """Who may own an action item: the active members who can see what it is about — the
    organisation's admins, the managers of its territory or of one above it (for a rep: of a territory
    the rep was ever assigned to), and the rep concerned."""
    rep, territory = subject["rep"], subject["territory"]
    manages: Q | Exists
    if rep is not None:  # a manager of a territory at or above one the rep was assigned to
        manages = Exists(
            TerritoryAssignment.objects.filter(
                rep=rep, territory__org=m.org, territory__path__startswith=OuterRef("territory__path")
            )
        )
    else:
        path = territory.path if territory is not None else ""
        above = [path[:end] for end in range(Territory.steplen, len(path) + 1, Territory.steplen)]
        manages = Q(territory__path__in=above)
    members = Membership.objects.filter(org=m.org, active=True, user__is_active=True).filter(
        Q(role=Role.ADMIN) | (Q(role=Role.MANAGER) & manages)
    )
    users = get_user_model().objects.filter(pk__in=members.values("user_id"))
    if rep is not None and rep.user_id:
        users = users | get_user_model().objects.filter(pk=rep.user_id, is_active=True)
    return list(users.distinct().order_by("first_name", "last_name", "username"))


def _about_choices(outline: Outline, *, objectives: bool) -> list[tuple[str, list[tuple[str, str]]]]:
    """The ``about`` options grouped by perspective: KPIs, and (review comments) the objectives too."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for objective, kpis in outline:
        options = groups.setdefault(objective.perspective.name, [])
        if objectives:
            options.append((f"objective:{objective.pk}", f"Objective: {objective.name}"))
        options.extend((f"kpi:{kpi.slug}", kpi.name) for kpi in kpis)
    return [(name, options) for name, options in groups.items() if options]


def _outline(m: Membership) -> Outline:
    objectives, by_objective = selectors.scorecard_definitions(m.org)
    return [(o, by_objective.get(o.pk, [])) for o in objectives]


@dataclass
class NotesPanel:
    """What the panel template shows: the notes on a subject, and the form for those who may write."""

    subject: dict[str, Any]
    notes: list[Note]
    may_write: bool
    kinds: list[tuple[str, str]]
    owners: list
    about_choices: list[tuple[str, list[tuple[str, str]]]]
    query: str  # the subject as query parameters
    scope_query: str  # the period and the territory or rep, for links to a KPI's detail page
    next_url: str  # where a plain form post goes back to
    today: date
    user_id: int
    errors: dict[str, list[str]] = field(default_factory=dict)
    values: Any = field(default_factory=dict)

    @property
    def general_errors(self) -> list[str]:
        return self.errors.get("__all__", [])

    @property
    def about_required(self) -> bool:
        """A territory's notes are review comments on a KPI or an objective: the form must name one."""
        return self.subject["rep"] is None


def notes_panel(
    request: MembershipRequest,
    subject: dict[str, Any],
    *,
    outline: Outline | None = None,
    next_url: str = "",
    errors: dict[str, list[str]] | None = None,
    values: Any = None,
) -> NotesPanel:
    """The panel on ``subject`` for this user. ``outline`` (objectives with their KPIs, as the page has
    them) spares reading the definitions again for the form's ``about`` choice."""
    m = request.membership
    may_write = services.may_write_note(m, territory=subject["territory"], rep=subject["rep"])
    is_rep = subject["rep"] is not None
    kinds = [NoteKind.COACHING, NoteKind.ACTION] if is_rep else [NoteKind.COMMENT, NoteKind.ACTION]
    choices: list[tuple[str, list[tuple[str, str]]]] = []
    if may_write and subject["kpi"] is None and subject["objective"] is None:
        choices = _about_choices(_outline(m) if outline is None else outline, objectives=not is_rep)
    return NotesPanel(
        subject=subject,
        notes=selectors.notes_about(m, **subject),
        may_write=may_write,
        kinds=[(k.value, k.label) for k in kinds],
        owners=_owners(m, subject) if may_write else [],
        about_choices=choices,
        query=_query(subject),
        scope_query=_query(subject, scope_only=True),
        next_url=next_url,
        today=timezone.localdate(),
        user_id=m.user_id,
        errors=errors or {},
        values=values or {},
    )


def _next(request: MembershipRequest, params: QueryDict) -> str:
    """The page to go back to after a plain form post: ``next`` when it is a path on this site."""
    url = str(params.get("next", ""))
    safe = url_has_allowed_host_and_scheme(url, {request.get_host()}, require_https=request.is_secure())
    return url if safe and url.startswith("/") else ""


def _render(request: MembershipRequest, panel: NotesPanel, status: int = 200) -> HttpResponse:
    template = "kpis/notes.html#panel" if request.htmx else "kpis/notes.html"
    return render(request, template, {"panel": panel}, status=status)


def _back(request: MembershipRequest, subject: dict[str, Any]) -> HttpResponse:
    """After a write: the panel for htmx, else the page the form was on (or the panel's own page)."""
    if request.htmx:
        return _render(request, notes_panel(request, subject, next_url=_next(request, request.POST)))
    url = _next(request, request.POST) or f"{reverse('notes')}?{_query(subject)}"
    return redirect(url if "#" in url else f"{url}#notes-panel")


@membership_required
def notes(request: MembershipRequest) -> HttpResponse:
    if request.method == "POST":
        return _create(request)
    subject = _subject(request, request.GET)
    return _render(request, notes_panel(request, subject, next_url=_next(request, request.GET)))


def _create(request: MembershipRequest) -> HttpResponse:
    subject = _subject(request, request.POST)
    post = request.POST
    m = request.membership

    def refused(errors: dict[str, list[str]]) -> HttpResponse:
        panel = notes_panel(request, subject, next_url=_next(request, post), errors=errors, values=post)
        return _render(request, panel, status=400)

    owner = None
    if post.get("owner"):
        owner = next((u for u in _owners(m, subject) if str(u.pk) == post["owner"]), None)
    try:
        due = date.fromisoformat(post["due_date"]) if post.get("due_date") else None
    except ValueError:
        return refused({"due_date": ["Enter a date as YYYY-MM-DD."]})
    about = {"kpi": subject["kpi"], "objective": subject["objective"]}
    if about["kpi"] is None and about["objective"] is None:
        about.update(_about(m, str(post.get("about", ""))))
    try:
        services.note_create(
            membership=m,
            kind=post.get("kind", ""),
            text=post.get("text", ""),
            owner=owner,
            due_date=due,
            **{**subject, **about},
        )
    except ValidationError as exc:
        return refused(exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages})
    return _back(request, subject)


@require_POST
@membership_required
def note_done(request: MembershipRequest, pk: int) -> HttpResponse:
    note = selectors.visible_notes(request.membership).filter(pk=pk).first()
    if note is None:
        raise Http404("no such note")
    subject = _subject(request, request.POST)
    try:
        services.note_done_set(membership=request.membership, note=note, done=request.POST.get("done") == "1")
    except ValidationError as exc:
        return HttpResponseBadRequest(" ".join(exc.messages))
    return _back(request, subject)
