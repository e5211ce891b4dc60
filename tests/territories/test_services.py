"""territory_move / territory_rename: path names follow, the tree stays one per organisation, and the
organisation's rollups are marked stale."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.exceptions import ValidationError

from kpis.models import RecomputeRequest
from territories.models import Territory
from territories.services import territory_child_create, territory_move, territory_rename
from territories.signals import tree_changed

pytest_plugins = ["tests.conftest_personas"]


@pytest.fixture
def sent(world) -> Iterator[list[int]]:
    """The org ids ``tree_changed`` was sent with during the test."""
    org_ids: list[int] = []

    def receiver(sender, org_id: int, **kwargs) -> None:
        org_ids.append(org_id)

    tree_changed.connect(receiver)
    yield org_ids
    tree_changed.disconnect(receiver)


def _names(world) -> dict[str, str]:
    return dict(Territory.objects.filter(org=world.org).values_list("name", "full_name"))


def _stale(world) -> set[str]:
    return set(RecomputeRequest.objects.filter(org=world.org).values_list("period", flat=True))


# --- move ----------------------------------------------------------------------------------------


def test_move_renames_the_paths_of_the_whole_subtree_and_nothing_else(world, sent):
    nordics = world.territories["nordics"]
    moved = territory_move(territory=nordics, target=world.territories["iberia"], position="sorted-child")
    assert _names(world) == {
        "Acme": "Acme",
        "Iberia": "Acme/Iberia",
        "Nordics": "Acme/Iberia/Nordics",
        "Stockholm": "Acme/Iberia/Nordics/Stockholm",
        "Madrid": "Acme/Iberia/Madrid",
    }
    assert Territory.objects.get_parent(moved, update=True) == world.territories["iberia"]
    stockholm = Territory.objects.get(pk=world.territories["stockholm"].pk)
    assert Territory.objects.get_parent(stockholm) == moved


def test_move_beside_a_node_takes_that_node_s_parent(world, sent):
    territory_move(
        territory=world.territories["stockholm"],
        target=world.territories["iberia"],
        position="sorted-sibling",
    )
    assert _names(world)["Stockholm"] == "Acme/Stockholm"
    assert (
        Territory.objects.get_parent(Territory.objects.get(name="Stockholm", org=world.org))
        == world.territories["root"]
    )


def test_move_requests_a_recompute_of_the_organisation(world, sent):
    RecomputeRequest.objects.all().delete()
    territory_move(
        territory=world.territories["stockholm"], target=world.territories["iberia"], position="sorted-child"
    )
    assert sent == [world.org.pk]
    assert _stale(world) == {RecomputeRequest.ALL}
    assert not RecomputeRequest.objects.filter(org=world.other_org).exists()


def test_move_to_the_same_parent_changes_nothing_and_requests_nothing(world, sent):
    RecomputeRequest.objects.all().delete()
    territory_move(
        territory=world.territories["stockholm"], target=world.territories["nordics"], position="sorted-child"
    )
    assert sent == []
    assert _stale(world) == set()
    assert _names(world)["Stockholm"] == "Acme/Nordics/Stockholm"


@pytest.mark.parametrize("target", ["stockholm", "nordics"])
def test_cannot_move_under_itself_or_its_own_descendant(world, sent, target):
    before = _names(world)
    with pytest.raises(ValidationError, match="below itself"):
        territory_move(
            territory=world.territories["nordics"], target=world.territories[target], position="sorted-child"
        )
    assert _names(world) == before
    assert sent == []


@pytest.mark.parametrize(
    ("target", "position", "error"),
    [
        ("globex_hq", "sorted-child", "own organisation's tree"),
        ("root", "sorted-sibling", "one root territory"),
        ("iberia", "last-child", "Invalid position"),
    ],
)
def test_cannot_move_out_of_the_organisation_s_one_tree(world, sent, target, position, error):
    before = _names(world)
    with pytest.raises(ValidationError, match=error):
        territory_move(
            territory=world.territories["stockholm"], target=world.territories[target], position=position
        )
    assert _names(world) == before
    assert sent == []


def test_cannot_move_next_to_a_namesake(world, sent):
    iberia = world.territories["iberia"]
    iberia.refresh_from_db()
    territory_child_create(parent=iberia, name="Stockholm")
    with pytest.raises(ValidationError, match="'Acme/Iberia/Stockholm' already exists"):
        territory_move(territory=world.territories["stockholm"], target=iberia, position="sorted-child")
    assert Territory.objects.get(pk=world.territories["stockholm"].pk).full_name == "Acme/Nordics/Stockholm"
    assert sent == []


# --- rename --------------------------------------------------------------------------------------


def test_rename_renames_the_paths_below(world, sent):
    territory_rename(territory=world.territories["nordics"], name="  Norden ")
    names = _names(world)
    assert names["Norden"] == "Acme/Norden"
    assert names["Stockholm"] == "Acme/Norden/Stockholm"
    assert names["Madrid"] == "Acme/Iberia/Madrid"
    assert "Nordics" not in names


def test_rename_keeps_siblings_in_name_order(world, sent):
    root = world.territories["root"]
    territory_rename(territory=world.territories["nordics"], name="Alps")
    children = [t.name for t in Territory.objects.get_children(Territory.objects.get(pk=root.pk))]
    assert children == ["Alps", "Iberia"]
    territory_rename(territory=world.territories["nordics"], name="Zurich")
    assert [t.name for t in Territory.objects.get_children(Territory.objects.get(pk=root.pk))] == [
        "Iberia",
        "Zurich",
    ]
    assert _names(world)["Stockholm"] == "Acme/Zurich/Stockholm"


def test_rename_requests_a_recompute_of_the_organisation(world, sent):
    RecomputeRequest.objects.all().delete()
    territory_rename(territory=world.territories["madrid"], name="Barcelona")
    assert sent == [world.org.pk]
    assert _stale(world) == {RecomputeRequest.ALL}


def test_rename_to_the_same_name_requests_nothing(world, sent):
    RecomputeRequest.objects.all().delete()
    territory_rename(territory=world.territories["madrid"], name="Madrid")
    assert sent == []
    assert _stale(world) == set()


@pytest.mark.parametrize(
    ("name", "error"),
    [("Iberia", "'Acme/Iberia' already exists"), ("", "Invalid territory name"), ("A/B", "Invalid")],
)
def test_rename_refuses_a_clash_or_an_invalid_name(world, sent, name, error):
    before = _names(world)
    with pytest.raises(ValidationError, match=error):
        territory_rename(territory=world.territories["nordics"], name=name)
    assert _names(world) == before
    assert sent == []


def test_renaming_the_root_renames_every_path(world, sent):
    territory_rename(territory=world.territories["root"], name="Acme Corp")
    assert _names(world)["Madrid"] == "Acme Corp/Iberia/Madrid"
    assert Territory.objects.get(name="Globex HQ").full_name == "Globex/Globex HQ"
