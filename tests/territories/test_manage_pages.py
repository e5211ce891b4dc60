"""/manage/territories/ and /manage/reps/: admins only; every form refuses bad input beside the field,
escapes what it shows, records who and why; another organisation's territories and reps are 404."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from territories.models import Rep, Territory, TerritoryAssignment
from territories.services import territory_add
from tests.factories import RepFactory
from tests.form_helpers import XSS, XSS_ESCAPED, error_beside

pytest_plugins = ["tests.conftest_personas"]


def _change(client, territory, action, **fields):
    data = {"action": action, **{f"{action}-{k}": v for k, v in fields.items()}}
    return client.post(reverse("territory_change", args=[territory.pk]), data)


def _main(response) -> str:
    return response.content.decode().split('<main id="main"', 1)[1]


# --- access ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["manager", "rep", "viewer"])
def test_only_admins_open_the_pages_or_post_to_them(world, login, persona):
    client = login(persona)
    rep, territory = world.reps["nora"], world.territories["nordics"]
    for url in (
        reverse("manage_territories"),
        reverse("manage_reps"),
        reverse("manage_rep", args=[rep.pk]),
    ):
        assert client.get(url).status_code == 403
    assert _change(client, territory, "rename", name="Mine").status_code == 403
    assert (
        client.post(reverse("manage_reps"), {"hire-name": "X", "hire-hire_date": "2025-01-01"}).status_code
        == 403
    )
    assert Territory.objects.get(pk=territory.pk).name == "Nordics"
    assert not Rep.objects.filter(name="X").exists()


def test_another_organisations_territories_and_reps_are_404(world, login):
    client = login("admin")
    hq, gus = world.territories["globex_hq"], world.reps["gus"]
    assert client.get(reverse("manage_territories"), {"territory": hq.pk}).status_code == 404
    assert _change(client, hq, "rename", name="Taken").status_code == 404
    assert client.get(reverse("manage_rep", args=[gus.pk])).status_code == 404
    assert (
        client.post(
            reverse("manage_rep", args=[gus.pk]), {"action": "edit", "edit-name": "Taken"}
        ).status_code
        == 404
    )
    # and cannot be chosen as a new parent or an assignment's territory
    response = _change(client, world.territories["nordics"], "move", parent=hq.pk)
    assert response.status_code == 400 and "Select a valid choice" in response.content.decode()
    response = client.post(
        reverse("manage_rep", args=[world.reps["nora"].pk]),
        {"action": "assign", "assign-territory": hq.pk, "assign-start": "2025-01-01"},
    )
    assert response.status_code == 400
    assert Territory.objects.get(pk=hq.pk).name == "Globex HQ"
    page = _main(client.get(reverse("manage_territories")))
    assert "Globex" not in page


# --- the territory editor --------------------------------------------------------------------------


def test_the_editor_shows_the_tree_and_the_selected_territory(world, login):
    page = _main(
        login("admin").get(reverse("manage_territories"), {"territory": world.territories["nordics"].pk})
    )
    for name in ("Acme", "Nordics", "Stockholm", "Iberia", "Madrid"):
        assert f">{name}</a>" in page
    assert '<h2 id="selected-title" class="card__title">Acme/Nordics</h2>' in page
    # the move picker offers every territory outside its own subtree, preselecting the parent
    assert f'<option value="{world.territories["root"].pk}" selected>Acme</option>' in page
    assert ">Acme/Nordics/Stockholm</option>" not in page


def test_an_htmx_click_on_the_tree_swaps_the_editor_only(world, login):
    response = login("admin").get(
        reverse("manage_territories"), {"territory": world.territories["madrid"].pk}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<div class="territory-grid" id="territory-editor">')
    assert "Acme/Iberia/Madrid" in html and "<html" not in html


def test_rename_add_move_retire_and_reinstate_from_the_editor(world, login):
    client = login("admin")
    nordics, iberia = world.territories["nordics"], world.territories["iberia"]

    response = _change(client, nordics, "rename", name="North", reason="Shorter")
    assert response.status_code == 302 and response["Location"].endswith(f"?territory={nordics.pk}")
    response = _change(client, iberia, "add", name="Lisbon")
    lisbon = Territory.objects.get(org=world.org, full_name="Acme/Iberia/Lisbon")
    assert response["Location"].endswith(f"?territory={lisbon.pk}")
    assert _change(client, lisbon, "move", parent=nordics.pk, reason="Closer to the team").status_code == 302
    assert Territory.objects.get(pk=lisbon.pk).full_name == "Acme/North/Lisbon"
    assert _change(client, lisbon, "retire", on="2025-06-30", reason="Office closed").status_code == 302
    assert Territory.objects.get(pk=lisbon.pk).retired_on == dt.date(2025, 6, 30)

    page = _main(client.get(reverse("manage_territories"), {"territory": lisbon.pk}))
    assert "Retired since 30 Jun 2025" in page
    for what, why in [
        ("Added Acme/Iberia/Lisbon", "—"),
        ("Moved Acme/Iberia/Lisbon → Acme/North/Lisbon", "Closer to the team"),
        ("Retired from 2025-06-30", "Office closed"),
    ]:
        assert f"<td>{what}</td>\n            <td>{why}</td>" in page
    assert "Renamed Nordics → North" in page and "Ada Admin" in page
    assert _change(client, lisbon, "reinstate", reason="Reopened").status_code == 302
    assert Territory.objects.get(pk=lisbon.pk).retired_on is None


@pytest.mark.parametrize(
    ("action", "fields", "field_id", "message"),
    [
        ("rename", {"name": ""}, "id_rename-name", "This field is required."),
        ("rename", {"name": "Iberia"}, "id_rename-name", "'Acme/Iberia' already exists."),
        ("add", {"name": "Stockholm"}, "id_add-name", "Acme/Nordics/Stockholm already exists."),
        ("add", {"name": "North/South"}, "id_add-name", "Invalid territory name"),
        ("retire", {"on": "2025-02-30"}, "id_retire-on", "Enter a valid date."),
        ("retire", {"on": "2025-01-01"}, "id_retire-on", "Retire or move the territories below it first"),
    ],
)
def test_bad_input_is_refused_beside_its_field(world, login, action, fields, field_id, message):
    response = _change(login("admin"), world.territories["nordics"], action, **fields)
    assert response.status_code == 400
    assert message in error_beside(response.content.decode(), field_id)
    assert Territory.objects.get(pk=world.territories["nordics"].pk).full_name == "Acme/Nordics"


def test_moving_a_territory_under_itself_is_not_offered_and_refused(world, login):
    nordics, stockholm = world.territories["nordics"], world.territories["stockholm"]
    for target in (nordics, stockholm):
        response = _change(login("admin"), nordics, "move", parent=target.pk)
        assert response.status_code == 400
        assert "Select a valid choice" in error_beside(response.content.decode(), "id_move-parent")
    assert Territory.objects.get(pk=stockholm.pk).full_name == "Acme/Nordics/Stockholm"


def test_a_territory_name_with_markup_is_shown_escaped(world, login):
    client = login("admin")
    territory = territory_add(parent=world.territories["iberia"], name=XSS)
    for url in (
        f"{reverse('manage_territories')}?territory={territory.pk}",
        reverse("manage_rep", args=[world.reps["nora"].pk]),
    ):
        html = client.get(url).content.decode()
        assert XSS not in html and XSS_ESCAPED in html


def test_the_editor_reads_a_bounded_number_of_queries_whatever_the_tree(
    world, login, django_assert_max_num_queries
):
    client = login("admin")
    iberia = world.territories["iberia"]
    for i in range(60):
        child = territory_add(parent=Territory.objects.get(pk=iberia.pk), name=f"Team {i:02d}")
        RepFactory.create(org=world.org, name=f"Rep {i:02d}", territory=child)
    nordics = world.territories["nordics"]
    _change(client, nordics, "rename", name="North")
    with django_assert_max_num_queries(15):
        response = client.get(reverse("manage_territories"), {"territory": nordics.pk})
    assert response.status_code == 200 and "Team 59" in response.content.decode()


# --- reps -----------------------------------------------------------------------------------------


def test_an_admin_hires_a_rep_into_a_territory(world, login):
    client = login("admin")
    response = client.post(
        reverse("manage_reps"),
        {
            "hire-name": "Hana Hired",
            "hire-email": "hana@acme.test",
            "hire-hire_date": "2025-03-01",
            "hire-territory": world.territories["madrid"].pk,
        },
        follow=True,
    )
    rep = Rep.objects.get(org=world.org, name="Hana Hired")
    assert response.redirect_chain[-1][0] == reverse("manage_rep", args=[rep.pk])
    page = _main(response)
    assert "Hana Hired is hired." in response.content.decode()
    assert "Acme/Iberia/Madrid" in page and "Hired Hana Hired on 2025-03-01" in page
    assert "Assigned to Acme/Iberia/Madrid from 2025-03-01" in page
    history = Rep.history.get(id=rep.pk)
    assert history.history_user == world.users["admin"]


@pytest.mark.parametrize(
    ("fields", "field_id", "message"),
    [
        (
            {"hire-name": "Nora Nordin", "hire-hire_date": "2025-01-01"},
            "id_hire-name",
            "already a rep called Nora Nordin",
        ),
        (
            {"hire-name": "Bad Date", "hire-hire_date": "2025-13-01"},
            "id_hire-hire_date",
            "Enter a valid date.",
        ),
        ({"hire-name": "", "hire-hire_date": "2025-01-01"}, "id_hire-name", "This field is required."),
        (
            {"hire-name": "Mail", "hire-email": "not-an-email", "hire-hire_date": "2025-01-01"},
            "id_hire-email",
            "valid email",
        ),
    ],
)
def test_a_bad_hire_is_refused_beside_the_field(world, login, fields, field_id, message):
    before = Rep.objects.count()
    response = login("admin").post(reverse("manage_reps"), fields)
    assert response.status_code == 400
    assert message in error_beside(response.content.decode(), field_id)
    assert Rep.objects.count() == before


def test_assigning_from_a_date_closes_the_previous_assignment_and_keeps_the_history(world, login):
    client = login("admin")
    nora = world.reps["nora"]
    url = reverse("manage_rep", args=[nora.pk])
    response = client.post(
        url,
        {
            "action": "assign",
            "assign-territory": world.territories["madrid"].pk,
            "assign-start": "2024-05-01",
            "assign-reason": "Covers Spain",
        },
        follow=True,
    )
    assert "Nora Nordin is in Acme/Iberia/Madrid from 2024-05-01." in response.content.decode()
    spans = list(TerritoryAssignment.objects.filter(rep=nora).order_by("start").values_list("start", "end"))
    assert spans == [(dt.date(2020, 1, 1), dt.date(2024, 4, 30)), (dt.date(2024, 5, 1), None)]
    page = _main(response)
    assert "Assignment to Acme/Nordics/Stockholm now ends 2024-04-30 (was —)" in page
    assert "Assigned to Acme/Iberia/Madrid from 2024-05-01" in page and "Covers Spain" in page
    recorded = TerritoryAssignment.history.filter(rep_id=nora.pk, history_change_reason="Covers Spain")
    assert {r.history_user for r in recorded} == {world.users["admin"]}
    assert recorded.count() == 2


@pytest.mark.parametrize(
    ("fields", "field_id", "message"),
    [
        ({"assign-start": "2019-12-31"}, "id_assign-start", "was hired on 2020-01-01"),
        ({"assign-start": "2024-02-30"}, "id_assign-start", "Enter a valid date."),
        ({"assign-start": ""}, "id_assign-start", "This field is required."),
    ],
)
def test_a_bad_assignment_is_refused_beside_the_field(world, login, fields, field_id, message):
    nora = world.reps["nora"]
    Rep.objects.filter(pk=nora.pk).update(hire_date=dt.date(2020, 1, 1))
    data = {"action": "assign", "assign-territory": world.territories["madrid"].pk, **fields}
    response = login("admin").post(reverse("manage_rep", args=[nora.pk]), data)
    assert response.status_code == 400
    assert message in error_beside(response.content.decode(), field_id)
    assert TerritoryAssignment.objects.filter(rep=nora).count() == 1


def test_a_retired_territory_is_not_offered_for_assignments(world, login):
    lisbon = territory_add(parent=world.territories["iberia"], name="Lisbon")
    Territory.objects.filter(pk=lisbon.pk).update(retired_on=dt.date(2024, 1, 1))
    html = login("admin").get(reverse("manage_rep", args=[world.reps["nora"].pk])).content.decode()
    assert "Acme/Iberia/Madrid</option>" in html and "Acme/Iberia/Lisbon</option>" not in html


def test_recording_a_leave_date_ends_the_assignment(world, login):
    nora = world.reps["nora"]
    response = login("admin").post(
        reverse("manage_rep", args=[nora.pk]),
        {
            "action": "edit",
            "edit-name": "Nora Nordin",
            "edit-email": "nora@acme.test",
            "edit-hire_date": "2020-01-01",
            "edit-leave_date": "2024-09-30",
            "edit-reason": "Resigned",
        },
        follow=True,
    )
    assert TerritoryAssignment.objects.get(rep=nora).end == dt.date(2024, 9, 30)
    page = _main(response)
    assert "Leave date — → 2024-09-30" in page and "Resigned" in page


@pytest.mark.parametrize(
    ("fields", "field_id", "message"),
    [
        ({"edit-hire_date": "2021-01-01"}, "id_edit-hire_date", "before this hire date"),
        (
            {"edit-leave_date": "2019-01-01", "edit-hire_date": "2019-06-01"},
            "id_edit-leave_date",
            "before the hire date",
        ),
        ({"edit-name": "Sergio Sanz"}, "id_edit-name", "already a rep called Sergio Sanz"),
        ({"edit-leave_date": "yesterday"}, "id_edit-leave_date", "Enter a valid date."),
    ],
)
def test_a_bad_edit_is_refused_beside_the_field(world, login, fields, field_id, message):
    nora = world.reps["nora"]
    data = {"action": "edit", "edit-name": "Nora Nordin", "edit-hire_date": "2020-01-01", **fields}
    response = login("admin").post(reverse("manage_rep", args=[nora.pk]), data)
    assert response.status_code == 400
    assert message in error_beside(response.content.decode(), field_id)
    nora.refresh_from_db()
    assert (nora.name, nora.leave_date) == ("Nora Nordin", None)


def test_a_rep_name_with_markup_is_shown_escaped(world, login):
    client = login("admin")
    rep = RepFactory.create(
        org=world.org, name=XSS, email="x@acme.test", territory=world.territories["madrid"]
    )
    for url in (reverse("manage_reps"), reverse("manage_rep", args=[rep.pk])):
        html = client.get(url).content.decode()
        assert XSS not in html and XSS_ESCAPED in html


def test_the_reps_list_is_paged_searchable_and_reads_a_bounded_number_of_queries(
    world, login, django_assert_max_num_queries
):
    client = login("admin")
    madrid = world.territories["madrid"]
    for i in range(120):
        RepFactory.create(org=world.org, name=f"Bulk Rep {i:03d}", territory=madrid)
    with django_assert_max_num_queries(15):
        response = client.get(reverse("manage_reps"))
    page = _main(response)
    assert "122 reps" in page and "Page 1 of 3" in page and "Bulk Rep 000" in page
    assert "Bulk Rep 049" in page and "Bulk Rep 050" not in page  # 50 a page, by name
    response = client.get(reverse("manage_reps"), {"q": "rep 11"})
    page = _main(response)
    assert "10 reps matching" in page and "Bulk Rep 119" in page and "Bulk Rep 000" not in page
    with django_assert_max_num_queries(15):
        assert client.get(reverse("manage_rep", args=[world.reps["nora"].pk])).status_code == 200
