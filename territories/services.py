"""Writes for the territory tree, reps and assignments."""

from __future__ import annotations

from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from treebeard.exceptions import InvalidMoveToDescendant, InvalidPosition

from .models import PATH_SEPARATOR, Rep, Territory, TerritoryAssignment
from .signals import tree_changed

POSITIONS = ("sorted-child", "sorted-sibling")  # the tree is ordered by name (Territory.node_order_by)


def split_path(path: str) -> list[str]:
    names = [part.strip() for part in path.split(PATH_SEPARATOR)]
    if not path.strip() or any(not n for n in names):
        raise ValidationError(
            f"Invalid territory path {path!r}: names joined by {PATH_SEPARATOR!r}, none empty."
        )
    return names


def territory_root_create(*, org, name: str) -> Territory:
    name = name.strip()
    if Territory.objects.get_root_nodes().filter(org=org).exists():
        raise ValidationError(f"{org} already has a root territory.")
    return Territory.objects.add_root({"org": org, "name": name, "full_name": name})


def _clean_name(name: str) -> str:
    name = name.strip()
    if not name or PATH_SEPARATOR in name:
        raise ValidationError(f"Invalid territory name {name!r}.")
    return name


def territory_child_create(*, parent: Territory, name: str, owner=None, owner_name: str = "") -> Territory:
    name = _clean_name(name)
    return Territory.objects.add_child(
        parent,
        {
            "org_id": parent.org_id,
            "name": name,
            "full_name": f"{parent.full_name}{PATH_SEPARATOR}{name}",
            "owner": owner,
            "owner_name": owner_name,
        },
    )


@transaction.atomic
def territory_get_or_create_path(
    *, org, path: str | list[str], cache: dict[str, Territory] | None = None
) -> Territory:
    """The territory at ``path`` (names from the root), creating missing nodes.

    The first name is the root's: an organisation without territories takes it as its root name;
    a different first name is an error.
    """
    names = split_path(path) if isinstance(path, str) else list(path)
    full = PATH_SEPARATOR.join(names)
    if cache is not None and full in cache:
        return cache[full]
    existing = Territory.objects.filter(org=org, full_name=full).first()
    if existing is not None:
        if cache is not None:
            cache[full] = existing
        return existing
    root = Territory.objects.get_root_nodes().filter(org=org).first()
    if root is None:
        root = territory_root_create(org=org, name=names[0])
    elif root.name != names[0]:
        raise ValidationError(f"Territory path {full!r} must start with the root territory {root.name!r}.")
    node = root
    for i in range(1, len(names)):
        prefix = PATH_SEPARATOR.join(names[: i + 1])
        child = (cache or {}).get(prefix) or Territory.objects.filter(org=org, full_name=prefix).first()
        if child is None:
            node.refresh_from_db()  # treebeard needs the parent's current numchild
            child = territory_child_create(parent=node, name=names[i])
        if cache is not None:
            cache[prefix] = child
        node = child
    return node


def _recorded(instance, *, user=None, reason: str = ""):
    """Tell django-simple-history who made the change (when not in a request) and why."""
    if user is not None:
        instance._history_user = user
    if reason:
        instance._change_reason = reason
    return instance


@transaction.atomic
def territory_add(*, parent: Territory, name: str) -> Territory:
    """A new territory below ``parent`` (the editor's "add"): names are unique among siblings, and a
    retired territory takes no new ones."""
    parent.refresh_from_db()
    if parent.retired_on is not None:
        raise ValidationError(
            {"name": f"{parent.full_name} is retired: add territories under an active one."}
        )
    name = _clean_name(name)
    _check_name_free(parent, name)
    return territory_child_create(parent=parent, name=name)


def _check_name_free(parent: Territory, name: str) -> None:
    full_name = _path_name(parent, name)
    if Territory.objects.filter(org_id=parent.org_id, full_name=full_name).exists():
        raise ValidationError({"name": f"{full_name} already exists."})


@transaction.atomic
def territory_retire(*, territory: Territory, on: date, user=None, reason: str = "") -> Territory:
    """Retire ``territory`` from the day ``on``: it takes no assignment running on or after that day and
    is not offered for new ones, but it keeps its place in the tree, its history, and the figures of
    the periods before (nothing is deleted, so nothing is recomputed).

    Refused for the root, while territories below it are still active, and while reps are assigned to
    it on or after ``on`` (move them first: their deals would go to the root).
    """
    territory.refresh_from_db()
    if territory.is_root():
        raise ValidationError({"on": "The root is the whole organisation and cannot be retired."})
    active_below = Territory.objects.filter(
        org_id=territory.org_id, path__startswith=territory.path, depth__gt=territory.depth
    ).filter(Q(retired_on__isnull=True) | Q(retired_on__gt=on))
    if active_below.exists():
        names = ", ".join(t.name for t in active_below.order_by("path")[:5])
        raise ValidationError(
            {
                "on": f"Retire or move the territories below it first ({names}{', …' if active_below.count() > 5 else ''})."
            }
        )
    assigned = (
        TerritoryAssignment.objects.filter(territory=territory)
        .filter(Q(end__isnull=True) | Q(end__gte=on))
        .select_related("rep")
        .order_by("rep__name")
    )
    if assigned.exists():
        reps = ", ".join(sorted({a.rep.name for a in assigned[:20]}))
        raise ValidationError(
            {
                "on": f"Reps are assigned to it on or after {on:%Y-%m-%d} ({reps}): assign them elsewhere first."
            }
        )
    territory.retired_on = on
    _recorded(territory, user=user, reason=reason).save(update_fields=["retired_on"])
    return territory


@transaction.atomic
def territory_reinstate(*, territory: Territory, user=None, reason: str = "") -> Territory:
    """Undo a retirement: the territory takes assignments again (its parent must be active)."""
    territory.refresh_from_db()
    parent = Territory.objects.get_parent(territory, update=True)
    if parent is not None and parent.retired_on is not None:
        raise ValidationError({"on": f"{parent.full_name} is retired: reinstate it first."})
    territory.retired_on = None
    _recorded(territory, user=user, reason=reason).save(update_fields=["retired_on"])
    return territory


def assignment_create(
    *, rep: Rep, territory: Territory, start: date, end: date | None = None
) -> TerritoryAssignment:
    if territory.org_id != rep.org_id:
        raise ValidationError("The rep and the territory belong to different organisations.")
    assignment = TerritoryAssignment(org_id=rep.org_id, rep=rep, territory=territory, start=start, end=end)
    assignment.full_clean()
    assignment.save()
    return assignment


def _path_name(parent: Territory | None, name: str) -> str:
    return f"{parent.full_name}{PATH_SEPARATOR}{name}" if parent is not None else name


def _check_path_free(territory: Territory, full_name: str) -> None:
    clash = Territory.objects.filter(org_id=territory.org_id, full_name=full_name).exclude(pk=territory.pk)
    if clash.exists():
        raise ValidationError(f"{full_name!r} already exists.")


def _refresh_subtree_names(territory: Territory) -> None:
    """Recompute ``full_name`` (names from the root joined by "/") of ``territory`` and all below it."""
    territory.refresh_from_db()
    parent = Territory.objects.get_parent(territory, update=True)
    names: dict[str, str] = {}
    changed = []
    subtree = Territory.objects.filter(org_id=territory.org_id, path__startswith=territory.path)
    for node in subtree.order_by("path"):
        above = parent if node.pk == territory.pk else None
        prefix = above.full_name if above is not None else names.get(node.path[: -Territory.steplen])
        full_name = f"{prefix}{PATH_SEPARATOR}{node.name}" if prefix else node.name
        names[node.path] = full_name
        if node.full_name != full_name:
            node.full_name = full_name
            changed.append(node)
    Territory.objects.bulk_update(changed, ["full_name"])
    territory.refresh_from_db()


@transaction.atomic
def territory_move(
    *, territory: Territory, target: Territory, position: str, user=None, reason: str = ""
) -> Territory:
    """Move ``territory`` and its subtree under (``"sorted-child"``) or beside (``"sorted-sibling"``)
    ``target``, inside its organisation's one tree; path names below are renamed and the organisation's
    rollups are marked stale (``tree_changed``)."""
    territory.refresh_from_db()
    target.refresh_from_db()
    if position not in POSITIONS:
        raise ValidationError(f"Invalid position {position!r}: use one of {', '.join(POSITIONS)}.")
    if target.org_id != territory.org_id:
        raise ValidationError("A territory can only be placed in its own organisation's tree.")
    if position == "sorted-sibling" and target.is_root():
        raise ValidationError("An organisation has one root territory; place this one below it.")
    if target.pk == territory.pk or target.is_descendant_of(territory):
        raise ValidationError("A territory cannot be placed below itself.")
    parent = target if position == "sorted-child" else Territory.objects.get_parent(target, update=True)
    if parent is not None and parent.retired_on is not None and territory.retired_on is None:
        raise ValidationError(f"{parent.full_name} is retired: place active territories under an active one.")
    old_parent = Territory.objects.get_parent(territory, update=True)
    if parent is not None and old_parent is not None and parent.pk == old_parent.pk:
        return territory  # same parent: siblings are ordered by name, so nothing moves
    _check_path_free(territory, _path_name(parent, territory.name))
    try:
        Territory.objects.move(territory, target, pos=position)
    except (InvalidMoveToDescendant, InvalidPosition) as exc:
        raise ValidationError(str(exc)) from exc
    _refresh_subtree_names(territory)
    # treebeard moves with queryset updates, which write no history: record the moved node itself (the
    # territories below it follow their parent; their paths are not changes of their own).
    _recorded(territory, user=user, reason=reason).save(update_fields=["full_name"])
    tree_changed.send(sender=Territory, org_id=territory.org_id)
    return territory


@transaction.atomic
def territory_rename(*, territory: Territory, name: str, user=None, reason: str = "") -> Territory:
    """Rename ``territory``: it keeps its place among its siblings (ordered by name) and the path names
    below it follow; the organisation's rollups are marked stale (``tree_changed``)."""
    name = _clean_name(name)
    territory.refresh_from_db()
    if name == territory.name:
        return territory
    parent = Territory.objects.get_parent(territory, update=True)
    _check_path_free(territory, _path_name(parent, name))
    territory.name = name
    territory.full_name = _path_name(parent, name)  # so that its history row has the new path too
    _recorded(territory, user=user, reason=reason).save(update_fields=["name", "full_name"])
    if parent is not None:
        Territory.objects.move(territory, parent, pos="sorted-child")
    _refresh_subtree_names(territory)
    tree_changed.send(sender=Territory, org_id=territory.org_id)
    return territory


# --- reps and their effective-dated assignments ----------------------------------------------------


def _check_rep_name_free(org, name: str, rep: Rep | None = None) -> str:
    name = name.strip()
    if not name:
        raise ValidationError({"name": "A rep needs a name."})
    clash = Rep.objects.filter(org=org, name=name)
    if rep is not None:
        clash = clash.exclude(pk=rep.pk)
    if clash.exists():
        raise ValidationError({"name": f"There is already a rep called {name} (imports match reps by name)."})
    return name


@transaction.atomic
def rep_hire(
    *,
    org,
    name: str,
    hire_date: date,
    email: str = "",
    territory: Territory | None = None,
    user=None,
    reason: str = "",
) -> Rep:
    """A new rep, hired on ``hire_date``; with ``territory``, assigned to it from that day."""
    name = _check_rep_name_free(org, name)
    if territory is not None and territory.org_id != org.pk:
        raise ValidationError({"territory": "The territory belongs to another organisation."})
    rep = Rep(org=org, name=name, email=email.strip(), hire_date=hire_date)
    rep.full_clean()
    _recorded(rep, user=user, reason=reason).save()
    if territory is not None:
        rep_assign(rep=rep, territory=territory, start=hire_date, user=user, reason=reason)
    return rep


@transaction.atomic
def rep_update(
    *,
    rep: Rep,
    name: str,
    email: str = "",
    hire_date: date | None,
    leave_date: date | None,
    user=None,
    reason: str = "",
) -> Rep:
    """Change a rep's name, email, hire and leave dates.

    A rep's assignments lie between hire and leave: the hire date cannot come after the first
    assignment's start, and a leave date ends the assignments still running then (none may start
    after it). Clearing the leave date (a rehire) leaves the assignments as they are.
    """
    rep = Rep.objects.select_for_update().get(pk=rep.pk)
    name = _check_rep_name_free(rep.org, name, rep)
    if hire_date is not None and leave_date is not None and leave_date < hire_date:
        raise ValidationError({"leave_date": "The leave date comes before the hire date."})
    assignments = list(
        TerritoryAssignment.objects.filter(rep=rep).select_related("territory").order_by("start")
    )
    if hire_date is not None and assignments and assignments[0].start < hire_date:
        first = assignments[0]
        raise ValidationError(
            {
                "hire_date": f"{rep.name} is assigned to {first.territory} from {first.start:%Y-%m-%d}, before this hire date."
            }
        )
    if leave_date is not None:
        later = [a for a in assignments if a.start > leave_date]
        if later:
            raise ValidationError(
                {
                    "leave_date": f"{rep.name} is assigned to {later[0].territory} from {later[0].start:%Y-%m-%d}, after this leave date."
                }
            )
        for a in assignments:
            if a.end is None or a.end > leave_date:
                a.end = leave_date
                a.full_clean()
                _recorded(a, user=user, reason=reason or f"{rep.name} leaves").save(update_fields=["end"])
    rep.name, rep.email, rep.hire_date, rep.leave_date = name, email.strip(), hire_date, leave_date
    rep.full_clean()
    _recorded(rep, user=user, reason=reason).save()
    return rep


@transaction.atomic
def rep_assign(
    *, rep: Rep, territory: Territory, start: date, user=None, reason: str = ""
) -> TerritoryAssignment:
    """Assign ``rep`` to ``territory`` from ``start`` on: the assignment running then is closed the day
    before, and the new one runs until the rep's leave date (or open-ended).

    An assignment already starting on ``start`` is corrected to the new territory. Refused before the
    hire date, after the leave date, when a later assignment exists (the history after ``start`` would
    be rewritten), in a territory retired by then, and when the rep is already there that day.
    """
    rep = Rep.objects.select_for_update().get(pk=rep.pk)
    territory.refresh_from_db()
    if territory.org_id != rep.org_id:
        raise ValidationError({"territory": "The territory belongs to another organisation."})
    if rep.hire_date is not None and start < rep.hire_date:
        raise ValidationError(
            {
                "start": f"{rep.name} was hired on {rep.hire_date:%Y-%m-%d}: an assignment cannot start before that."
            }
        )
    if rep.leave_date is not None and start > rep.leave_date:
        raise ValidationError(
            {"start": f"{rep.name} left on {rep.leave_date:%Y-%m-%d}: an assignment cannot start after that."}
        )
    if territory.retired_by(start):
        raise ValidationError(
            {"territory": f"{territory.full_name} is retired from {territory.retired_on:%Y-%m-%d}."}
        )
    assignments = list(
        TerritoryAssignment.objects.filter(rep=rep).select_related("territory").order_by("start")
    )
    later = [a for a in assignments if a.start > start]
    if later:
        raise ValidationError(
            {
                "start": f"{rep.name} is already assigned to {later[-1].territory.full_name} from "
                f"{later[-1].start:%Y-%m-%d}: choose a later date."
            }
        )
    running = next((a for a in assignments if a.start <= start and (a.end is None or a.end >= start)), None)
    if running is not None and running.territory_id == territory.pk:
        raise ValidationError(
            {"territory": f"{rep.name} is already in {territory.full_name} on {start:%Y-%m-%d}."}
        )
    end = rep.leave_date
    if running is not None and running.start == start:
        # A correction: the assignment starting that day moves to the new territory.
        running.territory = territory
        running.full_clean()
        _recorded(running, user=user, reason=reason).save(update_fields=["territory"])
        return running
    if running is not None:
        running.end = start - timedelta(days=1)
        running.full_clean()
        _recorded(running, user=user, reason=reason).save(update_fields=["end"])
    assignment = TerritoryAssignment(org_id=rep.org_id, rep=rep, territory=territory, start=start, end=end)
    assignment.full_clean()
    _recorded(assignment, user=user, reason=reason).save()
    return assignment
