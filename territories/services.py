"""Writes for the territory tree, reps and assignments."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
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
def territory_move(*, territory: Territory, target: Territory, position: str) -> Territory:
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
    old_parent = Territory.objects.get_parent(territory, update=True)
    if parent is not None and old_parent is not None and parent.pk == old_parent.pk:
        return territory  # same parent: siblings are ordered by name, so nothing moves
    _check_path_free(territory, _path_name(parent, territory.name))
    try:
        Territory.objects.move(territory, target, pos=position)
    except (InvalidMoveToDescendant, InvalidPosition) as exc:
        raise ValidationError(str(exc)) from exc
    _refresh_subtree_names(territory)
    tree_changed.send(sender=Territory, org_id=territory.org_id)
    return territory


@transaction.atomic
def territory_rename(*, territory: Territory, name: str) -> Territory:
    """Rename ``territory``: it keeps its place among its siblings (ordered by name) and the path names
    below it follow; the organisation's rollups are marked stale (``tree_changed``)."""
    name = _clean_name(name)
    territory.refresh_from_db()
    if name == territory.name:
        return territory
    parent = Territory.objects.get_parent(territory, update=True)
    _check_path_free(territory, _path_name(parent, name))
    territory.name = name
    territory.save(update_fields=["name"])
    if parent is not None:
        Territory.objects.move(territory, parent, pos="sorted-child")
    _refresh_subtree_names(territory)
    tree_changed.send(sender=Territory, org_id=territory.org_id)
    return territory
