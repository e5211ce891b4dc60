"""The territory tree in the Django admin: adding, renaming and moving go through the tree services."""

from __future__ import annotations

import pytest
from django.urls import reverse

from kpis.models import RecomputeRequest
from territories.models import Territory
from territories.services import territory_child_create

pytest_plugins = ["tests.conftest_personas"]


def _text(response) -> str:
    return response.content.decode()


def _change(client, territory: Territory, **data):
    return client.post(
        reverse("admin:territories_territory_change", args=[territory.pk]),
        {"owner": territory.owner_id or "", "owner_name": territory.owner_name, **data},
    )


def test_admin_adds_a_territory_with_its_path_name(login, world):
    client = login("operator")
    response = client.post(
        reverse("admin:territories_territory_add"),
        {
            "org": world.org.pk,
            "name": "Gothenburg",
            "owner_name": "",
            "treebeard_position": "sorted-child",
            "treebeard_ref_node": world.territories["nordics"].pk,
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    node = world.org.territories.get(name="Gothenburg")
    assert node.full_name == "Acme/Nordics/Gothenburg"
    assert Territory.objects.get_parent(node) == world.territories["nordics"]


def test_admin_rename_updates_the_path_names_below(login, world):
    client = login("operator")
    nordics = world.territories["nordics"]
    response = client.post(
        reverse("admin:territories_territory_change", args=[nordics.pk]),
        {
            "name": "Norden",
            "owner": nordics.owner_id,
            "owner_name": "",
            "treebeard_position": "sorted-child",
            "treebeard_ref_node": world.territories["root"].pk,
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    world.territories["stockholm"].refresh_from_db()
    assert world.territories["stockholm"].full_name == "Acme/Norden/Stockholm"


@pytest.mark.parametrize(
    ("ref", "position", "error"),
    [
        ("globex_hq", "sorted-child", "own organisation"),
        ("root", "sorted-sibling", "one root territory"),
        ("nordics", "sorted-child", "already exists"),
    ],
)
def test_admin_rejects_a_territory_outside_its_tree(login, world, ref, position, error):
    client = login("operator")
    name = "Stockholm" if error == "already exists" else "Oslo"
    response = client.post(
        reverse("admin:territories_territory_add"),
        {
            "org": world.org.pk,
            "name": name,
            "owner_name": "",
            "treebeard_position": position,
            "treebeard_ref_node": world.territories[ref].pk,
        },
    )
    assert response.status_code == 200
    assert error in _text(response)
    assert not world.org.territories.filter(name="Oslo").exists()


def test_admin_territory_form_offers_only_own_organisation_as_parent(login, world):
    response = login("operator").get(
        reverse("admin:territories_territory_change", args=[world.territories["stockholm"].pk])
    )
    choices = response.context["adminform"].form.fields["treebeard_ref_node"].queryset
    assert world.territories["nordics"] in choices
    assert world.territories["globex_hq"] not in choices


def test_admin_drag_and_drop_moves_within_the_tree_and_renames_paths(login, world):
    client = login("operator")
    move = reverse("admin:territories_territory_changelist") + "move/"
    stockholm = world.territories["stockholm"]
    response = client.post(
        move, {"node": stockholm.pk, "target": world.territories["iberia"].pk, "relation": "child"}
    )
    assert response.status_code == 200
    stockholm.refresh_from_db()
    assert stockholm.full_name == "Acme/Iberia/Stockholm"


@pytest.mark.parametrize(("target", "relation"), [("globex_hq", "child"), ("root", "sibling")])
def test_admin_drag_and_drop_refuses_to_leave_the_tree(login, world, target, relation):
    client = login("operator")
    move = reverse("admin:territories_territory_changelist") + "move/"
    stockholm = world.territories["stockholm"]
    response = client.post(
        move, {"node": stockholm.pk, "target": world.territories[target].pk, "relation": relation}
    )
    assert response.status_code == 400
    stockholm.refresh_from_db()
    assert stockholm.full_name == "Acme/Nordics/Stockholm"
    assert stockholm.org_id == world.org.pk


def test_admin_rename_requests_a_recompute(login, world):
    RecomputeRequest.objects.all().delete()
    response = _change(
        login("operator"),
        world.territories["madrid"],
        name="Barcelona",
        treebeard_position="sorted-child",
        treebeard_ref_node=world.territories["iberia"].pk,
    )
    assert response.status_code == 302
    assert set(RecomputeRequest.objects.filter(org=world.org).values_list("period", flat=True)) == {"*"}


def test_admin_owner_change_alone_moves_and_requests_nothing(login, world):
    RecomputeRequest.objects.all().delete()
    madrid = world.territories["madrid"]
    response = _change(
        login("operator"),
        madrid,
        name="Madrid",
        owner_name="Marta Owner",
        treebeard_position="sorted-child",
        treebeard_ref_node=world.territories["iberia"].pk,
    )
    assert response.status_code == 302
    madrid.refresh_from_db()
    assert (madrid.owner_name, madrid.full_name) == ("Marta Owner", "Acme/Iberia/Madrid")
    assert not RecomputeRequest.objects.exists()


def test_admin_moves_and_renames_at_once_even_when_the_new_name_is_taken_in_the_old_place(login, world):
    nordics = world.territories["nordics"]
    nordics.refresh_from_db()
    oslo = territory_child_create(parent=nordics, name="Oslo")
    response = _change(
        login("operator"),
        oslo,
        name="Stockholm",  # Acme/Nordics/Stockholm exists; Acme/Iberia/Stockholm does not
        treebeard_position="sorted-child",
        treebeard_ref_node=world.territories["iberia"].pk,
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    oslo.refresh_from_db()
    assert oslo.full_name == "Acme/Iberia/Stockholm"
    assert Territory.objects.get(pk=world.territories["stockholm"].pk).full_name == "Acme/Nordics/Stockholm"


def test_admin_drag_and_drop_refuses_a_move_below_its_own_descendant(login, world):
    move = reverse("admin:territories_territory_changelist") + "move/"
    nordics = world.territories["nordics"]
    response = login("operator").post(
        move, {"node": nordics.pk, "target": world.territories["stockholm"].pk, "relation": "child"}
    )
    assert response.status_code == 400
    nordics.refresh_from_db()
    assert nordics.full_name == "Acme/Nordics"
