"""Reads for certifications and programme participation, starting from what the membership may see
(``scorecard.access``)."""

from __future__ import annotations

from django.db.models import QuerySet

from scorecard import access
from scorecard.models import Membership, Role
from territories.models import Rep

from .models import Certification, ProgramParticipation


def _own_or_one(qs: QuerySet, m: Membership, rep: Rep | None) -> QuerySet:
    if m.role == Role.REP:
        return qs.filter(rep_id=m.rep_id or 0)
    return qs if rep is None else qs.filter(rep=rep)


def entry_certifications(m: Membership, rep: Rep | None = None) -> QuerySet[Certification]:
    """The certifications listed on the entry page, latest earned first: a rep's own, else every visible
    one, or one visible rep's."""
    qs = access.visible_certifications(m).select_related("rep", "type")
    return _own_or_one(qs, m, rep).order_by("-earned", "-pk")


def entry_participations(m: Membership, rep: Rep | None = None) -> QuerySet[ProgramParticipation]:
    """The programme participations listed on the entry page, latest start first."""
    qs = access.visible_participations(m).select_related("rep", "program")
    return _own_or_one(qs, m, rep).order_by("-start", "-pk")
