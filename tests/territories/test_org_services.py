"""The organisation services behind the admin's pages: adding and retiring territories, hiring reps,
their leave, and effective-dated assignments (a new one closes the running one the day before)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from kpis.selectors import report_kpis, report_rows
from kpis.services import rollups_recompute
from territories.models import Rep, Territory, TerritoryAssignment
from territories.services import (
    rep_assign,
    rep_hire,
    rep_update,
    territory_add,
    territory_move,
    territory_reinstate,
    territory_rename,
    territory_retire,
)

pytest_plugins = ["tests.conftest_personas"]

D = dt.date


def _spans(rep: Rep) -> list[tuple[str, dt.date, dt.date | None]]:
    return [
        (a.territory.name, a.start, a.end)
        for a in TerritoryAssignment.objects.filter(rep=rep).select_related("territory").order_by("start")
    ]


def _messages(exc: pytest.ExceptionInfo[ValidationError]) -> dict[str, list[str]]:
    return exc.value.message_dict


# --- territories ----------------------------------------------------------------------------------


def test_adding_a_territory_names_its_path_and_refuses_a_sibling_of_the_same_name(world):
    lisbon = territory_add(parent=world.territories["iberia"], name="  Lisbon ")
    assert (lisbon.name, lisbon.full_name) == ("Lisbon", "Acme/Iberia/Lisbon")
    with pytest.raises(ValidationError) as exc:
        territory_add(parent=world.territories["iberia"], name="Lisbon")
    assert _messages(exc) == {"name": ["Acme/Iberia/Lisbon already exists."]}
    with pytest.raises(ValidationError):
        territory_add(parent=world.territories["iberia"], name="Lis/bon")


def test_a_territory_cannot_be_moved_below_itself_or_its_own_subtree(world):
    nordics = world.territories["nordics"]
    for target in (nordics, world.territories["stockholm"]):
        with pytest.raises(ValidationError, match="cannot be placed below itself"):
            territory_move(territory=nordics, target=target, position="sorted-child")


def test_a_move_and_a_rename_are_recorded_with_who_and_why(world):
    admin = world.users["admin"]
    nordics = world.territories["nordics"]
    territory_move(
        territory=nordics,
        target=world.territories["iberia"],
        position="sorted-child",
        user=admin,
        reason="Reorg",
    )
    territory_rename(territory=nordics, name="North", user=admin, reason="Clearer")
    rows = list(Territory.history.filter(id=nordics.pk).order_by("history_date", "history_id"))
    assert [(r.full_name, r.history_user, r.history_change_reason) for r in rows[-2:]] == [
        ("Acme/Iberia/Nordics", admin, "Reorg"),
        ("Acme/Iberia/North", admin, "Clearer"),
    ]
    assert (
        Territory.objects.get(pk=world.territories["stockholm"].pk).full_name == "Acme/Iberia/North/Stockholm"
    )


def test_retiring_needs_the_reps_moved_and_the_territories_below_retired_first(world):
    nordics, stockholm = world.territories["nordics"], world.territories["stockholm"]
    with pytest.raises(ValidationError) as exc:
        territory_retire(territory=nordics, on=D(2025, 1, 1))
    assert "Retire or move the territories below it first (Stockholm)" in _messages(exc)["on"][0]
    with pytest.raises(ValidationError) as exc:
        territory_retire(territory=stockholm, on=D(2025, 1, 1))
    assert "Nora Nordin" in _messages(exc)["on"][0]
    with pytest.raises(ValidationError, match="root is the whole organisation"):
        territory_retire(territory=world.territories["root"], on=D(2025, 1, 1))


def test_a_retired_territory_keeps_its_past_assignments_and_takes_no_new_ones(world):
    nora, stockholm = world.reps["nora"], world.territories["stockholm"]
    rep_assign(rep=nora, territory=world.territories["madrid"], start=D(2024, 7, 1))
    territory_retire(territory=stockholm, on=D(2024, 7, 1), user=world.users["admin"], reason="Office closed")
    stockholm.refresh_from_db()
    assert stockholm.retired_on == D(2024, 7, 1)
    assert _spans(nora) == [("Stockholm", D(2020, 1, 1), D(2024, 6, 30)), ("Madrid", D(2024, 7, 1), None)]
    sergio = world.reps["sergio"]
    with pytest.raises(ValidationError) as exc:
        rep_assign(rep=sergio, territory=stockholm, start=D(2024, 8, 1))
    assert "retired from 2024-07-01" in _messages(exc)["territory"][0]
    with pytest.raises(ValidationError, match="is retired"):
        territory_add(parent=stockholm, name="Uppsala")
    last = Territory.history.filter(id=stockholm.pk).latest("history_date")
    assert (last.retired_on, last.history_change_reason) == (D(2024, 7, 1), "Office closed")
    territory_reinstate(territory=stockholm)
    rep_assign(rep=sergio, territory=stockholm, start=D(2024, 8, 1))
    assert _spans(sergio)[-1] == ("Stockholm", D(2024, 8, 1), None)


# --- reps -----------------------------------------------------------------------------------------


def test_hiring_a_rep_into_a_territory_assigns_them_from_the_hire_date(world):
    rep = rep_hire(
        org=world.org,
        name="Hana Hired",
        email="hana@acme.test",
        hire_date=D(2025, 3, 1),
        territory=world.territories["madrid"],
    )
    assert _spans(rep) == [("Madrid", D(2025, 3, 1), None)]
    with pytest.raises(ValidationError) as exc:
        rep_hire(org=world.org, name="Hana Hired", hire_date=D(2025, 3, 1))
    assert "already a rep called Hana Hired" in _messages(exc)["name"][0]
    with pytest.raises(ValidationError):
        rep_hire(
            org=world.org, name="Greg", hire_date=D(2025, 3, 1), territory=world.territories["globex_hq"]
        )


def test_a_new_assignment_closes_the_running_one_the_day_before(world):
    nora = world.reps["nora"]
    rep_assign(rep=nora, territory=world.territories["madrid"], start=D(2024, 5, 1), reason="Covers Spain")
    assert _spans(nora) == [("Stockholm", D(2020, 1, 1), D(2024, 4, 30)), ("Madrid", D(2024, 5, 1), None)]
    reasons = set(
        TerritoryAssignment.history.filter(rep_id=nora.pk).values_list("history_change_reason", flat=True)
    )
    assert "Covers Spain" in reasons


def test_an_assignment_on_the_same_start_day_corrects_the_territory(world):
    nora = world.reps["nora"]
    rep_assign(rep=nora, territory=world.territories["madrid"], start=D(2024, 5, 1))
    rep_assign(rep=nora, territory=world.territories["iberia"], start=D(2024, 5, 1))
    assert _spans(nora) == [("Stockholm", D(2020, 1, 1), D(2024, 4, 30)), ("Iberia", D(2024, 5, 1), None)]


@pytest.mark.parametrize(
    ("start", "field", "message"),
    [
        (D(2019, 6, 1), "start", "was hired on 2019-07-01"),
        (D(2020, 1, 1), "territory", "already in Acme/Nordics/Stockholm on 2020-01-01"),
    ],
)
def test_an_assignment_before_the_hire_date_or_where_the_rep_already_is_is_refused(
    world, start, field, message
):
    nora = world.reps["nora"]
    Rep.objects.filter(pk=nora.pk).update(hire_date=D(2019, 7, 1))
    with pytest.raises(ValidationError) as exc:
        rep_assign(rep=nora, territory=world.territories["stockholm"], start=start)
    assert message in _messages(exc)[field][0]


def test_an_assignment_before_a_later_one_is_refused_rather_than_rewriting_history(world):
    nora = world.reps["nora"]
    rep_assign(rep=nora, territory=world.territories["madrid"], start=D(2024, 5, 1))
    with pytest.raises(ValidationError) as exc:
        rep_assign(rep=nora, territory=world.territories["iberia"], start=D(2023, 1, 1))
    assert "already assigned to Acme/Iberia/Madrid from 2024-05-01" in _messages(exc)["start"][0]


def test_leaving_ends_the_running_assignment_and_no_assignment_starts_after(world):
    nora = world.reps["nora"]
    rep_update(rep=nora, name=nora.name, email="", hire_date=D(2020, 1, 1), leave_date=D(2024, 9, 30))
    assert _spans(nora) == [("Stockholm", D(2020, 1, 1), D(2024, 9, 30))]
    with pytest.raises(ValidationError) as exc:
        rep_assign(rep=nora, territory=world.territories["madrid"], start=D(2024, 10, 1))
    assert "left on 2024-09-30" in _messages(exc)["start"][0]


@pytest.mark.parametrize(
    ("hire", "leave", "field", "message"),
    [
        (D(2021, 1, 1), None, "hire_date", "from 2020-01-01, before this hire date"),
        (D(2020, 1, 1), D(2019, 12, 31), "leave_date", "comes before the hire date"),
    ],
)
def test_a_hire_date_after_the_first_assignment_or_a_leave_before_the_hire_is_refused(
    world, hire, leave, field, message
):
    nora = world.reps["nora"]
    with pytest.raises(ValidationError) as exc:
        rep_update(rep=nora, name=nora.name, hire_date=hire, leave_date=leave)
    assert message in _messages(exc)[field][0]


def test_a_leave_date_before_a_later_assignment_is_refused(world):
    nora = world.reps["nora"]
    rep_assign(rep=nora, territory=world.territories["madrid"], start=D(2024, 5, 1))
    with pytest.raises(ValidationError) as exc:
        rep_update(rep=nora, name=nora.name, hire_date=None, leave_date=D(2024, 1, 31))
    assert "from 2024-05-01, after this leave date" in _messages(exc)["leave_date"][0]
    assert _spans(nora)[-1] == ("Madrid", D(2024, 5, 1), None)


def test_a_retired_territory_keeps_the_figures_of_the_periods_before(world):
    """Nora's deal won on 2024-03-01 (in Stockholm then) still counts there after Stockholm is retired
    in July, and the root still equals the organisation's total."""
    nora, stockholm = world.reps["nora"], world.territories["stockholm"]
    rep_assign(rep=nora, territory=world.territories["madrid"], start=D(2024, 7, 1))
    territory_retire(territory=stockholm, on=D(2024, 7, 1))
    rollups_recompute(org=world.org)
    kpis = report_kpis(world.org, "won_revenue")
    rows = report_rows(
        world.org, "2024-Q1", [stockholm, world.territories["madrid"], world.territories["root"]], kpis
    )
    # Nora: deals of 1000 (open) and 2000 (won); Sergio (Madrid): 1000, 2000 (won), 3000 (open)
    assert [row["actual"] for row in rows] == [2000, 2000, 4000]
