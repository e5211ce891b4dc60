"""Reads for the organisation core's admin pages: its members and the history of their memberships."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import QuerySet

from . import access, history
from .models import Membership, Organization, Role


def members(org: Organization) -> QuerySet[Membership]:
    """The organisation's memberships, active first, by name, with their users and scopes."""
    return (
        Membership.objects.filter(org=org)
        .select_related("user", "territory", "rep")
        .order_by("-active", "user__first_name", "user__last_name", "user__username")
    )


def _name(user) -> str:
    return user.get_full_name() or user.get_username()


def membership_history(admin: Membership, membership: Membership | None = None) -> list[history.Entry]:
    """Invitations, role and scope changes, deactivations in the admin's organisation (of one membership
    or all), newest first."""
    rows = Membership.history.filter(org_id=admin.org_id)
    if membership is not None:
        rows = rows.filter(id=membership.pk)
    pairs = history.paired(history.newest(rows))
    territory_ids = {r.territory_id for pair in pairs for r in pair if r is not None and r.territory_id}
    rep_ids = {r.rep_id for pair in pairs for r in pair if r is not None and r.rep_id}
    territories = dict(
        access.visible_territories(admin).filter(pk__in=territory_ids).values_list("pk", "full_name")
    )
    reps = dict(access.visible_reps(admin).filter(pk__in=rep_ids).values_list("pk", "name"))
    users = {u.pk: _name(u) for u in get_user_model().objects.filter(pk__in={r.user_id for r, _ in pairs})}
    roles = dict(Role.choices)

    def scope(record) -> str:
        if record.territory_id:
            return f" of {territories.get(record.territory_id, 'a deleted territory')}"
        if record.rep_id:
            return f" ({reps.get(record.rep_id, 'a deleted rep')})"
        return ""

    def what(record, previous) -> str:
        role = f"{roles.get(record.role, record.role)}{scope(record)}"
        if record.history_type == history.CREATED:
            return f"Joined as {role}"
        if record.history_type == history.DELETED:
            return "Removed from the organisation"
        if previous is None:
            return f"Changed: now {role}"
        parts = []
        if (previous.role, previous.territory_id, previous.rep_id) != (
            record.role,
            record.territory_id,
            record.rep_id,
        ):
            parts.append(f"Role {roles.get(previous.role, previous.role)}{scope(previous)} → {role}")
        if previous.active != record.active:
            parts.append("Reactivated" if record.active else "Deactivated")
        return "; ".join(parts) or "Saved unchanged"

    return history.from_pairs(pairs, what, lambda r: users.get(r.user_id, "—"))
