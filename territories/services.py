"""Writes for the territory tree, reps and assignments."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction

from .models import PATH_SEPARATOR, Rep, Territory, TerritoryAssignment


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


def territory_child_create(*, parent: Territory, name: str, owner=None, owner_name: str = "") -> Territory:
    name = name.strip()
    if not name or PATH_SEPARATOR in name:
        raise ValidationError(f"Invalid territory name {name!r}.")
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
