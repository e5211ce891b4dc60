"""/manage/targets/: the targets grid — who may use it and where, a reason for every change, each cell's
history, validation, locked periods, and the two bulk fills with figures worked out by hand."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from kpis.models import KPI, Target
from kpis.services import measurement_set, rollups_recompute, target_set
from sales.models import Stage
from scorecard.services import period_lock
from tests.factories import OpportunityFactory, RepFactory, TerritoryFactory

pytest_plugins = ["tests.conftest_personas"]

URL = reverse("target_grid")
PERIOD = "2024-Q1"
HTMX = {"HTTP_HX_REQUEST": "true"}


def _kpi(world, slug: str) -> KPI:
    return KPI.objects.get(org=world.org, slug=slug)


def _key(kpi: KPI, territory=None, rep=None) -> str:
    return f"{kpi.pk}-t{territory.pk}" if territory is not None else f"{kpi.pk}-r{rep.pk}"


def _url(territory, period: str = PERIOD, kpi: KPI | None = None) -> str:
    return f"{URL}?period={period}&territory={territory.pk}" + (f"&kpi={kpi.slug}" if kpi else "")


def _cell(kpi: KPI, territory, goal: str, reason: str, red: str = "") -> dict[str, str]:
    key = _key(kpi, territory)
    return {"cell": key, f"goal-{key}": goal, f"red-{key}": red, f"reason-{key}": reason}


def _main(response) -> str:
    return response.content.decode().split('<main id="main"', 1)[1]


# --- who may use it, and where ------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["rep", "viewer"])
def test_reps_and_viewers_get_403_to_read_and_to_write(world, login, persona):
    client = login(persona)
    won = _kpi(world, "won_revenue")
    assert client.get(URL).status_code == 403
    response = client.post(
        _url(world.territories["stockholm"]), _cell(won, world.territories["stockholm"], "5", "x")
    )
    assert response.status_code == 403
    assert not Target.objects.exists()


def test_a_manager_sets_targets_in_the_own_subtree_only(world, login):
    client = login("manager")
    page = _main(client.get(f"{URL}?period={PERIOD}"))
    assert "Nordics (whole territory)" in page and "Stockholm" in page and "Iberia" not in page
    iberia = world.territories["iberia"]
    won = _kpi(world, "won_revenue")
    assert client.get(_url(iberia)).status_code == 404
    assert client.post(_url(iberia), _cell(won, iberia, "5000", "budget")).status_code == 404
    # Iberia's cell posted to the manager's own grid is not a cell of that grid.
    assert (
        client.post(_url(world.territories["nordics"]), _cell(won, iberia, "5000", "budget")).status_code
        == 404
    )
    assert not Target.objects.exists()


def test_another_organisations_territory_and_an_unknown_kpi_are_404(world, login):
    client = login("admin")
    assert client.get(_url(world.territories["globex_hq"])).status_code == 404
    assert client.get(f"{_url(world.territories['root'])}&kpi=no-such-kpi").status_code == 404


def test_one_kpi_lists_the_scopes_down_the_page(world, login):
    won = _kpi(world, "won_revenue")
    page = _main(login("admin").get(_url(world.territories["stockholm"], kpi=won)))
    assert "Targets: Won revenue vs quota" in page
    assert "Stockholm" in page and "Nora Nordin" in page
    assert page.count('class="grid-cell target-cell') == 2  # Stockholm itself and its rep
    assert "All KPIs" in page


# --- a reason for every change, and the history beside the cell -----------------------------------


def test_a_change_without_a_reason_is_refused_beside_the_cell(world, login):
    nordics = world.territories["nordics"]
    won = _kpi(world, "won_revenue")
    client = login("manager")
    response = client.post(_url(nordics), _cell(won, nordics, "5000", "  "), **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Reason: say why the target changes (kept in its history)." in html
    assert 'value="5000"' in html
    response = client.post(_url(nordics), _cell(won, nordics, "5000", ""))
    assert response.status_code == 400
    assert "1 target was refused, so nothing was saved" in _main(response)
    assert not Target.objects.exists()


def test_an_htmx_cell_saves_and_shows_its_history_with_who_and_why(world, login):
    nordics = world.territories["nordics"]
    won = _kpi(world, "won_revenue")
    client = login("manager")
    response = client.post(_url(nordics), _cell(won, nordics, "5000", "First quota", red="4000"), **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<td class="grid-cell target-cell"') and "Saved" in html
    assert "Manny Manager" in html and "set $5,000" in html and "First quota" in html
    response = client.post(_url(nordics), _cell(won, nordics, "5,500", "Raised after the Q4 review"), **HTMX)
    html = response.content.decode()
    assert "History (2)" in html
    assert "$5,000 → $5,500" in html and "(red flag $4,000 → —)" in html
    assert html.index("Raised after the Q4 review") < html.index("First quota")  # newest first
    old, new = Target.objects.filter(kpi=won, territory=nordics).order_by("set_at", "pk")
    assert old.superseded_at is not None and new.superseded_at is None
    assert (new.goal, new.red_flag, new.reason, new.set_by) == (
        Decimal(5500),
        None,
        "Raised after the Q4 review",
        world.users["manager"],
    )


def test_the_page_shows_each_cells_history_with_user_and_reason(world, login):
    stockholm = world.territories["stockholm"]
    win_rate = _kpi(world, "win_rate")
    target_set(
        kpi=win_rate,
        period=PERIOD,
        goal="0.3",
        territory=stockholm,
        reason="Start",
        set_by=world.users["admin"],
    )
    target_set(
        kpi=win_rate,
        period=PERIOD,
        goal="0.35",
        red_flag="0.25",
        territory=stockholm,
        reason="Stretch",
        set_by=world.users["manager"],
    )
    page = _main(login("manager").get(_url(stockholm)))
    history = page.split(f'id="cell-{_key(win_rate, stockholm)}"', 1)[1].split("</td>", 1)[0]
    assert "History (2)" in history
    assert "Manny Manager" in history and "30% → 35%" in history and "Stretch" in history
    assert "Ada Admin" in history and "set 30%" in history and "Start" in history


def test_save_all_saves_the_changed_cells_and_leaves_unchanged_ones_alone(world, login):
    root, nordics, iberia = (world.territories[n] for n in ("root", "nordics", "iberia"))
    won, cycle = _kpi(world, "won_revenue"), _kpi(world, "sales_cycle_days")
    target_set(kpi=won, period=PERIOD, goal=9000, territory=root, reason="Board")
    data = {
        # unchanged (no reason needed), one new, one with a red flag on the right side of a lower-is-better KPI
        f"goal-{_key(won, root)}": "9000",
        f"red-{_key(won, root)}": "",
        f"reason-{_key(won, root)}": "",
        f"goal-{_key(won, nordics)}": "4000",
        f"reason-{_key(won, nordics)}": "Split of the board's",
        f"goal-{_key(cycle, iberia)}": "60",
        f"red-{_key(cycle, iberia)}": "75",
        f"reason-{_key(cycle, iberia)}": "Faster cycles",
    }
    response = login("admin").post(_url(root), data, follow=True)
    assert "Saved 2 targets for 2024-Q1." in response.content.decode()
    assert Target.objects.filter(kpi=won, territory=root).count() == 1
    assert Target.objects.get(kpi=cycle, territory=iberia).red_flag == Decimal(75)
    response = login("admin").post(_url(root), {}, follow=True)
    assert "Nothing had changed." in response.content.decode()


@pytest.mark.parametrize(
    ("slug", "goal", "red", "message"),
    [
        ("won_revenue", "12abc", "", "Goal: Enter a number, like 42 or 3.5: “12abc” is not one."),
        ("won_revenue", "", "100", "Goal: enter a number (a target is changed, not removed)."),
        (
            "won_revenue",
            "5000",
            "6000",
            "Red flag: higher is better for Won revenue vs quota, so the red flag sits below the goal (5000).",
        ),
        (
            "sales_cycle_days",
            "60",
            "45",
            "Red flag: lower is better for Sales cycle length, so the red flag sits above the goal (60).",
        ),
        (
            "win_rate",
            "35",
            "",
            "Goal: Win rate is between 0 and 1 (a fraction: 0.35 is 35 %): 35 is outside it.",
        ),
    ],
)
def test_goals_and_red_flags_are_numbers_on_the_right_side(world, login, slug, goal, red, message):
    nordics = world.territories["nordics"]
    kpi = _kpi(world, slug)
    response = login("manager").post(_url(nordics), _cell(kpi, nordics, goal, "because", red=red), **HTMX)
    assert message in response.content.decode()
    assert not Target.objects.exists()


# --- locked periods ------------------------------------------------------------------------------


def test_a_locked_period_is_read_only_and_a_write_is_refused_with_the_lock(world, login):
    nordics = world.territories["nordics"]
    won = _kpi(world, "won_revenue")
    period_lock(org=world.org, period="2024-Q1", user=world.users["admin"])
    client = login("manager")
    page = _main(client.get(_url(nordics)))
    assert "2024-Q1 is locked (by Ada Admin" in page and "its targets cannot change" in page
    assert page.count('class="target-cell__fields" disabled') == page.count('class="grid-cell target-cell')
    assert ">Save all</button>" not in page and "nothing can be filled" in page
    response = client.post(_url(nordics), _cell(won, nordics, "5000", "late change"))
    assert response.status_code == 400 and "An admin of Acme Test Org can unlock it" in _main(response)
    assert not Target.objects.exists()


# --- bulk fills ---------------------------------------------------------------------------------


@pytest.fixture
def last_year(world):
    """Won revenue in 2023: Nordics 3,000 (Nora), Iberia 1,000 (Sergio), so Acme 4,000; stored."""
    for rep, amount, day in [
        (world.reps["nora"], 1000, dt.date(2023, 2, 10)),
        (world.reps["nora"], 2000, dt.date(2023, 8, 20)),
        (world.reps["sergio"], 1000, dt.date(2023, 5, 5)),
    ]:
        OpportunityFactory.create(rep=rep, stage=Stage.WON, close_date=day, amount=Decimal(amount))
    rollups_recompute(org=world.org)
    return world


def _preview(client, territory, period: str, **fields):
    return client.post(_url(territory, period), {"action": "preview", **fields})


def test_copy_last_year_plus_ten_percent_previews_then_applies_with_one_reason(last_year, login):
    world = last_year
    root, nordics, iberia = (world.territories[n] for n in ("root", "nordics", "iberia"))
    won = _kpi(world, "won_revenue")
    client = login("admin")
    response = _preview(client, root, "2024", fill_kpi="won_revenue", method="copy", pct="10")
    assert response.status_code == 200
    page = _main(response)
    assert "Preview: Won revenue vs quota, last year +10 %" in page
    # 4,000 × 1.1 = 4,400; 1,000 × 1.1 = 1,100; 3,000 × 1.1 = 3,300
    assert f'data-testid="new-goal-t{root.pk}">$4,400' in page
    assert f'data-testid="new-goal-t{iberia.pk}">$1,100' in page
    assert f'data-testid="new-goal-t{nordics.pk}">$3,300' in page
    assert not Target.objects.exists()  # a preview writes nothing

    apply = {"action": "apply", "fill_kpi": "won_revenue", "method": "copy", "pct": "10"}
    response = client.post(_url(root, "2024"), {**apply, "reason": ""})
    assert response.status_code == 400 and "say why the target changes" in _main(response)
    assert not Target.objects.exists()
    response = client.post(_url(root, "2024"), {**apply, "reason": "FY24 plan: +10 %"}, follow=True)
    assert "Set 3 Won revenue vs quota targets for 2024." in response.content.decode()
    goals = {t.territory.name: (t.goal, t.red_flag, t.reason) for t in Target.objects.filter(kpi=won)}
    assert goals == {
        "Acme": (Decimal("4400"), None, "FY24 plan: +10 %"),
        "Iberia": (Decimal("1100"), None, "FY24 plan: +10 %"),
        "Nordics": (Decimal("3300"), None, "FY24 plan: +10 %"),
    }


def test_copy_with_a_decrease_rounds_to_the_cent(last_year, login):
    world = last_year
    nordics = world.territories["nordics"]
    response = _preview(login("manager"), nordics, "2024", fill_kpi="won_revenue", method="copy", pct="-2.5")
    # Nordics 3,000 × 0.975 = 2,925; Stockholm (its child) the same.
    page = _main(response)
    assert f'data-testid="new-goal-t{nordics.pk}">$2,925' in page
    assert 'data-testid="new-goal-t{}">$2,925'.format(world.territories["stockholm"].pk) in page


def test_split_the_parents_goal_by_last_years_share(last_year, login):
    world = last_year
    root, nordics, iberia = (world.territories[n] for n in ("root", "nordics", "iberia"))
    won = _kpi(world, "won_revenue")
    client = login("admin")
    response = _preview(client, root, "2024", fill_kpi="won_revenue", method="split")
    assert "Acme has no Won revenue vs quota target for 2024 to split: set it first." in _main(response)
    target_set(kpi=won, period="2024", goal=10000, territory=root, reason="Board")
    page = _main(_preview(client, root, "2024", fill_kpi="won_revenue", method="split"))
    # Shares 3,000 : 1,000 of 4,000 → Nordics 7,500 (75%), Iberia 2,500 (25%)
    assert f'data-testid="new-goal-t{nordics.pk}">$7,500' in page
    assert f'data-testid="new-goal-t{iberia.pk}">$2,500' in page
    assert ">75%<" in page and ">25%<" in page
    client.post(
        _url(root, "2024"),
        {"action": "apply", "fill_kpi": "won_revenue", "method": "split", "reason": "Board split"},
    )
    current = Target.objects.filter(kpi=won, superseded_at__isnull=True)
    assert {t.territory.name: t.goal for t in current} == {
        "Acme": Decimal(10000),
        "Nordics": Decimal(7500),
        "Iberia": Decimal(2500),
    }


def test_a_child_without_last_years_figure_counts_as_an_average_child(world, login):
    """Market size in 2023: Baltics 200, Nordics 600, Iberia none → Iberia counts as (200 + 600) ÷ 2 = 400;
    900 over 200 : 400 : 600 of 1,200 is 150, 300 and 450."""
    root, nordics, iberia = (world.territories[n] for n in ("root", "nordics", "iberia"))
    baltics = TerritoryFactory.create(parent=root, name="Baltics")
    market = _kpi(world, "market_size")
    measurement_set(kpi=market, period="2023", value=600, territory=nordics)
    measurement_set(kpi=market, period="2023", value=200, territory=baltics)
    rollups_recompute(org=world.org)
    target_set(kpi=market, period="2024", goal=900, territory=root, reason="Sizing")
    page = _main(_preview(login("admin"), root, "2024", fill_kpi="market_size", method="split"))
    assert f'data-testid="new-goal-t{baltics.pk}">$150' in page
    assert f'data-testid="new-goal-t{iberia.pk}">$300' in page
    assert f'data-testid="new-goal-t{nordics.pk}">$450' in page


def test_a_bulk_fill_into_a_locked_period_is_refused_with_the_lock(last_year, login):
    world = last_year
    root = world.territories["root"]
    period_lock(org=world.org, period="2024", user=world.users["admin"])
    response = login("admin").post(
        _url(root, "2024"),
        {"action": "apply", "fill_kpi": "won_revenue", "method": "copy", "pct": "10", "reason": "late"},
    )
    assert response.status_code == 400
    assert "2024 is locked (by Ada Admin" in _main(response) and "its targets cannot change" in _main(
        response
    )
    assert not Target.objects.exists()


def test_a_leaf_territory_splits_its_goal_over_its_reps(last_year, login):
    world = last_year
    stockholm = world.territories["stockholm"]
    newcomer = RepFactory.create(org=world.org, name="Nils Newcomer", territory=stockholm)
    rollups_recompute(org=world.org)
    won = _kpi(world, "won_revenue")
    target_set(kpi=won, period="2024", goal=8000, territory=stockholm, reason="Team quota")
    page = _main(_preview(login("manager"), stockholm, "2024", fill_kpi="won_revenue", method="split"))
    # Nora sold 3,000 last year, Nils nothing (a count over no deals is 0, not missing): all to Nora.
    assert 'data-testid="new-goal-r{}">$8,000'.format(world.reps["nora"].pk) in page
    assert f'data-testid="new-goal-r{newcomer.pk}">$0' in page


# --- cost -------------------------------------------------------------------------------------------


def test_the_grid_reads_a_constant_number_of_queries(world, login, django_assert_max_num_queries):
    nordics = world.territories["nordics"]
    teams = [TerritoryFactory.create(parent=nordics, name=f"Team {i:02}") for i in range(10)]
    for i in range(8):
        RepFactory.create(org=world.org, name=f"Rep {i:02}", territory=nordics)
    kpis = list(KPI.objects.filter(org=world.org, active=True))
    assert len(kpis) > 30
    for kpi in kpis[:10]:
        for team in teams:
            for goal in (1, 2):
                target_set(
                    kpi=kpi, period=PERIOD, goal=goal, territory=team, reason="r", set_by=world.users["admin"]
                )
    rollups_recompute(org=world.org)
    client = login("manager")
    with django_assert_max_num_queries(15):
        response = client.get(_url(nordics))
    assert response.status_code == 200 and "Team 09" in response.content.decode()
