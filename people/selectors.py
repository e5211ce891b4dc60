"""Reads for certifications and programme participation, starting from what the membership may see
(``scorecard.access``)."""

from __future__ import annotations

from datetime import date, timedelta

from django.db.models import QuerySet

from scorecard import access
from scorecard.models import Membership, Role
from territories.models import Rep

from .models import Certification, ProgramParticipation

EXPIRING_WITHIN_DAYS = 60


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


def certifications_expiring(
    m: Membership, rep: Rep, today: date, held: list[Certification] | None = None
) -> list[Certification]:
    """The rep's certifications expiring from today to ``EXPIRING_WITHIN_DAYS`` days ahead, soonest first,
    leaving out those already renewed (a later certification of the same type that outlasts them).
    ``held``: the rep's certifications when the page has read them already (no query then)."""
    if held is None:
        held = list(access.visible_certifications(m).filter(rep=rep).select_related("type"))
    horizon = today + timedelta(days=EXPIRING_WITHIN_DAYS)
    expiring = sorted(
        (c for c in held if c.expires is not None and today <= c.expires <= horizon),
        key=lambda c: (c.expires, c.type.name),
    )
    return [
        c
        for c in expiring
        if not any(
            other.type_id == c.type_id
            and other.pk != c.pk
            and other.earned >= c.earned
            and (other.expires is None or other.expires > c.expires)  # type: ignore[operator]
            for other in held
        )
    ]
