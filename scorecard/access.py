"""The one place that answers "may this user see / change this object?".

Every view and API starts here. Rules:
- Objects of another organisation, or outside the user's scope, are 404 (their existence is not confirmed).
- admin: sees and changes everything in the organisation.
- viewer: sees everything, changes nothing.
- manager: sees the territory subtree of the membership (its reps and their deals), and may change
  notes and targets there, and the deals, certifications and programme participation of its reps;
  never the KPI definitions or the tree itself.
- rep: sees own rep record, own opportunities, certifications and programme participation, and changes them.
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404, HttpRequest
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from people.models import Certification, ProgramParticipation
from sales.models import Opportunity
from territories.models import Rep, Territory, TerritoryAssignment

from .models import Membership, Organization, Role

SESSION_ORG_KEY = "org_id"


def memberships_of(user) -> list[Membership]:
    """The user's active memberships (a deactivated one no longer reaches its organisation)."""
    if not user.is_authenticated:
        return []
    cached = getattr(user, "_memberships_cache", None)
    if cached is None:
        cached = list(
            Membership.objects.filter(user=user, active=True)
            .select_related("org", "territory", "rep")
            # Whether the user owes the second sign-in step (twofactor), in the same query.
            .annotate(
                user_has_authenticator=Exists(
                    TOTPDevice.objects.filter(user_id=OuterRef("user_id"), confirmed=True)
                )
            )
            .order_by("org__name")
        )
        user._memberships_cache = cached
    return cached


def current_membership(request: HttpRequest) -> Membership | None:
    """The membership for the organisation the user is working in (chosen in the session)."""
    memberships = memberships_of(request.user)
    if not memberships:
        return None
    wanted = request.session.get(SESSION_ORG_KEY) if hasattr(request, "session") else None
    for m in memberships:
        if m.org_id == wanted:
            return m
    return memberships[0]


def require_membership(request: HttpRequest) -> Membership:
    membership = current_membership(request)
    if membership is None:
        raise Http404("You are not a member of any organisation.")
    return membership


def switch_org(request: HttpRequest, org_id: int) -> Membership:
    for m in memberships_of(request.user):
        if m.org_id == org_id:
            request.session[SESSION_ORG_KEY] = org_id
            return m
    raise Http404("No such organisation.")


def is_admin(m: Membership) -> bool:
    return m.role == Role.ADMIN


def can_edit_definitions(m: Membership) -> bool:
    """KPI definitions, the territory tree, imports, users: sales ops only."""
    return m.role == Role.ADMIN


# --- querysets of what a membership may see -----------------------------------------------------


def visible_territories(m: Membership) -> QuerySet[Territory]:
    qs = Territory.objects.filter(org=m.org)
    if m.role in (Role.ADMIN, Role.VIEWER):
        return qs
    if m.role == Role.MANAGER and m.territory is not None:
        return qs.filter(path__startswith=m.territory.path)
    if m.role == Role.REP and m.rep_id is not None:
        return qs.filter(assignments__rep_id=m.rep_id).distinct()
    return qs.none()


def visible_reps(m: Membership) -> QuerySet[Rep]:
    qs = Rep.objects.filter(org=m.org)
    if m.role in (Role.ADMIN, Role.VIEWER):
        return qs
    if m.role == Role.MANAGER and m.territory is not None:
        return qs.filter(
            assignments__territory__path__startswith=m.territory.path, assignments__territory__org=m.org
        ).distinct()
    if m.role == Role.REP:
        return qs.filter(pk=m.rep_id or 0)
    return qs.none()


def visible_opportunities(m: Membership) -> QuerySet[Opportunity]:
    qs = Opportunity.objects.filter(org=m.org)
    if m.role in (Role.ADMIN, Role.VIEWER):
        return qs
    if m.role == Role.MANAGER:
        return qs.filter(_credited_to_subtree(m)) if m.territory is not None else qs.none()
    if m.role == Role.REP:
        return qs.filter(Q(rep_id=m.rep_id) | Q(identified_by_id=m.rep_id))
    return qs.none()


def _credited_to_subtree(m: Membership) -> Q:
    """A manager's deals are the deals credited to the subtree: the rep was assigned inside it on the
    close date (today for an open deal), or, failing that, the deal's credited territory is inside it.
    A rep who once worked here does not bring the deals they close elsewhere."""
    assert m.territory is not None
    path = m.territory.path
    inside = TerritoryAssignment.objects.filter(
        rep=OuterRef("rep"), territory__path__startswith=path, territory__org=m.org
    )

    def assigned_on(day) -> Exists:
        return Exists(inside.filter(start__lte=day).filter(Q(end__isnull=True) | Q(end__gte=day)))

    return (
        Q(close_date__isnull=False, rep__isnull=False) & Q(assigned_on(OuterRef("close_date")))
        | Q(close_date__isnull=True, rep__isnull=False) & Q(assigned_on(timezone.localdate()))
        | Q(territory__path__startswith=path, territory__org=m.org)
    )


def entry_reps(m: Membership) -> QuerySet[Rep]:
    """The reps whose deals, certifications and programme participation the membership may enter and
    change: every rep for an admin, the subtree's reps for a manager, their own record for a rep."""
    if m.role == Role.VIEWER:
        return Rep.objects.none()
    return visible_reps(m)


def _rep_records(m: Membership, qs: QuerySet) -> QuerySet:
    if m.role in (Role.ADMIN, Role.VIEWER):
        return qs
    if m.role == Role.MANAGER:
        return qs.filter(rep__in=visible_reps(m))
    if m.role == Role.REP:
        return qs.filter(rep_id=m.rep_id or 0)
    return qs.none()


def visible_certifications(m: Membership) -> QuerySet[Certification]:
    return _rep_records(m, Certification.objects.filter(org=m.org))


def visible_participations(m: Membership) -> QuerySet[ProgramParticipation]:
    return _rep_records(m, ProgramParticipation.objects.filter(org=m.org))


# --- single objects: (object, may_write) or 404 -------------------------------------------------


def _get_or_404(qs: QuerySet, pk):
    try:
        return qs.get(pk=pk)
    except (qs.model.DoesNotExist, ValueError, TypeError):
        raise Http404(f"No {qs.model._meta.verbose_name} matches the given query.") from None


def get_org_for(request: HttpRequest) -> tuple[Organization, bool]:
    m = require_membership(request)
    return m.org, is_admin(m)


def get_territory_for(request: HttpRequest, pk) -> tuple[Territory, bool]:
    m = require_membership(request)
    territory = _get_or_404(visible_territories(m), pk)
    return territory, is_admin(m)


def get_rep_for(request: HttpRequest, pk) -> tuple[Rep, bool]:
    m = require_membership(request)
    rep = _get_or_404(visible_reps(m), pk)
    _seen_reps(m)[rep.pk] = True
    return rep, is_admin(m) or (m.role == Role.REP and rep.pk == m.rep_id)


def _seen_reps(m: Membership) -> dict[int, bool]:
    # Answers for this membership object, which lives as long as the request (see memberships_of).
    return m.__dict__.setdefault("_seen_reps", {})


def sees_rep(m: Membership, rep: Rep) -> bool:
    """Whether the membership sees the rep; a rep just fetched through ``get_rep_for`` costs no query."""
    seen = _seen_reps(m)
    if rep.pk not in seen:
        seen[rep.pk] = rep.org_id == m.org_id and visible_reps(m).filter(pk=rep.pk).exists()
    return seen[rep.pk]


def get_opportunity_for(request: HttpRequest, pk) -> tuple[Opportunity, bool]:
    m = require_membership(request)
    opp = _get_or_404(visible_opportunities(m), pk)
    # A manager sees only the subtree's reps' deals, so every deal they see is theirs to change; a rep
    # also sees the deals they identified for someone else, but changes only their own.
    return opp, is_admin(m) or m.role == Role.MANAGER or (m.role == Role.REP and opp.rep_id == m.rep_id)


def get_certification_for(request: HttpRequest, pk) -> tuple[Certification, bool]:
    m = require_membership(request)
    certification = _get_or_404(visible_certifications(m), pk)
    return certification, m.role != Role.VIEWER


def get_participation_for(request: HttpRequest, pk) -> tuple[ProgramParticipation, bool]:
    m = require_membership(request)
    participation = _get_or_404(visible_participations(m), pk)
    return participation, m.role != Role.VIEWER


def may_manage_territory(m: Membership, territory: Territory) -> bool:
    """Targets and coaching notes: admins anywhere, managers inside their subtree."""
    if territory.org_id != m.org_id:
        return False
    if m.role == Role.ADMIN:
        return True
    return m.role == Role.MANAGER and m.territory is not None and territory.path.startswith(m.territory.path)
