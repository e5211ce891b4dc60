"""/manage/measurements/: the manual-entry grid — who may use it and where, inline (htmx) and "Save all"
saves, validation by unit beside the cell, locked periods read-only and refused."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from kpis.models import KPI, Measurement
from kpis.services import measurement_set
from scorecard.services import period_lock
from tests.factories import RepFactory, TerritoryFactory

pytest_plugins = ["tests.conftest_personas"]

URL = reverse("measurement_grid")
PERIOD = "2024-Q1"
HTMX = {"HTTP_HX_REQUEST": "true"}


def _kpi(world, slug: str) -> KPI:
    return KPI.objects.get(org=world.org, slug=slug)


def _key(kpi: KPI, territory=None, rep=None) -> str:
    return f"{kpi.pk}-t{territory.pk}" if territory is not None else f"{kpi.pk}-r{rep.pk}"


def _url(territory, period: str = PERIOD) -> str:
    return f"{URL}?period={period}&territory={territory.pk}"


def _main(response) -> str:
    return response.content.decode().split('<main id="main"', 1)[1]


# --- who may use it, and where ------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["rep", "viewer"])
def test_reps_and_viewers_get_403_to_read_and_to_write(world, login, persona):
    client = login(persona)
    nps = _kpi(world, "nps")
    stockholm = world.territories["stockholm"]
    assert client.get(URL).status_code == 403
    response = client.post(
        _url(stockholm), {"cell": _key(nps, stockholm), f"value-{_key(nps, stockholm)}": "40"}
    )
    assert response.status_code == 403
    assert not Measurement.objects.exists()


def test_anonymous_visitors_are_sent_to_the_login_page(client, world):
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_an_admin_sees_the_root_its_regions_and_every_manual_kpi(world, login):
    response = login("admin").get(f"{URL}?period={PERIOD}")
    assert response.status_code == 200
    page = _main(response)
    for name in ("Acme", "Nordics", "Iberia", "Net promoter score", "Addressable market size", "−100 to 100"):
        assert name in page
    assert "Madrid" not in page.split("<table", 1)[1]  # a grandchild is one click further down
    assert "Won revenue" not in page  # computed KPIs take no entries


def test_a_manager_works_in_the_own_subtree_and_gets_404_on_the_other_region(world, login):
    client = login("manager")
    page = _main(client.get(f"{URL}?period={PERIOD}"))
    assert "Nordics" in page and "Stockholm" in page and "Iberia" not in page
    assert client.get(_url(world.territories["stockholm"])).status_code == 200
    iberia = world.territories["iberia"]
    assert client.get(_url(iberia)).status_code == 404
    nps = _kpi(world, "nps")
    key = _key(nps, iberia)
    assert client.post(_url(iberia), {"cell": key, f"value-{key}": "40"}).status_code == 404
    assert not Measurement.objects.exists()


def test_a_cell_outside_the_chosen_grid_is_404_even_inside_the_own_organisation(world, login):
    """The manager's grid for Nordics cannot be used to write Iberia's cell."""
    nps = _kpi(world, "nps")
    key = _key(nps, world.territories["iberia"])
    response = login("manager").post(_url(world.territories["nordics"]), {"cell": key, f"value-{key}": "40"})
    assert response.status_code == 404
    assert not Measurement.objects.exists()


def test_another_organisations_territory_is_404(world, login):
    assert login("admin").get(_url(world.territories["globex_hq"])).status_code == 404


def test_the_reps_of_a_territory_are_rows_of_its_grid(world, login):
    stockholm, nora = world.territories["stockholm"], world.reps["nora"]
    skill = _kpi(world, "skill_assessment")
    client = login("manager")
    assert "Nora Nordin" in _main(client.get(_url(stockholm)))
    key = _key(skill, rep=nora)
    response = client.post(_url(stockholm), {"cell": key, f"value-{key}": "4.5"}, **HTMX)
    assert response.status_code == 200
    entry = Measurement.objects.get(kpi=skill, rep=nora, period=PERIOD)
    assert entry.value == Decimal("4.5") and entry.territory is None


# --- saving -----------------------------------------------------------------------------------------


def test_an_htmx_cell_saves_itself_and_comes_back_with_the_saved_value(world, login):
    nordics = world.territories["nordics"]
    nps = _kpi(world, "nps")
    key = _key(nps, nordics)
    response = login("manager").post(_url(nordics), {"cell": key, f"value-{key}": " -12.50 "}, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith(f'<td class="grid-cell" id="cell-{key}">')
    assert 'value="-12.5"' in html and "Saved" in html
    entry = Measurement.objects.get(kpi=nps, territory=nordics, period=PERIOD)
    assert (entry.value, entry.entered_by) == (Decimal("-12.5"), world.users["manager"])


def test_an_htmx_cell_with_text_in_the_number_shows_the_message_beside_it_and_saves_nothing(world, login):
    nordics = world.territories["nordics"]
    nps = _kpi(world, "nps")
    key = _key(nps, nordics)
    response = login("manager").post(_url(nordics), {"cell": key, f"value-{key}": "12abc"}, **HTMX)
    assert response.status_code == 200  # htmx swaps only 2xx: the refused cell is still the one to show
    html = response.content.decode()
    assert "grid-cell--error" in html and 'aria-invalid="true"' in html
    assert "Enter a number, like 42 or 3.5: “12abc” is not one." in html
    assert 'value="12abc"' in html  # what was typed stays to be corrected
    assert not Measurement.objects.exists()


def test_save_all_saves_every_changed_cell_and_says_how_many(world, login):
    root, nordics, iberia = (world.territories[n] for n in ("root", "nordics", "iberia"))
    nps, csat, market = (_kpi(world, s) for s in ("nps", "csat", "market_size"))
    data = {
        f"value-{_key(nps, nordics)}": "35",
        f"value-{_key(csat, iberia)}": "81.5",
        f"value-{_key(market, root)}": "1,200,000",
        f"value-{_key(nps, iberia)}": "",
    }
    response = login("admin").post(_url(root), data, follow=True)
    assert response.status_code == 200
    assert "Saved 3 entries for 2024-Q1." in response.content.decode()
    stored = {
        (m.kpi.slug, m.territory.name): m.value
        for m in Measurement.objects.select_related("kpi", "territory")
    }
    assert stored == {
        ("nps", "Nordics"): Decimal("35"),
        ("csat", "Iberia"): Decimal("81.5"),
        ("market_size", "Acme"): Decimal("1200000"),
    }


def test_save_all_with_one_refused_cell_saves_nothing_and_keeps_what_was_typed(world, login):
    root, nordics, iberia = (world.territories[n] for n in ("root", "nordics", "iberia"))
    nps, innovation, market = (_kpi(world, s) for s in ("nps", "innovation_rating", "market_size"))
    data = {
        f"value-{_key(nps, nordics)}": "35",
        f"value-{_key(nps, iberia)}": "150",
        f"value-{_key(innovation, iberia)}": "55",
        f"value-{_key(market, root)}": "-1",
    }
    response = login("admin").post(_url(root), data)
    assert response.status_code == 400
    page = _main(response)
    assert "3 entries were refused, so nothing was saved" in page
    assert "Net promoter score is between -100 and 100: 150 is outside it." in page
    assert (
        "Customers rating us innovative is between 0 and 1 (a fraction: 0.35 is 35 %): 55 is outside it."
        in page
    )
    assert "Addressable market size is a number of 0 or more: -1 is outside it." in page
    assert 'value="35"' in page and 'value="150"' in page
    assert not Measurement.objects.exists()


def test_emptying_a_cell_removes_the_entry_and_an_unchanged_one_is_not_rewritten(world, login):
    nordics, iberia = world.territories["nordics"], world.territories["iberia"]
    nps = _kpi(world, "nps")
    admin = world.users["admin"]
    kept = measurement_set(kpi=nps, period=PERIOD, value=20, territory=iberia, entered_by=admin)
    measurement_set(kpi=nps, period=PERIOD, value=30, territory=nordics, entered_by=admin)
    data = {f"value-{_key(nps, nordics)}": "", f"value-{_key(nps, iberia)}": "20"}
    response = login("manager").post(_url(world.territories["root"]), data)
    assert response.status_code == 404  # the manager's grid stops at Nordics …
    response = login("admin").post(_url(world.territories["root"]), data, follow=True)
    assert "Saved 1 entry for 2024-Q1." in response.content.decode()
    assert not Measurement.objects.filter(territory=nordics).exists()
    assert Measurement.objects.get(territory=iberia).entered_at == kept.entered_at


def test_a_replaced_entry_keeps_its_weight_and_note(world, login):
    nordics = world.territories["nordics"]
    nps = _kpi(world, "nps")
    measurement_set(kpi=nps, period=PERIOD, value=30, territory=nordics, weight=120, note="Q1 survey")
    key = _key(nps, nordics)
    login("manager").post(_url(nordics), {"cell": key, f"value-{key}": "32"}, **HTMX)
    entry = Measurement.objects.get(kpi=nps, territory=nordics)
    assert (entry.value, entry.weight, entry.note) == (Decimal(32), Decimal(120), "Q1 survey")


# --- locked periods ----------------------------------------------------------------------------------


def test_a_locked_period_is_read_only_and_names_the_lock(world, login):
    period_lock(org=world.org, period="2024", user=world.users["admin"])
    nordics = world.territories["nordics"]
    page = _main(login("manager").get(_url(nordics)))
    assert "2024 is locked (by Ada Admin" in page and "An admin of Acme Test Org can unlock it" in page
    assert page.count(" disabled") == page.count('class="grid-cell__input"') > 0
    assert ">Save all</button>" not in page and "hx-post" not in page


def test_a_write_into_a_locked_period_is_refused_with_the_lock_message(world, login):
    nps = _kpi(world, "nps")
    nordics = world.territories["nordics"]
    measurement_set(kpi=nps, period=PERIOD, value=30, territory=nordics)
    period_lock(org=world.org, period="2024-Q1", user=world.users["admin"])
    key = _key(nps, nordics)
    client = login("manager")
    response = client.post(_url(nordics), {f"value-{key}": "99"})
    assert response.status_code == 400
    assert "2024-Q1 is locked (by Ada Admin" in _main(response)
    response = client.post(_url(nordics), {"cell": key, f"value-{key}": "99"}, **HTMX)
    assert "its measurements cannot change" in response.content.decode()
    assert Measurement.objects.get(kpi=nps, territory=nordics).value == Decimal(30)


# --- cost ----------------------------------------------------------------------------------------------


def test_the_grid_reads_a_constant_number_of_queries(world, login, django_assert_max_num_queries):
    nordics = world.territories["nordics"]
    for i in range(12):
        TerritoryFactory.create(parent=nordics, name=f"Team {i:02}")
        RepFactory.create(org=world.org, name=f"Rep {i:02}", territory=nordics)
    for kpi in KPI.objects.filter(org=world.org, source="manual"):
        measurement_set(kpi=kpi, period=PERIOD, value=1, territory=nordics)
    client = login("manager")
    with django_assert_max_num_queries(15):
        response = client.get(_url(nordics))
    assert response.status_code == 200 and "Team 11" in response.content.decode()
